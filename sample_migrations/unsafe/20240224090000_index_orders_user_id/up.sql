-- Safe prerequisite for 20240302: the index that migration drops, built concurrently in its own migration.
-- guard: no-transaction
CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);
