-- expect-verify: down-does-not-restore, reapply-up-fails
-- Bug on purpose: forgets phone_verified_at, so the schema is not back where it was.
ALTER TABLE users DROP COLUMN phone;
