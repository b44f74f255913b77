-- A BEGIN without COMMIT leaves the transaction open.
-- expect: uncommitted-transaction
BEGIN;
ALTER TABLE users ADD COLUMN locale text;
