-- A domain constraint is checked against every column of that domain: orders is scanned under SHARE.
-- expect: require-not-valid-domain-constraint
ALTER DOMAIN refund_amount ADD CONSTRAINT refund_amount_positive CHECK (VALUE >= 0);
