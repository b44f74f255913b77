-- A volatile default rewrites the table: every row gets its own value.
-- expect: avoid-volatile-default
ALTER TABLE orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();
