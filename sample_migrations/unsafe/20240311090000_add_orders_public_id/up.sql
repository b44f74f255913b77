-- A volatile default rewrites the table: every row gets its own value.
-- expect: avoid-volatile-default
ALTER TABLE users ADD COLUMN api_token uuid DEFAULT gen_random_uuid();
