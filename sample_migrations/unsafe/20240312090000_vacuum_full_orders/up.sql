-- VACUUM FULL rewrites the table under ACCESS EXCLUSIVE.
ALTER TABLE orders ADD COLUMN archived boolean;
-- guard: no-transaction
-- expect: avoid-vacuum-full
VACUUM FULL orders;
