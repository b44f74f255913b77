"""The history table (what is applied, with checksum, timing and who), the append-only audit
table (every migrate, rollback, dry run and exec attempt) and checksums. Drift between the
files and the history is `guard.db.drift`.

History rows are keyed by the migration's identity in its layout, `Migration.key`,
stored in the `version` column: the version, or for Prisma the folder name (two Prisma
folders may share a timestamp). Builds before history keys stored Prisma migrations under
the bare version; `build_plan` recognises such a row by its version and name, and the
runner rewrites it to the folder name (`rekey_history`) before it writes any history.

Both tables live in a schema of their own (`settings.history_schema`). The audit
table refuses UPDATE, DELETE and TRUNCATE with triggers (armed and checked by
`guard.db.audit_guard`), so the trail cannot be rewritten from a migration or a console.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from guard.model import Migration, version_key

if TYPE_CHECKING:
    import psycopg

#: History row states: a migration fully applied, one whose non-transactional up stopped
#: part way (statements_done says how far), one whose non-transactional down stopped part way.
APPLIED = "applied"
PARTIAL = "partial"
PARTIAL_DOWN = "partial_down"

_DDL = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.history (
    version         text PRIMARY KEY,
    name            text NOT NULL DEFAULT '',
    checksum        text NOT NULL,
    status          text NOT NULL DEFAULT 'applied' CHECK (status IN ('applied', 'partial', 'partial_down')),
    statements_done integer NOT NULL DEFAULT 0,
    applied_at      timestamptz NOT NULL DEFAULT now(),
    duration_ms     double precision,
    applied_by      text NOT NULL DEFAULT current_user,
    tool_version    text NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS {schema}.audit (
    id          bigserial PRIMARY KEY,
    run_id      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor       text NOT NULL,
    action      text NOT NULL,
    target      text,
    attempted   jsonb NOT NULL DEFAULT '[]',
    outcome     text NOT NULL,
    error       text,
    tool_version text NOT NULL DEFAULT ''
);
CREATE OR REPLACE FUNCTION {schema}.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the migration-guard audit table is append-only';
END $$;
DROP TRIGGER IF EXISTS audit_append_only ON {schema}.audit;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {schema}.audit
    FOR EACH ROW EXECUTE FUNCTION {schema}.audit_append_only();
"""

#: Columns added after the first release, each with the statement that adds it to an existing table.
#: `applied_via`: '' when migration-guard applied it, else the tool that did (`exec`, `adopt`).
_UPGRADES = {
    "applied_via": "ALTER TABLE {schema}.history ADD COLUMN IF NOT EXISTS applied_via text NOT NULL DEFAULT ''",
}


@dataclass(frozen=True)
class AppliedMigration:
    """One history row. `version` is the migration's version; `key` the identity the row is stored
    under (`Migration.key`); empty means the version."""

    version: str
    name: str
    checksum: str
    status: str
    statements_done: int
    applied_at: datetime
    duration_ms: float | None
    applied_by: str
    tool_version: str
    key: str = ""
    #: The 1-based statement that was sent outside a transaction and not yet recorded as done
    #: (a run that stopped there may or may not have applied it); None otherwise.
    statement_running: int | None = None
    #: '' when migration-guard applied it, else the tool that did (Hasura, Prisma, ... or `hand`).
    applied_via: str = ""

    @property
    def id(self) -> str:
        """`<version>_<name>`, like `Migration.id`."""
        return f"{self.version}_{self.name}" if self.name else self.version

    @property
    def history_key(self) -> str:
        """What the row is stored under in the `version` column."""
        return self.key or self.version

    def as_dict(self) -> dict[str, Any]:
        """JSON shape used by `status --format json`."""
        return {
            "key": self.history_key,
            "version": self.version,
            "name": self.name,
            "checksum": self.checksum,
            "status": self.status,
            "statements_done": self.statements_done,
            "applied_at": self.applied_at.isoformat(),
            "duration_ms": self.duration_ms,
            "applied_by": self.applied_by,
            "tool_version": self.tool_version,
            "statement_running": self.statement_running,
            "applied_via": self.applied_via,
        }


@dataclass(frozen=True)
class AuditEntry:
    """One audit row."""

    id: int
    run_id: str
    at: datetime
    actor: str
    action: str
    target: str | None
    attempted: list[str]
    outcome: str
    error: str | None


def checksum_of(migration: Migration) -> str:
    """The migration's checksum: the one discovery computed, else sha256 of its up SQL."""
    if migration.checksum:
        return migration.checksum
    return hashlib.sha256(migration.up_sql.encode("utf-8")).hexdigest()


