ALTER TABLE orders SET TABLESPACE pg_default;
