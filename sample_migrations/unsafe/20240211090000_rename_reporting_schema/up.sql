-- expect: avoid-rename-schema
ALTER SCHEMA reporting RENAME TO analytics;
