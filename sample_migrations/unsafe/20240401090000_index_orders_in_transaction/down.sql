DROP INDEX IF EXISTS orders_status_idx;
