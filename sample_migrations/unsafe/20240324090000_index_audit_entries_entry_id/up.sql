-- Safe: the unique index is built concurrently, alone in its migration (the runner runs it outside a transaction).
CREATE UNIQUE INDEX CONCURRENTLY audit_entries_entry_id_key ON audit_entries (entry_id);