def _ident(schema: str) -> Any:
    from psycopg import sql

    return sql.Identifier(schema)


def history_exists(conn: psycopg.Connection, schema: str) -> bool:
    """True when the history table exists (read-only commands never create it)."""
    row = conn.execute("SELECT to_regclass(format('%%I.history', %s::text))", (schema,)).fetchone()
    return row is not None and row[0] is not None


def ensure_tables(conn: psycopg.Connection, schema: str) -> None:
    """Create the history schema and tables when missing (call under the runner lock: DDL races)."""
    from psycopg import sql

    if not (history_exists(conn, schema) and audit_exists(conn, schema)):
        with conn.transaction():
            conn.execute(sql.SQL(_DDL).format(schema=_ident(schema)))
    _add_statement_running(conn, schema)
    # Checked first: ALTER TABLE takes ACCESS EXCLUSIVE on the history even when the column exists.
    missing = set(_UPGRADES) - history_columns(conn, schema)
    for column in sorted(missing):
        conn.execute(sql.SQL(_UPGRADES[column]).format(schema=_ident(schema)))


def _add_statement_running(conn: psycopg.Connection, schema: str) -> None:
    """Upgrade a history table made before `statement_running` existed (additive, nullable)."""
    from psycopg import sql

    row = conn.execute(
        "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(format('%%I.history', %s::text))"
        " AND attname = 'statement_running' AND NOT attisdropped",
        (schema,),
    ).fetchone()
    if row is None:
        # Checked first: ADD COLUMN IF NOT EXISTS still takes ACCESS EXCLUSIVE on every run.
        conn.execute(
            sql.SQL("ALTER TABLE {}.history ADD COLUMN IF NOT EXISTS statement_running integer").format(
                _ident(schema)
            )
        )


def history_columns(conn: psycopg.Connection, schema: str) -> set[str]:
    """The columns the history table has (tables created by an older release lack the newer ones)."""
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(format('%%I.history', %s::text))"
        " AND attnum > 0 AND NOT attisdropped",
        (schema,),
    ).fetchall()
    return {r[0] for r in rows}


def audit_exists(conn: psycopg.Connection, schema: str) -> bool:
    """True when the audit table exists."""
    row = conn.execute("SELECT to_regclass(format('%%I.audit', %s::text))", (schema,)).fetchone()
    return row is not None and row[0] is not None


def read_history(conn: psycopg.Connection, schema: str) -> dict[str, AppliedMigration]:
    """Every history row keyed by what it is stored under (empty when the table does not exist yet)."""
    from psycopg import sql

    if not history_exists(conn, schema):
        return {}
    # Read-only commands never upgrade the table: through to_jsonb a column an older release
    # lacks reads as NULL instead of failing.
    rows = conn.execute(
        sql.SQL(
            "SELECT version, name, checksum, status, statements_done, applied_at, duration_ms,"
            " applied_by, tool_version, (to_jsonb(h) ->> 'statement_running')::int,"
            " coalesce(to_jsonb(h) ->> 'applied_via', '') FROM {}.history h"
        ).format(_ident(schema))
    ).fetchall()
    out = {
        r[0]: AppliedMigration(
            version=_version_of(r[0], r[1]),
            name=r[1],
            checksum=r[2],
            status=r[3],
            statements_done=r[4],
            applied_at=r[5],
            duration_ms=r[6],
            applied_by=r[7],
            tool_version=r[8],
            key=r[0],
            statement_running=r[9],
            applied_via=r[10],
        )
        for r in rows
    }
    return dict(sorted(out.items(), key=lambda kv: (version_key(kv[1].version), kv[1].name)))


def _version_of(key: str, name: str) -> str:
    """The version of a row stored under `key`: a Prisma key is `<version>_<name>`; versions hold no `_<name>`."""
    suffix = f"_{name}"
    return key[: -len(suffix)] if name and key.endswith(suffix) else key


def rekey_history(conn: psycopg.Connection, schema: str, renames: Mapping[str, str]) -> None:
    """Move rows stored under an older key to their `Migration.key` (`renames`: new key -> stored
    key), in one transaction; an old row whose migration also has a row under the new key goes."""
    from psycopg import sql

    if not renames:
        return
    table = sql.SQL("{}.history").format(_ident(schema))
    with conn.transaction():
        for new, old in renames.items():
            conn.execute(
                sql.SQL(
                    "DELETE FROM {t} WHERE version = %s AND EXISTS (SELECT FROM {t} WHERE version = %s)"
                ).format(t=table),
                (old, new),
            )
            conn.execute(sql.SQL("UPDATE {} SET version = %s WHERE version = %s").format(table), (new, old))


