-- SET NOT NULL scans the table under ACCESS EXCLUSIVE unless a validated check proves it.
-- expect: avoid-set-not-null
ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;
