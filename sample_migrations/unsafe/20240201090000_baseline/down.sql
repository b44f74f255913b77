DROP FUNCTION normalize_email(text);
DROP VIEW active_users;
DROP TABLE invoices, user_sessions, import_staging, legacy_events, orders, users;
DROP SEQUENCE invoice_number_seq;
DROP TYPE legacy_mood;
DROP TYPE order_status;
DROP SCHEMA scratch;
DROP SCHEMA reporting;
