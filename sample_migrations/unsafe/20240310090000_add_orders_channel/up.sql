-- A NOT NULL column without a default fails on a table that has rows.
-- expect: require-default-for-not-null
ALTER TABLE orders ADD COLUMN channel text NOT NULL;
