-- expect-verify: up-fails
-- A BEGIN without COMMIT leaves the transaction open: the runner and verify roll it back and fail
-- the migration (committing it, or letting the next migration's COMMIT do so, would be a guess).
-- expect: uncommitted-transaction
BEGIN;
ALTER TABLE users ADD COLUMN referral_code text;
