"""Tamper evidence for the audit trail: check it before every run, re-arm it, acknowledge tampering.

The audit table is append-only because of triggers, and triggers can be dropped,
disabled, pointed at another function or skipped (`session_replication_role =
replica` skips triggers that fire in origin mode). Before any run the runner reads the
catalog and compares it with what migration-guard created:

- the history and audit tables exist together, as ordinary tables;
- the trigger function `audit_append_only()` is plpgsql with the body we wrote
  (sha256 of `prosrc`);
- the row trigger (UPDATE, DELETE) and, once armed, the statement trigger (TRUNCATE)
  exist, call that function, have no WHEN clause or column list, and fire ALWAYS;
- no other trigger and no rewrite rule sits on the audit table (a `DO INSTEAD NOTHING`
  rule or a `RETURN NULL` trigger would swallow every audit row);
- rows were not removed behind our back: audit rows are only ever inserted, so an
  empty audit table whose id sequence has handed out more than one id (a single one may
  be an insert that failed), or an empty audit table
  next to history rows (every history row is written by a run that audited first),
  means the trail was emptied.

Deleting single rows while the trigger is off and re-arming it afterwards is not
detectable from inside the database: the owner of the tables can always do that.

Databases whose trail was created before the TRUNCATE trigger existed (no "armed"
comment on the audit table) are upgraded by an additive step, not reported.
A tampered trail refuses production runs until a person runs `migration-guard audit
ack --reason ...`, which re-arms it and records the acknowledgement; elsewhere the
runner warns and re-arms it itself.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from guard.db.history import ensure_tables
from guard.errors import GuardError, SafetyError

if TYPE_CHECKING:
    import psycopg

#: The trigger function's body exactly as `guard.db.history` creates it.
FUNCTION_BODY = "\nBEGIN\n    RAISE EXCEPTION 'the migration-guard audit table is append-only';\nEND "
BODY_SHA256 = hashlib.sha256(FUNCTION_BODY.encode()).hexdigest()
#: Set on the audit table once both triggers fire ALWAYS: from then on a missing TRUNCATE
#: trigger is tampering, not an older database waiting for its upgrade.
ARMED_COMMENT = "migration-guard audit trail: append-only, armed v2 (UPDATE, DELETE, TRUNCATE refused)"
ROW_TRIGGER, TRUNCATE_TRIGGER = "audit_append_only", "audit_no_truncate"
# pg_trigger.tgtype bits: ROW=1, BEFORE=2, INSERT=4, DELETE=8, UPDATE=16, TRUNCATE=32.
_ROW_TYPE, _TRUNCATE_TYPE = 1 | 2 | 8 | 16, 2 | 32
#: audit rows written by the check and the acknowledgement.
CHECK_ACTION, ACK_ACTION = "audit-check", "audit-ack"
TAMPERED, REARMED, ACKNOWLEDGED = "tampered", "rearmed", "acknowledged"

_ARM = """
CREATE OR REPLACE FUNCTION {schema}.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS {body};
DROP TRIGGER IF EXISTS audit_append_only ON {schema}.audit;
DROP TRIGGER IF EXISTS audit_no_truncate ON {schema}.audit;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {schema}.audit
    FOR EACH ROW EXECUTE FUNCTION {schema}.audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {schema}.audit
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.audit_append_only();
ALTER TABLE {schema}.audit ENABLE ALWAYS TRIGGER audit_append_only;
ALTER TABLE {schema}.audit ENABLE ALWAYS TRIGGER audit_no_truncate;
COMMENT ON TABLE {schema}.audit IS {comment};
"""

_KINDS = {"v": "a view", "m": "a materialized view", "p": "a partitioned table", "f": "a foreign table"}
_ENABLED = {"D": "disabled", "O": "fires in origin mode only", "R": "fires in replica mode only"}

#: Writes one audit row: (action, outcome, error).
Record = Callable[[str, str, "str | None"], None]


@dataclass
class TrailState:
    """What the catalog says about the trail."""

    #: Tampering found, one sentence each.
    problems: list[str] = field(default_factory=list)
    #: An earlier detection nobody acknowledged yet (its audit row, described).
    unacknowledged: str | None = None
    #: The trail is intact but predates the TRUNCATE trigger: arm it (additive, not tampering).
    needs_arming: bool = False
    #: The audit / history relations exist (as anything).
    audit_exists: bool = False
    history_exists: bool = False
    #: Objects re-arming must drop: rules and foreign triggers on the audit table.
    foreign_rules: list[str] = field(default_factory=list)
    foreign_triggers: list[str] = field(default_factory=list)
    #: A relation that is not a table where a table should be (re-arming cannot fix it).
    not_tables: list[str] = field(default_factory=list)

    def all_problems(self) -> list[str]:
        """Tampering plus the unacknowledged earlier detection."""
        return self.problems + ([self.unacknowledged] if self.unacknowledged else [])


def inspect_trail(conn: psycopg.Connection, schema: str) -> TrailState:
    """Compare the trail in `schema` with what migration-guard created (reads the catalog only)."""
    state = TrailState()
    rels: dict[str, str] = dict(
        conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname IN ('history', 'audit')",
            (schema,),
        ).fetchall()
    )
    state.audit_exists, state.history_exists = "audit" in rels, "history" in rels
    for name, kind in rels.items():
        if kind != "r":
            state.not_tables.append(f"{schema}.{name}")
            state.problems.append(
                f"{schema}.{name} is {_KINDS.get(kind, 'not a table')}, not the table we created"
            )
    if state.history_exists and not state.audit_exists:
        state.problems.append(
            f"the audit table {schema}.audit is missing (dropped or renamed) while the history exists"
        )
    if state.audit_exists and not state.history_exists:
        state.problems.append(
            f"the history table {schema}.history is missing (dropped or renamed) while the audit exists"
        )
    if rels.get("audit") == "r":
        _inspect_audit(conn, schema, state, history_is_table=rels.get("history") == "r")
    elif not rels:
        state.needs_arming = True  # a first run: create the trail armed
    return state


def _inspect_audit(
    conn: psycopg.Connection, schema: str, state: TrailState, *, history_is_table: bool
) -> None:
    from psycopg import sql

    audit = sql.Identifier(schema, "audit").as_string(conn)
    (oid, comment) = conn.execute(
        "SELECT %s::regclass::oid, obj_description(%s::regclass, 'pg_class')", (audit, audit)
    ).fetchone() or (None, None)
    armed = comment == ARMED_COMMENT
    fn = conn.execute(
        "SELECT p.oid, l.lanname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " JOIN pg_language l ON l.oid = p.prolang"
        " WHERE n.nspname = %s AND p.proname = 'audit_append_only' AND p.pronargs = 0",
        (schema,),
    ).fetchone()
    fn_oid = fn[0] if fn else None
    if fn is None:
        state.problems.append(f"the trigger function {schema}.audit_append_only() was dropped")
    elif fn[1] != "plpgsql" or hashlib.sha256(fn[2].encode()).hexdigest() != BODY_SHA256:
        state.problems.append(
            f"the trigger function {schema}.audit_append_only() was replaced (its body is not the one we wrote)"
        )
    triggers = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT tgname, tgenabled, tgtype, tgfoid, tgqual IS NOT NULL, array_length(tgattr, 1)"
            " FROM pg_trigger WHERE tgrelid = %s AND NOT tgisinternal",
            (oid,),
        ).fetchall()
    }
    for name, kind, what in (
        (ROW_TRIGGER, _ROW_TYPE, "UPDATE and DELETE"),
        (TRUNCATE_TRIGGER, _TRUNCATE_TYPE, "TRUNCATE"),
    ):
        found = triggers.pop(name, None)
        if found is None:
            if armed or name == ROW_TRIGGER:
                state.problems.append(f"the trigger {name} was dropped: {what} of audit rows were allowed")
            continue
        enabled, tgtype, tgfoid, has_when, columns = found
        if tgtype != kind or tgfoid != fn_oid or has_when or columns:
            state.problems.append(f"the trigger {name} was redefined (not the {what} guard we created)")
        elif enabled == "D" or enabled == "R" or (armed and enabled != "A"):
            extra = " (session_replication_role = replica skips it)" if enabled == "O" else ""
            state.problems.append(f"the trigger {name} was altered: it {_ENABLED[enabled]}{extra}")
    state.foreign_triggers = sorted(triggers)
    state.problems += [f"an unexpected trigger {t} sits on the audit table" for t in state.foreign_triggers]
    state.foreign_rules = [
        r[0] for r in conn.execute("SELECT rulename FROM pg_rewrite WHERE ev_class = %s", (oid,)).fetchall()
    ]
    state.problems += [f"a rewrite rule {r} sits on the audit table" for r in state.foreign_rules]
    _inspect_rows(conn, schema, audit, state, history_is_table)
    state.needs_arming = not armed and not state.problems


def _inspect_rows(
    conn: psycopg.Connection, schema: str, audit: str, state: TrailState, history_is_table: bool
) -> None:
    """Rows removed behind our back, and an earlier detection nobody acknowledged."""
    from psycopg import sql

    ident = sql.Identifier(schema)
    any_row = conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {}.audit)").format(ident)).fetchone()
    if any_row is not None and not any_row[0]:
        handed_out = _ids_handed_out(conn, audit)
        # More than one id: a single one may be an insert that failed (a killed backend).
        if handed_out > 1:
            state.problems.append(
                f"the audit table is empty but has handed out ids up to {handed_out}: its rows were removed"
            )
            return
        if history_is_table:
            rows = conn.execute(sql.SQL("SELECT count(*) FROM {}.history").format(ident)).fetchone()
            if rows is not None and rows[0]:
                state.problems.append(
                    f"the audit table is empty but the history holds {rows[0]} row(s): the trail was emptied"
                )
        return
    pending = conn.execute(
        sql.SQL(
            "SELECT id, at, coalesce(error, '') FROM {s}.audit WHERE action = %s AND outcome = %s"
            " AND id > coalesce((SELECT max(id) FROM {s}.audit WHERE action = %s), 0) ORDER BY id LIMIT 1"
        ).format(s=ident),
        (CHECK_ACTION, TAMPERED, ACK_ACTION),
    ).fetchone()
    if pending is not None:
        state.unacknowledged = (
            f"tampering found at {pending[1]:%Y-%m-%d %H:%M:%S%z} (audit row {pending[0]}) "
            f"is not acknowledged yet: {pending[2]}"
        )


def _ids_handed_out(conn: psycopg.Connection, audit: str) -> int:
    """The last id the audit table's sequence handed out (0: none, or we may not read it)."""
    import psycopg
    from psycopg import sql

    seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (audit,)).fetchone()
    if seq is None or seq[0] is None:
        return 0
    try:
        used = conn.execute(
            sql.SQL("SELECT is_called, last_value FROM {}").format(sql.SQL(seq[0]))
        ).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return 0  # a runner role that does not own the trail: the other checks still stand
    return int(used[1]) if used is not None and used[0] else 0


