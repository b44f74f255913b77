"""The environment marker: one row in `bk_env_marker` saying which environment a database is.

The table enforces its own shape (primary key, `CHECK (id = 1)`,
`CHECK (env IN (...))`, `env NOT NULL`), so a second row or an unknown value
cannot be written by accident. Reading is fail-closed: any doubt (missing table
or row, several rows, NULL, unknown value, permission error, timeout) is a
`SafetyError` that says what was expected, what was found, where the expectation
came from and what to do.

Functions take an open autocommit connection; identifiers go through `psycopg.sql`.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from guard.db.hardlock import LOCK_VAR, PROD
from guard.errors import DatabaseError, GuardError, SafetyError

if TYPE_CHECKING:
    import psycopg

    from guard.config import Settings
    from guard.db.session import RunnerContext

# Short, so a marker table locked by someone else fails closed quickly instead of hanging a deploy.
LOCK_TIMEOUT = "2s"
STATEMENT_TIMEOUT = "5s"
NO_TABLE = "the table does not exist"
NO_ROW = "the table has no row"
#: The audit action of a marker change that involves prod.
MARKER_ACTION = "marker-init"
MADE_BY_INIT = "the table `migration-guard marker init` creates"


@dataclass(frozen=True)
class MarkerReading:
    """What the marker table holds: `env` when exactly one valid row, else `problem` says what is wrong."""

    table: str
    env: str | None
    problem: str | None = None
    rows: int = 0


@dataclass(frozen=True)
class InitResult:
    """What `init_marker` did: "created", "unchanged" or "changed" (with the previous env)."""

    table: str
    env: str
    action: str
    previous: str | None = None


def qualified(settings: Settings) -> str:
    """`schema.table` of the marker, for messages."""
    return f"{settings.marker_schema}.{settings.marker_table}"


def _ident(settings: Settings) -> psycopg.sql.Composed:
    from psycopg import sql

    return sql.SQL("{}.{}").format(
        sql.Identifier(settings.marker_schema), sql.Identifier(settings.marker_table)
    )


def _set_timeouts(conn: psycopg.Connection) -> None:
    conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    conn.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")


def _db_failure(exc: Exception, settings: Settings, doing: str) -> Exception:
    """Turn a psycopg error while touching the marker into a fail-closed refusal."""
    import psycopg

    table = qualified(settings)
    primary = getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc).strip()
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return SafetyError(
            f"cannot {doing} marker table {table}: permission denied ({primary})",
            f"grant SELECT on {table} to the migration user",
        )
    if isinstance(exc, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled):
        return SafetyError(
            f"cannot {doing} marker table {table}: timed out after lock_timeout={LOCK_TIMEOUT} / "
            f"statement_timeout={STATEMENT_TIMEOUT} ({primary})",
            "another session holds a lock on the marker table; find it in pg_stat_activity and retry",
        )
    if isinstance(exc, psycopg.OperationalError):
        return DatabaseError(
            f"lost the database connection while trying to {doing} marker table {table} ({primary})",
            "check the database is up and retry",
        )
    return SafetyError(
        f"cannot {doing} marker table {table}: {primary}",
        "check the marker table; `migration-guard marker show` prints it",
    )


def read_marker(conn: psycopg.Connection, settings: Settings) -> MarkerReading:
    """Read the marker without judging it against an expectation (but flag what is malformed)."""
    import psycopg
    from psycopg import sql

    table = qualified(settings)
    try:
        with conn.transaction():
            _set_timeouts(conn)
            shape = marker_shape_problem(conn, settings)
            if shape is not None:
                return MarkerReading(table, None, shape)
            # LIMIT 3: enough to tell "one" from "several" without reading a runaway table.
            rows = conn.execute(
                sql.SQL("SELECT id, env::text FROM {} LIMIT 3").format(_ident(settings))
            ).fetchall()
    except psycopg.Error as exc:
        raise _db_failure(exc, settings, "read") from None
    if not rows:
        return MarkerReading(table, None, NO_ROW, 0)
    if len(rows) > 1:
        return MarkerReading(
            table,
            None,
            f"the table has {len(rows) if len(rows) < 3 else '3 or more'} rows, not one",
            len(rows),
        )
    row_id, env = rows[0]
    if row_id != 1:
        return MarkerReading(table, None, f"the row has id {row_id!r}, not 1", 1)
    if env is None:
        return MarkerReading(table, None, "env is NULL", 1)
    if env not in settings.environments:
        return MarkerReading(
            table,
            None,
            f"env is {env!r}, not one of the configured environments ({', '.join(settings.environments)})",
            1,
        )
    return MarkerReading(table, env, None, 1)


_KINDS = {"v": "a view", "m": "a materialized view", "p": "a partitioned table", "f": "a foreign table"}


def marker_shape_problem(conn: psycopg.Connection, settings: Settings) -> str | None:
    """None when the marker is the table `init_marker` creates, in exactly the configured schema
    (never one found through search_path); else what differs (`NO_TABLE` when absent).

    The marker is trusted because its constraints make a second row or an unknown value
    impossible: a view, another relation kind, or a table without those constraints (or with
    them NOT VALID, or with inheriting tables whose rows a plain read includes) is refused.
    """
    rel = conn.execute(
        "SELECT c.oid, c.relkind, c.relhassubclass FROM pg_class c JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (settings.marker_schema, settings.marker_table),
    ).fetchone()
    if rel is None:
        return NO_TABLE
    oid, kind, children = rel
    made = MADE_BY_INIT
    if kind != "r":
        return f"it is {_KINDS.get(kind, 'not a table')}, not {made}"
    if children:
        return f"other tables inherit from it (a read would include their rows), so it is not {made}"
    columns = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute"
            " WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped",
            (oid,),
        ).fetchall()
    }
    if columns.get("id", ("",))[0] != "integer" or columns.get("env", ("",))[0] != "text":
        return f"it lacks the columns id integer and env text of {made}"
    if not columns["env"][1]:
        return f"env is not NOT NULL as in {made}"
    constraints = conn.execute(
        "SELECT c.contype, pg_get_constraintdef(c.oid),"
        " ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.conrelid"
        " AND a.attnum = ANY(c.conkey) ORDER BY a.attname)"
        " FROM pg_constraint c WHERE c.conrelid = %s AND c.convalidated",
        (oid,),
    ).fetchall()
    if not any(t == "p" and cols == ["id"] for t, _, cols in constraints):
        return f"it lacks the primary key on id of {made}"
    if not any(t == "c" and d == "CHECK ((id = 1))" for t, d, _ in constraints):
        return f"it lacks the CHECK (id = 1) constraint of {made}"
    if not any(t == "c" and cols == ["env"] for t, _, cols in constraints):
        return f"it lacks the CHECK constraint on env of {made}"
    return None


def verify_marker(
    conn: psycopg.Connection, settings: Settings, expected: str, expected_source: str, target: str
) -> MarkerReading:
    """Return the reading when the marker says `expected`; otherwise raise `SafetyError`."""
    reading = read_marker(conn, settings)
    why = f"expected env {expected!r} (from {expected_source}) on {target}"
    if reading.problem is not None:
        if reading.problem in (NO_TABLE, NO_ROW):
            flags = f"--env {expected}" + (" --allow-prod" if expected == PROD else "")
            hint = f"if this really is the {expected} database, mark it once: `migration-guard marker init {flags}`"
            if expected == PROD:
                hint += f" with {LOCK_VAR}=YES"
        elif MADE_BY_INIT in reading.problem:
            hint = (
                f"rename or drop {reading.table} (keep its row), then mark the database with "
                f"`migration-guard marker init --env {expected}`"
            )
        else:
            hint = f"fix the marker row by hand, or re-create it with `migration-guard marker init --env {expected} --force`"
        raise SafetyError(
            f"environment marker check failed: {reading.problem} ({reading.table}); {why}", hint
        )
    if reading.env != expected:
        raise SafetyError(
            f"environment marker mismatch: {reading.table} says {reading.env!r}; {why}",
            "you are pointing at the wrong database: check DATABASE_URL, or pass the right --env",
        )
    return reading


def init_marker(
    conn: psycopg.Connection,
    settings: Settings,
    env: str,
    *,
    allow_change: bool = False,
    prod_unlocked: bool = False,
) -> InitResult:
    """Create the marker table and row for `env`; idempotent when the row already says `env`.

    Changing an existing, different value needs `allow_change`. Writing `prod`,
    or changing a `prod` marker to anything else, needs `prod_unlocked` (the
    caller checked the hard lock): turning a prod marker into dev would disarm
    every later gate.
    """
    import psycopg
    from psycopg import sql

    if env not in settings.environments:
        raise SafetyError(
            f"cannot mark the database as {env!r}: not one of the configured environments ({', '.join(settings.environments)})"
        )
    table = qualified(settings)
    allowed = sql.SQL(", ").join(sql.Literal(e) for e in settings.environments)
    try:
        with conn.transaction():
            _set_timeouts(conn)
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    " id integer PRIMARY KEY CHECK (id = 1),"
                    " env text NOT NULL CHECK (env IN ({})),"
                    " updated_at timestamptz NOT NULL DEFAULT now())"
                ).format(_ident(settings), allowed)
            )
            shape = marker_shape_problem(conn, settings)
            if shape is not None:
                raise SafetyError(
                    f"cannot initialise marker table {table}: {shape}",
                    f"rename or drop {table} (keep its row), then run `migration-guard marker init` again",
                )
            rows = conn.execute(
                sql.SQL("SELECT id, env FROM {} FOR UPDATE").format(_ident(settings))
            ).fetchall()
            if not rows:
                _need_unlock(env == PROD and not prod_unlocked, table, "mark a database as prod")
                conn.execute(
                    sql.SQL("INSERT INTO {} (id, env) VALUES (1, %s)").format(_ident(settings)), (env,)
                )
                return InitResult(table, env, "created")
            if len(rows) == 1 and rows[0] == (1, env):
                return InitResult(table, env, "unchanged", env)
            previous = ", ".join(str(r[1]) for r in rows)
            shown = ", ".join(repr(r[1]) for r in rows)
            if not allow_change:
                raise SafetyError(
                    f"{table} already says {shown}; refusing to change it to {env!r}",
                    "changing a marker is how a database gets mistaken for another; if you are sure, pass --force",
                )
            touches_prod = env == PROD or any(r[1] == PROD for r in rows)
            _need_unlock(touches_prod and not prod_unlocked, table, f"change {shown} to {env!r}")
            conn.execute(sql.SQL("DELETE FROM {}").format(_ident(settings)))
            conn.execute(sql.SQL("INSERT INTO {} (id, env) VALUES (1, %s)").format(_ident(settings)), (env,))
            return InitResult(table, env, "changed", previous)
    except psycopg.Error as exc:
        raise _db_failure(exc, settings, "initialise") from None


def _need_unlock(locked: bool, table: str, doing: str) -> None:
    if locked:
        raise SafetyError(
            f"{table}: refusing to {doing} without the production hard lock",
            f"run with {LOCK_VAR}=YES in the process environment (and --allow-prod when writing prod)",
        )


def init_marker_audited(
    ctx: RunnerContext, env: str, before: MarkerReading, *, allow_change: bool, prod_unlocked: bool
) -> InitResult:
    """`init_marker` for a change that involves prod (marking it, or changing a prod marker),
    recorded in the audit trail as action `marker-init` with `<before> -> <env>` as target.

    Demoting a prod marker is always recorded (the trail is created if needed); marking a
    database as prod is recorded where the trail exists. Without the hard lock the change is
    refused; the attempt is recorded only where the trail exists, since creating it would be a
    write to production nobody unlocked.
    """
    import psycopg

    from guard.db.history import audit_exists, write_audit
    from guard.db.session import Session

    target = f"{before.env or 'unmarked'} -> {env}"
    if not prod_unlocked:
        try:
            return init_marker(ctx.conn, ctx.settings, env, allow_change=allow_change, prod_unlocked=False)
        except SafetyError as exc:
            schema = ctx.settings.history_schema
            with contextlib.suppress(psycopg.Error):
                if audit_exists(ctx.lock_conn, schema):
                    row = ctx.lock_conn.execute("SELECT current_user").fetchone()
                    write_audit(
                        ctx.lock_conn,
                        schema,
                        run_id=uuid.uuid4().hex,
                        actor=f"{row[0] if row else '?'}@{ctx.host or 'unknown host'}",
                        action=MARKER_ACTION,
                        target=target,
                        outcome="refused",
                        error=exc.message,
                        tool_version=ctx.tool_version,
                    )
            raise
    demoting = before.env == PROD and env != PROD
    if not demoting and not audit_exists(ctx.lock_conn, ctx.settings.history_schema):
        return init_marker(ctx.conn, ctx.settings, env, allow_change=allow_change, prod_unlocked=True)
    with Session(ctx, MARKER_ACTION, target, check_trail=False) as session:
        session.audit("started")
        try:
            result = init_marker(ctx.conn, ctx.settings, env, allow_change=allow_change, prod_unlocked=True)
        except GuardError as exc:
            raise session.refuse(exc) from None
        session.audit("ok" if result.action != "unchanged" else "unchanged")
    return result
