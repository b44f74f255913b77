-- expect-file: avoid-noop-down-migration
ALTER TABLE users ADD COLUMN locale text;
