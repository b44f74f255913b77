-- The running release still queries the view by its old name.
-- expect: avoid-rename-object
ALTER VIEW recent_audit_entries RENAME TO latest_audit_entries;
