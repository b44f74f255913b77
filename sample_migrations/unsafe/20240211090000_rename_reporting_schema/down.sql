ALTER SCHEMA analytics RENAME TO reporting;
