ALTER TABLE users ADD COLUMN legacy_score integer;
