-- expect-verify: down-loses-data
-- Bug on purpose: clears the existing nickname values instead of only dropping the new column.
UPDATE users SET nickname = NULL WHERE nickname IS NOT NULL;
ALTER TABLE users DROP COLUMN nickname_normalized;
