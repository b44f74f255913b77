-- NOT VALID: existing rows are checked later (VALIDATE takes only SHARE UPDATE EXCLUSIVE).
SET lock_timeout = '5s';
ALTER TABLE orders
    ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
