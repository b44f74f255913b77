DROP VIEW recent_audit_entries;
DROP TABLE audit_entries;
