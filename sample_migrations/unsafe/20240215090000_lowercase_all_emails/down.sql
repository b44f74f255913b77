UPDATE users SET email = b.email FROM users_email_backup AS b WHERE users.id = b.id;
DROP TABLE users_email_backup;
