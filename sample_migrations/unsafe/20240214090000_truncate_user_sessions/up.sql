CREATE TABLE user_sessions_backup AS TABLE user_sessions;
-- expect: avoid-truncate
TRUNCATE user_sessions;
