-- Rows for verifying sample_migrations/unsafe with data, loaded once after the baseline:
--   migration-guard verify sample_migrations/unsafe --data sample_migrations/unsafe-data.sql --data-after 20240201090000
-- With them, verify also proves each round trip keeps the rows (20240214 and 20240215 restore theirs from
-- backups) and catches the down of 20240223 that clears users' display names.
-- Only the columns later migrations keep are filled: a column an unsafe up drops comes back empty, by design.
INSERT INTO users (email, nickname) VALUES ('Ada@Example.com', 'ada'), ('bob@example.com', 'bob');
INSERT INTO user_sessions (id, user_id, expires_at) VALUES (1, 1, '2030-01-01 00:00:00+00'), (2, 2, NULL);
