-- expect-verify: down-loses-data
-- Bug on purpose: clears the existing display_name values (the nickname column, renamed by 20240204) instead of only dropping the new column.
UPDATE users SET display_name = NULL WHERE display_name IS NOT NULL;
ALTER TABLE users DROP COLUMN nickname_normalized;
