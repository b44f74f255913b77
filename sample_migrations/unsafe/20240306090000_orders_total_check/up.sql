-- NOT VALID only helps when VALIDATE runs in a later transaction.
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;
-- expect: validate-constraint-separately
ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
