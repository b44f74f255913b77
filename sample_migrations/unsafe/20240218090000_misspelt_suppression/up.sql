-- expect: invalid-directive
-- guard: ignore avoid-drop-colum reason: the rule id is misspelt, so this silences nothing
ALTER TABLE users ADD COLUMN timezone text;
