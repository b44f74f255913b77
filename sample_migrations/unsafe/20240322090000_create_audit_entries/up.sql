-- A new table and a view of it: safe on their own (the next migrations change them).
CREATE TABLE audit_entries (entry_id bigint, body text);
CREATE VIEW recent_audit_entries AS SELECT entry_id, body FROM audit_entries;
