-- Safe prerequisite for 20240304: a new partitioned table with one partition per year.
CREATE TABLE order_events (
    order_id bigint NOT NULL,
    happened_on date NOT NULL,
    kind text NOT NULL
) PARTITION BY RANGE (happened_on);
CREATE TABLE order_events_2023 PARTITION OF order_events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE order_events_2024 PARTITION OF order_events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
