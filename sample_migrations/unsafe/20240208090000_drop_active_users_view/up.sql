-- expect: avoid-drop-view
DROP VIEW active_users;