def arm(conn: psycopg.Connection, schema: str, state: TrailState | None = None) -> None:
    """Create the tables when missing, then (re)write the trigger function, both triggers (firing
    ALWAYS) and the armed comment, dropping foreign rules and triggers on the audit table."""
    from psycopg import sql

    state = state or inspect_trail(conn, schema)
    if state.not_tables:
        raise SafetyError(
            f"cannot re-arm the audit trail: {', '.join(state.not_tables)} is not a table",
            "rename or drop that relation by hand (keep a copy of its rows), then run the command again",
        )
    ensure_tables(conn, schema)
    ident = sql.Identifier(schema)
    with conn.transaction():
        for rule in state.foreign_rules:
            conn.execute(sql.SQL("DROP RULE {} ON {}.audit").format(sql.Identifier(rule), ident))
        for trigger in state.foreign_triggers:
            conn.execute(sql.SQL("DROP TRIGGER {} ON {}.audit").format(sql.Identifier(trigger), ident))
        conn.execute(
            sql.SQL(_ARM).format(
                schema=ident, body=sql.Literal(FUNCTION_BODY), comment=sql.Literal(ARMED_COMMENT)
            )
        )


def check_before_run(
    conn: psycopg.Connection,
    schema: str,
    *,
    strict: bool,
    writes: bool,
    action: str,
    record: Record,
    out: Callable[[str], None],
) -> None:
    """Check the trail before a run and act on what was found.

    `strict` (production): tampering, or an earlier detection not acknowledged, refuses the
    run with `SafetyError`, after recording what was found when the audit table takes rows.
    Otherwise: warn loudly and, when the run `writes`, re-arm the trail and record that.
    An intact trail from before the TRUNCATE trigger is armed (when the run writes).
    """
    import psycopg

    state = inspect_trail(conn, schema)
    problems = state.all_problems() if strict else state.problems
    if not problems:
        if state.needs_arming and writes:
            arm(conn, schema, state)
            if state.audit_exists:
                out(f"audit trail: {schema}.audit now also refuses TRUNCATE (one-time upgrade)")
        return
    found = "; ".join(problems)
    if strict:
        if state.problems and state.audit_exists and not state.not_tables:
            # A trail that refuses rows is reported all the same.
            with contextlib.suppress(psycopg.Error, GuardError):
                record(CHECK_ACTION, TAMPERED, found)
        raise SafetyError(
            f"the audit trail in schema {schema} has been tampered with: {found}; refusing to {action} "
            "on production until a person acknowledges it",
            "find out who changed it and why, then re-arm it with `migration-guard audit ack --env prod "
            "--reason '...'` (CONFIRM_PROD_MIGRATE=YES)",
        )
    for problem in problems:
        out(f"WARNING: audit trail tampered with: {problem}")
    if not writes:
        out("WARNING: a dry run leaves the audit trail as it is; the next migrate re-arms it")
        return
    arm(conn, schema, state)
    record(CHECK_ACTION, REARMED, found)
    out(f"WARNING: re-armed the audit trail in schema {schema}; this is recorded in {schema}.audit")


def acknowledge(conn: psycopg.Connection, schema: str, reason: str, record: Record) -> list[str]:
    """Re-arm a tampered trail and record the acknowledgement with `reason`.

    Returns what was acknowledged (empty, and nothing written, when the trail is intact).
    """
    state = inspect_trail(conn, schema)
    problems = state.all_problems()
    if not problems:
        if state.needs_arming:
            arm(conn, schema, state)
        return []
    arm(conn, schema, state)
    record(ACK_ACTION, ACKNOWLEDGED, f"reason: {reason}; found: {'; '.join(problems)}")
    return problems


def plan_note(conn: psycopg.Connection, schema: str, *, strict: bool) -> tuple[str, bool] | None:
    """What `plan` says about the trail, read only: (note, refused) when `migrate` would refuse
    (`strict`, production) or warn and re-arm; None when the trail is intact."""
    state = inspect_trail(conn, schema)
    problems = state.all_problems() if strict else state.problems
    if not problems:
        return None
    if strict:
        return f"refused: the audit trail has been tampered with: {'; '.join(problems)}", True
    return (
        f"warning: the audit trail has been tampered with (migrate re-arms it): {'; '.join(problems)}",
        False,
    )
