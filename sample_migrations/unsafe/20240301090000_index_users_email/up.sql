-- Building an index on a busy table without CONCURRENTLY blocks writes for the whole build.
-- expect: require-concurrent-index
CREATE INDEX users_email_idx ON users (email);
