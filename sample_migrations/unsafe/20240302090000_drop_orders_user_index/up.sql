-- Dropping an index without CONCURRENTLY takes ACCESS EXCLUSIVE on orders.
-- expect: require-concurrent-index-drop
DROP INDEX orders_user_id_idx;
