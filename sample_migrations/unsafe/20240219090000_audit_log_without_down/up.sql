-- expect-verify: down-missing
-- expect-file: require-down-migration
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
