CREATE TABLE users_email_backup AS SELECT id, email FROM users;
-- expect: require-where-clause
UPDATE users SET email = lower(email);
