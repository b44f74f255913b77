-- guard: contract 20240108090000
-- Contract step: every running release reads display_name now, so full_name and the sync
-- trigger can go.
DROP TRIGGER users_sync_display_name ON users;
DROP FUNCTION users_sync_display_name();
ALTER TABLE users DROP COLUMN full_name;
