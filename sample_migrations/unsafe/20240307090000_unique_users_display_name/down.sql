ALTER TABLE users DROP CONSTRAINT IF EXISTS users_nickname_key;
