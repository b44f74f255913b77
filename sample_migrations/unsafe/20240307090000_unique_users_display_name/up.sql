-- A UNIQUE constraint builds its index under ACCESS EXCLUSIVE; build it concurrently and attach it.
-- expect: require-unique-index-first
ALTER TABLE users ADD CONSTRAINT users_nickname_key UNIQUE (nickname);
