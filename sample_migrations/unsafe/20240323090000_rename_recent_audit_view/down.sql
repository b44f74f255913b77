ALTER VIEW latest_audit_entries RENAME TO recent_audit_entries;
