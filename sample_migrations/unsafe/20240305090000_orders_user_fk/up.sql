-- A foreign key added without NOT VALID checks every row while blocking writes on both tables.
-- expect: require-not-valid-constraint
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id);
