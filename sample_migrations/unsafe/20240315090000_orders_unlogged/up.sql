-- Switching persistence rewrites the table under ACCESS EXCLUSIVE.
-- expect: avoid-set-logged
ALTER TABLE orders SET UNLOGGED;
