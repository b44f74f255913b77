-- expect-verify: up-fails
-- CONCURRENTLY cannot run inside a transaction block: Postgres refuses this file, so it sits last
-- (verify stops at the first up that fails).
BEGIN;
-- expect: concurrent-in-transaction
CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);
COMMIT;
