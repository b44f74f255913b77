-- expect-verify: down-does-not-restore, reapply-up-fails
-- expect-file: avoid-noop-down-migration
ALTER TABLE users ADD COLUMN locale text;
