-- A NOT NULL column without a default fails on a table that has rows.
-- expect: require-default-for-not-null
ALTER TABLE users ADD COLUMN plan text NOT NULL;
