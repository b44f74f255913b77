-- An exclusion constraint on an existing table checks every row under ACCESS EXCLUSIVE.
-- expect: avoid-exclusion-constraint
ALTER TABLE orders ADD CONSTRAINT orders_one_pending EXCLUDE USING btree (user_id WITH =) WHERE (status = 'pending');
