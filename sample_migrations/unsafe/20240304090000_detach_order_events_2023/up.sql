-- Detaching a partition without CONCURRENTLY locks the parent and every partition.
-- expect: require-concurrent-detach
ALTER TABLE order_events DETACH PARTITION order_events_2023;
