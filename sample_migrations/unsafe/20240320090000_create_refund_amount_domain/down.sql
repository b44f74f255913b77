ALTER TABLE orders DROP COLUMN refund;
DROP DOMAIN refund_amount;
