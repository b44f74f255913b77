"""Reading the history tables other migration tools keep, read-only, into one shape.

Each tool records what it applied in its own table, the way its own code writes it:

- Hasura CLI v2 (config v3): `hdb_catalog.hdb_version.cli_state`, a JSON document
  `{"migrations": {"<database>": {"<version>": <dirty>}}, ...}` written through the
  metadata API's `set_catalog_state`; CLI 1.x kept `hdb_catalog.schema_migrations
  (version bigint, dirty boolean)`, one row per migration (v2 copies it into the catalog
  state once, so the catalog state wins when it has the database).
- Prisma: `_prisma_migrations`, one row per attempt; applied = `finished_at` set and
  `rolled_back_at` not; `checksum` is sha256 of `migration.sql`.
- dbmate: `schema_migrations (version varchar)`, one row per migration.
- golang-migrate: `schema_migrations (version bigint, dirty boolean)`, ONE row: the newest
  version; everything at or below it counts as applied.
- Flyway: `flyway_schema_history`, one row per event (`SQL`, `BASELINE`, `UNDO_SQL`,
  `DELETE`...), `success` false for a failed one.
- Drizzle: `drizzle.__drizzle_migrations (id, hash, created_at)`: `created_at` is the
  journal's `when` and `hash` sha256 of the file; drizzle-orm applies a file only when its
  `when` is above the newest `created_at`, so everything at or below that counts as applied.

Read from each tool's source: hasura/graphql-engine cli/migrate/database/hasuradb
(migration_state_catalog_state.go, migration_state_sql.go) and the server's `setCatalogStateTx`;
prisma/prisma-engines (Postgres flavour `create_migrations_table`); amacneil/dbmate
pkg/driver/postgres/postgres.go; golang-migrate/migrate database/postgres/postgres.go
(`SetVersion`: TRUNCATE then one row); flyway/flyway's Postgres `createMetaDataTable.sql`;
drizzle-team/drizzle-orm src/pg-core/dialect.ts (`migrate`) and src/migrator.ts.

Unqualified tables (Prisma, dbmate, golang-migrate, Flyway) are looked up through the
connection's `search_path`, as the tools' own default (the URL's schema) does.
Library code: it is handed an open connection and never reads the environment.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from guard.errors import SafetyError

if TYPE_CHECKING:
    import psycopg

#: The tool that owns each layout's history (`plain` has none).
TOOL_OF_LAYOUT = {
    "hasura": "hasura",
    "prisma": "prisma",
    "dbmate": "dbmate",
    "golang-migrate": "golang-migrate",
    "flyway": "flyway",
    "drizzle": "drizzle",
}

#: Where each tool keeps its history, for messages and detection (first found wins for Hasura).
TABLES = {
    "hasura": ("hdb_catalog.hdb_version", "hdb_catalog.schema_migrations"),
    "prisma": ("_prisma_migrations",),
    "dbmate": ("schema_migrations",),
    "golang-migrate": ("schema_migrations",),
    "flyway": ("flyway_schema_history",),
    "drizzle": ("drizzle.__drizzle_migrations",),
}


@dataclass(frozen=True)
class ToolRow:
    """One migration another tool recorded as applied, keyed as that tool keys it."""

    key: str
    #: The tool's checksum when it is sha256 of the file (Prisma, Drizzle), else None.
    checksum: str | None = None
    #: When the tool says it finished applying it (Prisma, Flyway), else None.
    applied_at: datetime | None = None


@dataclass(frozen=True)
class ToolHistory:
    """What another tool's history table says is applied."""

    tool: str
    table: str
    rows: tuple[ToolRow, ...]
    #: golang-migrate, Drizzle, a Flyway baseline: every migration at or below this key is applied.
    through: str | None = None
    #: Migrations the tool left dirty, failed or unfinished: adoption and exec refuse them.
    broken: tuple[str, ...] = ()
    #: Hasura: the database (source) whose migrations were read.
    source: str | None = None


def _regclass(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(row and row[0])


def _columns(conn: psycopg.Connection, name: str) -> set[str]:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
        (name,),
    ).fetchall()
    return {r[0] for r in rows}


def tables_present(conn: psycopg.Connection) -> list[str]:
    """The tools whose history table exists in this database (dbmate and golang-migrate share
    `schema_migrations`; golang-migrate's has a `dirty` column)."""
    found = []
    for tool, names in TABLES.items():
        if not any(_regclass(conn, n) for n in names):
            continue
        if tool in ("dbmate", "golang-migrate"):
            has_dirty = "dirty" in _columns(conn, "schema_migrations")
            if has_dirty != (tool == "golang-migrate"):
                continue
        found.append(tool)
    return found


def read_tool_history(
    conn: psycopg.Connection, tool: str, sources: Collection[str] = ()
) -> ToolHistory | None:
    """The history `tool` keeps in this database, or None when its table does not exist.

    `sources` are folder names the migrations live under (Hasura's `migrations/<database>/`),
    used to pick the database in Hasura's catalog state.
    """
    if tool not in tables_present(conn):
        return None
    reader = _READERS[tool]
    return reader(conn, sources)


