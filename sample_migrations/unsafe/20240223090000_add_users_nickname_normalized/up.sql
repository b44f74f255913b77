ALTER TABLE users ADD COLUMN nickname_normalized text;
