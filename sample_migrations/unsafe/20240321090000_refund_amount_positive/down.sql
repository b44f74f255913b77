ALTER DOMAIN refund_amount DROP CONSTRAINT refund_amount_positive;
