DROP INDEX CONCURRENTLY IF EXISTS audit_entries_entry_id_key;
