ALTER TABLE users DROP COLUMN IF EXISTS marketing_opt_in;
