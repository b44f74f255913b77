-- Moving a table to another tablespace copies it under ACCESS EXCLUSIVE.
-- expect: avoid-set-tablespace
ALTER TABLE orders SET TABLESPACE pg_default;
