-- Changing a column's type: the running release reads integers.
-- expect: avoid-column-type-change, avoid-type-change-rewrite
ALTER TABLE orders ALTER COLUMN total TYPE numeric(12, 2);
