-- Safe on its own: a new domain and a nullable column that uses it (the next migration adds a constraint).
CREATE DOMAIN refund_amount AS numeric(12, 2);
ALTER TABLE orders ADD COLUMN refund refund_amount;
