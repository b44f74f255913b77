-- Rows written before the expand step had no display_name; clear the copies again.
UPDATE users SET display_name = NULL WHERE display_name = full_name;
