-- The backfill runs while the ALTER's ACCESS EXCLUSIVE lock is still held.
ALTER TABLE orders ADD COLUMN currency text;
-- expect: hold-access-exclusive
UPDATE orders SET currency = 'EUR' WHERE currency IS NULL;
