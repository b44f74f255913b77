-- A UNIQUE constraint builds its index under ACCESS EXCLUSIVE; build it concurrently and attach it.
-- expect: require-unique-index-first
ALTER TABLE users ADD CONSTRAINT users_display_name_key UNIQUE (display_name);
