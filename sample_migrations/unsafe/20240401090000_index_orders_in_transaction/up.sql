-- CONCURRENTLY cannot run inside a transaction block.
BEGIN;
-- expect: concurrent-in-transaction
CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);
COMMIT;
