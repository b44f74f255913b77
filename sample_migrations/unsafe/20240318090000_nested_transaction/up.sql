-- A nested BEGIN is ignored; the first COMMIT ends the outer transaction.
BEGIN;
-- expect: nested-transaction
BEGIN;
ALTER TABLE users ADD COLUMN marketing_opt_in boolean;
COMMIT;
COMMIT;
