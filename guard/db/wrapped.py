"""`exec` in step with the wrapped tool: its pending list and what it applied, read from its own
history table in the database the gates checked.

Before the tool runs, pending means what the tool has not applied yet (the same reader and
matching as `adopt`). When the layout says a tool manages the project and that tool's history
table is absent from the checked database, the run is refused unless the database is fresh:

- not fresh (our history has rows, or the database has tables, views, sequences, types or
  functions of its own): migrations were applied here, by something, yet the tool has no record
  of them; the tool would migrate another database (Hasura migrates through
  HASURA_GRAPHQL_ENDPOINT, whose server may use another database than DATABASE_URL) or
  re-apply everything. Refused.
- fresh (nothing of its own but the marker and our schema): every migration is pending and the
  tool creates its table on its first run. Since a fresh database cannot show which database
  the tool will really migrate, the check is repeated after the tool exits 0: its table must
  now exist here, or the run fails (exit 2) saying that the tool migrated another database.

After the tool exits 0, every migration it applied that our history lacks is recorded with
`applied_via` = the tool and `applied_at` = now, so `status`, drift and contract windows work
the same with or without `exec`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from guard.db.adopt import record_applied, refuse_mismatches
from guard.db.adopt_match import Match, match_files
from guard.db.foreign_history import TABLES, TOOL_OF_LAYOUT, read_tool_history, tables_present
from guard.db.history import read_history
from guard.db.plan import check_duplicates
from guard.errors import SafetyError
from guard.model import Migration

if TYPE_CHECKING:
    import psycopg

    from guard.config import Settings


@dataclass(frozen=True)
class ToolState:
    """What the wrapped tool has applied to the checked database, before it runs."""

    tool: str
    #: None when its history table does not exist yet (a fresh database).
    match: Match | None
    pending: list[Migration]


def _where(tool: str) -> str:
    return " / ".join(TABLES[tool])


def _foreign_hint(tool: str) -> str:
    if tool == "hasura":
        return (
            "Hasura migrates the database behind HASURA_GRAPHQL_ENDPOINT and keeps its migration state in "
            "its metadata database: point DATABASE_URL at that database (or the endpoint at a Hasura serving "
            "this one), then run again"
        )
    return (
        f"point DATABASE_URL at the database {tool} migrates; if this database was migrated another way, "
        "record its history with `migration-guard adopt --through VERSION` first"
    )


def _hasura_source_note(conn: psycopg.Connection, tool: str) -> str:
    """Hasura v2 marks each database it serves with `hdb_catalog.hdb_source_catalog_version`
    (server/src-rsr/init_pg_source.sql); with no `hdb_version` beside it, its metadata and
    migration state live in another database."""
    if tool != "hasura":
        return ""
    row = conn.execute("SELECT to_regclass('hdb_catalog.hdb_source_catalog_version') IS NOT NULL").fetchone()
    if not (row and row[0]):
        return ""
    return (
        " (this database is a Hasura source whose metadata, migration state included, lives in another "
        "database: HASURA_GRAPHQL_METADATA_DATABASE_URL)"
    )


def is_fresh(conn: psycopg.Connection, settings: Settings) -> bool:
    """True when the database holds nothing of its own: no row in our history, and no table, view,
    sequence, type or function outside the system schemas, our history schema and the marker table
    (objects that belong to an extension do not count)."""
    if read_history(conn, settings.history_schema):
        return False
    row = conn.execute(
        """
        WITH own AS (
            SELECT oid FROM pg_namespace
            WHERE nspname NOT IN ('pg_catalog', 'information_schema', %(history)s)
              AND nspname NOT LIKE 'pg\\_toast%%' AND nspname NOT LIKE 'pg\\_temp%%'
        ), ext AS (SELECT classid, objid FROM pg_depend WHERE deptype = 'e')
        SELECT
          (SELECT count(*) FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM own)
             AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
             AND NOT (c.relnamespace = to_regnamespace(%(marker_schema)s) AND c.relname = %(marker_table)s)
             AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_class'::regclass AND objid = c.oid))
        + (SELECT count(*) FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM own)
             AND t.typtype IN ('e', 'd', 'r', 'm')
             AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_type'::regclass AND objid = t.oid))
        + (SELECT count(*) FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM own)
             AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_proc'::regclass AND objid = p.oid))
        """,
        {
            "history": settings.history_schema,
            "marker_schema": settings.marker_schema,
            "marker_table": settings.marker_table,
        },
    ).fetchone()
    return row is not None and row[0] == 0


def tool_state(
    conn: psycopg.Connection,
    settings: Settings,
    migrations: Sequence[Migration],
    *,
    layout: str,
    sources: Collection[str] = (),
    journal: Mapping[str, int] | None = None,
) -> ToolState | None:
    """What the layout's tool has applied here. A `plain` folder whose database has Drizzle's
    table (and no other tool's) is Drizzle's; None otherwise (our history decides).

    Raises `SafetyError` when its table is absent from a database that is not fresh, and for
    what `adopt` refuses (a dirty or failed migration, an applied migration without a file).
    """
    tool = TOOL_OF_LAYOUT.get(layout) or _only_tool(conn)
    if tool is None:
        return None
    check_duplicates(migrations)  # the tool would run both files of one version, or only one
    history = read_tool_history(conn, tool, sources)
    if history is None:
        if not is_fresh(conn, settings):
            raise SafetyError(
                f"the migrations are {tool}'s ({layout} layout), but {_where(tool)} is absent from the checked "
                f"database although it already holds applied migrations or objects: {tool} would migrate "
                "another database, or run every migration again" + _hasura_source_note(conn, tool),
                _foreign_hint(tool),
            )
        return ToolState(tool, None, sorted(migrations, key=lambda m: m.version_key))
    match = match_files(history, migrations, journal)
    refuse_mismatches(match)
    return ToolState(tool, match, match.pending(migrations))


def _only_tool(conn: psycopg.Connection) -> str | None:
    """Drizzle's folder reads as `plain` where no Drizzle layout is configured: its table, alone,
    names the tool. Other tools' tables are not guessed at for a plain folder (a Rails
    `schema_migrations` looks exactly like dbmate's)."""
    present = tables_present(conn)
    return "drizzle" if present == ["drizzle"] else None


def record_tool_run(
    conn: psycopg.Connection,
    settings: Settings,
    migrations: Sequence[Migration],
    tool: str | None,
    *,
    host: str,
    tool_version: str,
    sources: Collection[str] = (),
    journal: Mapping[str, int] | None = None,
) -> list[str]:
    """After the tool exited 0: record in our history what it applied (ids recorded).

    `tool` None (a `plain` folder with no tool's table before the run): Drizzle when its table
    is now the only one present. Raises `SafetyError` when the tool's history table is still absent:
    it migrated another database.
    """
    tool = tool or _only_tool(conn)
    if tool is None:
        return []
    history = read_tool_history(conn, tool, sources)
    if history is None:
        raise SafetyError(
            f"{tool} exited 0, but {_where(tool)} is still absent from the checked database: "
            f"{tool} migrated another database than the one the gates checked",
            _foreign_hint(tool),
        )
    match = match_files(history, migrations, journal)
    refuse_mismatches(match)
    recorded, _ = record_applied(
        conn,
        settings.history_schema,
        match,
        migrations,
        host=host,
        tool_version=tool_version,
        use_tool_time=False,
    )
    return recorded
