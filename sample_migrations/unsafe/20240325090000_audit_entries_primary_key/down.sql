ALTER TABLE audit_entries DROP CONSTRAINT audit_entries_pkey;
ALTER TABLE audit_entries ALTER COLUMN entry_id DROP NOT NULL;
CREATE UNIQUE INDEX audit_entries_entry_id_key ON audit_entries (entry_id);
