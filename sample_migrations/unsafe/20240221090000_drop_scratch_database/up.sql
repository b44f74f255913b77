-- guard: no-transaction
-- expect: avoid-drop-database
DROP DATABASE IF EXISTS guard_sample_scratch;
