-- Migrate step: copy existing names (the trigger covers new writes). Bounded by its WHERE clause.
UPDATE users SET display_name = full_name WHERE display_name IS NULL;
