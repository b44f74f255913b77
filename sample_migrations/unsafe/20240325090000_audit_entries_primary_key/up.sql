-- entry_id is nullable, so attaching the index as the primary key first runs SET NOT NULL on it:
-- a full scan of audit_entries under ACCESS EXCLUSIVE.
-- expect: require-not-null-before-primary-key
ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_pkey PRIMARY KEY USING INDEX audit_entries_entry_id_key;
