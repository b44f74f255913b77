-- expect: avoid-drop-table
DROP TABLE legacy_events;
