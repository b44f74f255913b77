-- expect: avoid-drop-function
DROP FUNCTION normalize_email(e text);
