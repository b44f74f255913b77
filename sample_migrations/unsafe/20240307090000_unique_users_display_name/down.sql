ALTER TABLE users DROP CONSTRAINT IF EXISTS users_display_name_key;
