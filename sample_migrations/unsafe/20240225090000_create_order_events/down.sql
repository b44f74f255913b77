DROP TABLE order_events_2024, order_events_2023, order_events;
