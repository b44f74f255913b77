-- CLUSTER rewrites the table in index order under ACCESS EXCLUSIVE.
ALTER TABLE orders ADD COLUMN shipped_at timestamptz;
-- expect: avoid-cluster
CLUSTER orders USING orders_pkey;
