-- A safe starting point that the unsafe migrations below change, one mistake each.
-- Markers: `-- expect: <rule>` sits on the line just before the line a finding must point at;
-- `-- expect-file: <rule>` means the rule must fire somewhere for this migration (up or down file).
CREATE SCHEMA reporting;
CREATE SCHEMA scratch;
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped');
CREATE TYPE legacy_mood AS ENUM ('happy', 'sad');
CREATE SEQUENCE invoice_number_seq;

CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    nickname text,
    legacy_flag boolean,
    legacy_score integer,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL,
    status order_status NOT NULL DEFAULT 'pending',
    total integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE legacy_events (id bigint PRIMARY KEY, payload jsonb);
CREATE TABLE import_staging (id bigint PRIMARY KEY, raw text);
CREATE TABLE user_sessions (id bigint PRIMARY KEY, user_id bigint NOT NULL, expires_at timestamptz);
CREATE TABLE invoices (id bigint PRIMARY KEY);

CREATE VIEW active_users AS SELECT id, email FROM users;

CREATE FUNCTION normalize_email(e text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT lower(e) $$;
