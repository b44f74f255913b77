-- Changing a column's type: the running release reads integers.
-- expect: avoid-column-type-change
ALTER TABLE orders ALTER COLUMN total TYPE numeric(12, 2);
