-- Rebuilding indexes without CONCURRENTLY blocks writes (and reads using them).
ALTER TABLE orders ADD COLUMN note text;
-- expect: require-concurrent-reindex
REINDEX TABLE orders;