def _hasura(conn: psycopg.Connection, sources: Collection[str]) -> ToolHistory:
    state: dict[str, Any] = {}
    if _regclass(conn, "hdb_catalog.hdb_version") and "cli_state" in _columns(
        conn, "hdb_catalog.hdb_version"
    ):
        row = conn.execute("SELECT cli_state FROM hdb_catalog.hdb_version LIMIT 1").fetchone()
        raw = row[0] if row else None
        state = (json.loads(raw) if isinstance(raw, str) else raw) or {}
    databases = state.get("migrations") or {}
    if isinstance(databases, dict) and databases:
        source = _hasura_source(databases, sources)
        versions = databases.get(source) or {}
        rows = tuple(ToolRow(str(v)) for v, dirty in versions.items() if not dirty)
        broken = tuple(str(v) for v, dirty in versions.items() if dirty)
        return ToolHistory(
            "hasura", "hdb_catalog.hdb_version (cli_state)", rows, broken=broken, source=source
        )
    if _regclass(conn, "hdb_catalog.schema_migrations"):
        found = conn.execute("SELECT version::text, dirty FROM hdb_catalog.schema_migrations").fetchall()
        rows = tuple(ToolRow(v) for v, dirty in found if not dirty)
        broken = tuple(v for v, dirty in found if dirty)
        return ToolHistory("hasura", "hdb_catalog.schema_migrations", rows, broken=broken)
    return ToolHistory("hasura", "hdb_catalog.hdb_version (cli_state)", ())


def _hasura_source(databases: dict[str, Any], sources: Collection[str]) -> str:
    """The Hasura database whose migrations these files are: the one named by their folder
    (`migrations/<database>/`), else the only one the catalog state has."""
    named = [s for s in databases if s in sources]
    if len(named) == 1:
        return named[0]
    if not named and len(databases) == 1:
        return next(iter(databases))
    raise SafetyError(
        "Hasura's catalog state holds migrations of several databases ("
        + ", ".join(sorted(databases))
        + "); cannot tell which one these files belong to",
        "pass the folder of one database, e.g. `migrations/default`",
    )


def _prisma(conn: psycopg.Connection, sources: Collection[str]) -> ToolHistory:
    found = conn.execute(
        "SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations"
        " ORDER BY started_at, migration_name"
    ).fetchall()
    done: dict[str, ToolRow] = {}
    unfinished: list[str] = []
    for name, checksum, finished, rolled_back in found:
        if rolled_back is not None:
            continue  # marked rolled back with `prisma migrate resolve --rolled-back`
        if finished is None:
            unfinished.append(name)
        else:
            done[name] = ToolRow(name, checksum, finished)
    broken = tuple(dict.fromkeys(n for n in unfinished if n not in done))
    return ToolHistory("prisma", "_prisma_migrations", tuple(done.values()), broken=broken)


def _dbmate(conn: psycopg.Connection, sources: Collection[str]) -> ToolHistory:
    found = conn.execute("SELECT version::text FROM schema_migrations ORDER BY version").fetchall()
    return ToolHistory("dbmate", "schema_migrations", tuple(ToolRow(r[0]) for r in found))


def _golang_migrate(conn: psycopg.Connection, sources: Collection[str]) -> ToolHistory:
    found = conn.execute("SELECT version::text, dirty FROM schema_migrations").fetchall()
    if not found:
        return ToolHistory("golang-migrate", "schema_migrations", ())
    if len(found) > 1:
        raise SafetyError(
            f"golang-migrate's schema_migrations has {len(found)} rows; golang-migrate keeps exactly one",
            "fix the table by hand (`migrate force VERSION`) before adopting",
        )
    version, dirty = found[0]
    if dirty:
        return ToolHistory("golang-migrate", "schema_migrations", (), broken=(version,))
    return ToolHistory("golang-migrate", "schema_migrations", (ToolRow(version),), through=version)


def _flyway(conn: psycopg.Connection, sources: Collection[str]) -> ToolHistory:
    from guard.layouts.collect import same_version_key

    found = conn.execute(
        "SELECT version, type, success, installed_on::timestamptz FROM flyway_schema_history"
        " WHERE version IS NOT NULL ORDER BY installed_rank"
    ).fetchall()
    applied: dict[tuple[int, ...], ToolRow] = {}
    failed: dict[tuple[int, ...], str] = {}
    baseline: str | None = None
    for version, kind, success, installed_on in found:
        slot = same_version_key(version)
        if kind == "BASELINE":
            baseline = version
        elif kind in ("UNDO_SQL", "UNDO_JDBC", "UNDO_SCRIPT", "DELETE"):
            if success:
                applied.pop(slot, None)
        elif success:
            applied[slot] = ToolRow(version, None, installed_on)
            failed.pop(slot, None)
        else:
            failed[slot] = version
    rows = tuple(applied.values())
    return ToolHistory(
        "flyway", "flyway_schema_history", rows, through=baseline, broken=tuple(failed.values())
    )


def _drizzle(conn: psycopg.Connection, sources: Collection[str]) -> ToolHistory:
    found = conn.execute(
        "SELECT hash, created_at::text FROM drizzle.__drizzle_migrations ORDER BY created_at, id"
    ).fetchall()
    rows = tuple(ToolRow(created, digest) for digest, created in found if created is not None)
    through = max(rows, key=lambda r: int(r.key)).key if rows else None
    return ToolHistory("drizzle", "drizzle.__drizzle_migrations", rows, through=through)


_READERS = {
    "hasura": _hasura,
    "prisma": _prisma,
    "dbmate": _dbmate,
    "golang-migrate": _golang_migrate,
    "flyway": _flyway,
    "drizzle": _drizzle,
}
