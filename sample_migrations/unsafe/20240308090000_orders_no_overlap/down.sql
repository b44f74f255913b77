ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_one_pending;
