-- expect: avoid-drop-schema
DROP SCHEMA scratch;
