-- expect: avoid-rename-column
ALTER TABLE users RENAME COLUMN nickname TO display_name;
