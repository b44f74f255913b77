CREATE TABLE legacy_events (id bigint PRIMARY KEY, payload jsonb);
