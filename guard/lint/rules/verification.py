"""Rule records for what `migration-guard verify` finds on a throwaway Postgres.

Their findings come from `guard.verify` (scope `external`); the records exist so
`explain`, `rules`, SARIF metadata and docs/rules.md cover them like every other rule.
"""

from __future__ import annotations

from guard.lint.registry import external_rule
from guard.model import Severity

_FAMILY = "verification"

up_fails = external_rule(
    id="up-fails",
    severity=Severity.ERROR,
    family=_FAMILY,
    summary="The up migration fails on the schema the earlier migrations build.",
    why="""
        verify applies every earlier migration first, exactly as the runner would. An up that fails
        there will fail in production too, or only works on a database that drifted from the files.
    """,
    fix="Fix the statement named in the message so the migration applies on top of the ones before it.",
    bad="-- 0002_add_index/up.sql\nCREATE INDEX users_email_idx ON users (emial);",
    good="-- 0002_add_index/up.sql\nCREATE INDEX users_email_idx ON users (email);",
)

down_missing = external_rule(
    id="down-missing",
    severity=Severity.ERROR,
    family=_FAMILY,
    summary="A migration has no down migration, so it cannot be verified or rolled back.",
    why="Without a down migration a bad deploy can only be fixed forward, under pressure.",
    fix="""
        Write the down migration that undoes this up (or set `require_down = false` for a layout without
        downs). An up Postgres cannot undo is declared with `-- guard: irreversible reason: <why>`.
    """,
    bad="-- 0003_add_email/up.sql only\nALTER TABLE users ADD COLUMN email text;",
    good="-- 0003_add_email/down.sql\nALTER TABLE users DROP COLUMN email;",
)

down_fails = external_rule(
    id="down-fails",
    severity=Severity.ERROR,
    family=_FAMILY,
    summary="The down migration fails on the schema its up leaves.",
    why="A rollback that errors leaves production half-migrated at the worst possible moment.",
    fix="Fix the down migration so it runs on the schema its up leaves (names, order, IF EXISTS).",
    bad="-- down.sql of ADD COLUMN email\nALTER TABLE users DROP COLUMN mail;",
    good="-- down.sql of ADD COLUMN email\nALTER TABLE users DROP COLUMN email;",
)

down_does_not_restore = external_rule(
    id="down-does-not-restore",
    severity=Severity.ERROR,
    family=_FAMILY,
    summary="After up then down, the schema differs from before up.",
    why="""
        A down migration that leaves objects behind (or removes too much) means a rollback does not
        return to the state the previous release expects, and the next up may fail.
    """,
    fix="Make the down migration remove exactly what the up creates and restore what it changed.",
    bad="-- up: ADD COLUMN email + CREATE INDEX users_email_idx\n-- down:\nALTER TABLE users DROP COLUMN email, DROP COLUMN nickname;",
    good="-- down:\nDROP INDEX IF EXISTS users_email_idx;\nALTER TABLE users DROP COLUMN email;",
)

down_loses_data = external_rule(
    id="down-loses-data",
    severity=Severity.ERROR,
    family=_FAMILY,
    summary="After up then down, rows that existed before the up are changed or gone.",
    why="Rolling back must not destroy data the previous release relies on; verify compares row counts and content hashes per table.",
    fix="Keep the old data until the contract step (copy it aside in up, restore it in down), or review the change as irreversible.",
    bad="-- down.sql\nUPDATE users SET display_name = NULL;",
    good="-- down.sql\nUPDATE users SET display_name = nickname_backup.display_name FROM nickname_backup WHERE nickname_backup.id = users.id;",
)

reapply_up_fails = external_rule(
    id="reapply-up-fails",
    severity=Severity.ERROR,
    family=_FAMILY,
    summary="Re-applying up after its down fails (the down left something behind).",
    why="Deploy, roll back, deploy again is the normal recovery path; it must work.",
    fix="The down migration must remove everything the up creates.",
    bad="-- up: CREATE TABLE audit (...); CREATE INDEX audit_at_idx ...\n-- down:\nDROP INDEX audit_at_idx;",
    good="-- down:\nDROP TABLE audit;",
)

reapply_up_differs = external_rule(
    id="reapply-up-differs",
    severity=Severity.ERROR,
    family=_FAMILY,
    summary="Re-applying up after its down gives a different schema than the first up.",
    why="The schema production ends up with would depend on whether a rollback happened in between.",
    fix="Make the down migration remove exactly what the up creates, so up is repeatable.",
    bad="-- down leaves a default behind that up then skips with IF NOT EXISTS",
    good="-- down removes every object and default the up adds",
)

schema_drift = external_rule(
    id="schema-drift",
    severity=Severity.ERROR,
    family=_FAMILY,
    summary="The committed schema file and the schema the migrations build differ.",
    why="Code and reviewers read the schema file; code must never expect schema the migrations do not produce.",
    fix="Add the missing migration, or regenerate the file with `migration-guard verify --write-schema FILE` and commit it.",
    bad="schema file has column orders.note, the migrations do not create it",
    good="schema file regenerated from the migrations and committed with them",
)