def history_insert_sql(
    conn: psycopg.Connection,
    schema: str,
    migration: Migration,
    *,
    status: str,
    statements_done: int,
    duration_ms: float | None,
    host: str,
    tool_version: str,
) -> str:
    """An upsert of one history row as literal SQL, so it can share a round trip with COMMIT."""
    from psycopg import sql

    query = sql.SQL(
        "INSERT INTO {schema}.history AS h (version, name, checksum, status, statements_done, duration_ms,"
        " applied_by, tool_version, applied_at)"
        " VALUES ({key}, {name}, {checksum}, {status}, {done}, {duration},"
        " current_user || '@' || {host}, {tool}, now())"
        " ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum,"
        " status = EXCLUDED.status, statements_done = EXCLUDED.statements_done,"
        " duration_ms = coalesce(h.duration_ms, 0) + coalesce(EXCLUDED.duration_ms, 0),"
        " applied_by = EXCLUDED.applied_by, tool_version = EXCLUDED.tool_version,"
        " applied_at = EXCLUDED.applied_at"
    ).format(
        schema=_ident(schema),
        key=sql.Literal(migration.key),
        name=sql.Literal(migration.name),
        checksum=sql.Literal(checksum_of(migration)),
        status=sql.Literal(status),
        done=sql.Literal(statements_done),
        duration=sql.Literal(duration_ms),
        host=sql.Literal(host),
        tool=sql.Literal(tool_version),
    )
    return query.as_string(conn)


def progress_sql(
    conn: psycopg.Connection, schema: str, key: str, status: str, done: int, running: int | None = None
) -> str:
    """Recording progress of a non-transactional migration (`Migration.key`) as literal SQL (it can
    share a round trip with COMMIT): `done` statements finished, statement `running` sent but not
    confirmed."""
    from psycopg import sql

    return (
        sql.SQL(
            "UPDATE {}.history SET status = {}, statements_done = {}, statement_running = {} WHERE version = {}"
        )
        .format(
            _ident(schema), sql.Literal(status), sql.Literal(done), sql.Literal(running), sql.Literal(key)
        )
        .as_string(conn)
    )


def set_progress(
    conn: psycopg.Connection, schema: str, key: str, status: str, done: int, running: int | None = None
) -> None:
    """Record progress of a non-transactional migration (see `progress_sql`) on `conn` as it is."""
    conn.execute(progress_sql(conn, schema, key, status, done, running))


def history_delete_sql(conn: psycopg.Connection, schema: str, key: str) -> str:
    """Deleting one history row (by `Migration.key`) as literal SQL (it shares the round trip with COMMIT)."""
    from psycopg import sql

    return (
        sql.SQL("DELETE FROM {}.history WHERE version = {}")
        .format(_ident(schema), sql.Literal(key))
        .as_string(conn)
    )


def write_audit(
    conn: psycopg.Connection,
    schema: str,
    *,
    run_id: str,
    actor: str,
    action: str,
    outcome: str,
    target: str | None = None,
    attempted: Sequence[str] = (),
    error: str | None = None,
    tool_version: str = "",
) -> None:
    """Append one audit row (autocommit connection: it survives a migration's rollback)."""
    from psycopg import sql

    conn.execute(
        sql.SQL(
            "INSERT INTO {}.audit (run_id, actor, action, target, attempted, outcome, error, tool_version)"
            " VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s)"
        ).format(_ident(schema)),
        (run_id, actor, action, target, json.dumps(list(attempted)), outcome, error, tool_version),
        prepare=False,  # a plan prepared under a DO INSTEAD NOTHING rule keeps dropping rows after it
    )


def read_audit(conn: psycopg.Connection, schema: str, limit: int = 100) -> list[AuditEntry]:
    """The newest audit rows first (empty when the table does not exist)."""
    from psycopg import sql

    if not audit_exists(conn, schema):
        return []
    rows = conn.execute(
        sql.SQL(
            "SELECT id, run_id, at, actor, action, target, attempted, outcome, error"
            " FROM {}.audit ORDER BY id DESC LIMIT %s"
        ).format(_ident(schema)),
        (limit,),
    ).fetchall()
    return [AuditEntry(*r) for r in rows]
