INSERT INTO user_sessions SELECT * FROM user_sessions_backup;
DROP TABLE user_sessions_backup;
