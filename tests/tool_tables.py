"""Other migration tools' history tables, created with each tool's own DDL and filled the way each
tool writes them, for the adoption and `exec` tests. Sources (read, not copied as code):

- Hasura v2: hasura/graphql-engine, server/src-rsr/initialise.sql (the metadata catalog:
  `hdb_catalog.hdb_version` with `cli_state`), written by the server's `setCatalogStateTx` (`UPDATE hdb_catalog.hdb_version
  SET cli_state = $1`) for the CLI's `set_catalog_state` (cli/migrate/database/hasuradb/
  migration_state_catalog_state.go: `{"migrations": {"<database>": {"<version>": dirty}}}`).
- Hasura CLI 1.x: cli/migrate/database/hasuradb/migration_state_sql.go (`CREATE TABLE
  hdb_catalog.schema_migrations (version bigint not null primary key, dirty boolean not null)`,
  one `INSERT (version, dirty)` per migration).
- Prisma: prisma/prisma-engines, schema-engine sql-schema-connector Postgres flavour
  `create_migrations_table`.
- dbmate: amacneil/dbmate pkg/driver/postgres/postgres.go `CreateMigrationsTable` / `InsertMigration`.
- golang-migrate: golang-migrate/migrate database/postgres/postgres.go `ensureVersionTable` /
  `SetVersion` (TRUNCATE, then one row).
- Flyway: flyway/flyway, Postgres `createMetaDataTable.sql`.
- Drizzle: drizzle-team/drizzle-orm drizzle-orm/src/pg-core/dialect.ts `migrate` and
  src/migrator.ts (`hash` = sha256 of the file, `created_at` = the journal's `when`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

import psycopg

HASURA_CATALOG_DDL = """
CREATE SCHEMA IF NOT EXISTS hdb_catalog;
CREATE FUNCTION hdb_catalog.gen_hasura_uuid() RETURNS uuid AS 'select gen_random_uuid()' LANGUAGE SQL;
CREATE TABLE hdb_catalog.hdb_version (
    hasura_uuid UUID PRIMARY KEY DEFAULT hdb_catalog.gen_hasura_uuid(),
    version TEXT NOT NULL,
    upgraded_on TIMESTAMPTZ NOT NULL,
    cli_state JSONB NOT NULL DEFAULT '{}'::jsonb,
    console_state JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE UNIQUE INDEX hdb_version_one_row ON hdb_catalog.hdb_version((version IS NOT NULL));
INSERT INTO hdb_catalog.hdb_version (version, upgraded_on) VALUES ('48', now());
"""

HASURA_LEGACY_DDL = """
CREATE SCHEMA IF NOT EXISTS hdb_catalog;
CREATE TABLE hdb_catalog.schema_migrations (version bigint not null primary key, dirty boolean not null);
"""

PRISMA_DDL = """
CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
"""

DBMATE_DDL = 'create table if not exists "public".schema_migrations (version varchar(255) primary key)'

GOLANG_MIGRATE_DDL = 'CREATE TABLE IF NOT EXISTS "public"."schema_migrations" (version bigint not null primary key, dirty boolean not null)'

FLYWAY_DDL = """
CREATE TABLE "public"."flyway_schema_history" (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");
"""

DRIZZLE_DDL = """
CREATE SCHEMA IF NOT EXISTS "drizzle";
CREATE TABLE IF NOT EXISTS "drizzle"."__drizzle_migrations" (
    id SERIAL PRIMARY KEY,
    hash text NOT NULL,
    created_at bigint
);
"""


def run(url: str, sql: str, params: Iterable[object] | None = None) -> None:
    """Run SQL (several statements when there are no parameters) in autocommit."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql, params)  # type: ignore[arg-type]


def hasura_catalog(url: str, versions: Mapping[str, bool], database: str = "default") -> None:
    """Hasura v2: the catalog row, then the CLI state the CLI sets after each migration."""
    run(url, HASURA_CATALOG_DDL)
    state = {
        "settings": {"migration_mode": "true"},
        "migrations": {database: dict(versions)},
        "isStateCopyCompleted": True,
    }
    run(url, "UPDATE hdb_catalog.hdb_version SET cli_state = %s", [json.dumps(state)])


def hasura_legacy(url: str, versions: Mapping[str, bool]) -> None:
    """Hasura CLI 1.x: one row per migration."""
    run(url, HASURA_LEGACY_DDL)
    for version, dirty in versions.items():
        run(
            url,
            "INSERT INTO hdb_catalog.schema_migrations (version, dirty) VALUES (%s, %s)",
            [int(version), dirty],
        )


def prisma(url: str, rows: Iterable[tuple[str, bytes, bool, bool]]) -> None:
    """Prisma: (folder name, migration.sql bytes, finished, rolled back) per attempt."""
    run(url, PRISMA_DDL)
    with psycopg.connect(url, autocommit=True) as conn:
        for i, (name, data, finished, rolled_back) in enumerate(rows):
            _prisma_row(conn, i, name, data, finished, rolled_back)


def _prisma_row(
    conn: psycopg.Connection, i: int, name: str, data: bytes, finished: bool, rolled_back: bool
) -> None:
    conn.execute(
        "INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at,"
        " rolled_back_at, applied_steps_count) VALUES (%s, %s, %s, now(),"
        " CASE WHEN %s THEN now() END, CASE WHEN %s THEN now() END, %s)",
        [
            f"00000000-0000-0000-0000-{i:012d}",
            hashlib.sha256(data).hexdigest(),
            name,
            finished,
            rolled_back,
            1 if finished else 0,
        ],
    )


def dbmate(url: str, versions: Iterable[str]) -> None:
    """dbmate: one row per applied version, as text."""
    run(url, DBMATE_DDL)
    with psycopg.connect(url, autocommit=True) as conn:
        for version in versions:
            conn.execute('insert into "public"."schema_migrations" (version) values (%s)', [version])


def golang_migrate(url: str, version: int, dirty: bool = False) -> None:
    """golang-migrate: the one row of the newest version."""
    run(url, GOLANG_MIGRATE_DDL)
    run(url, 'TRUNCATE "public"."schema_migrations"')
    run(url, 'INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (%s, %s)', [version, dirty])


def flyway(url: str, rows: Iterable[tuple[str | None, str, str, bool]]) -> None:
    """Flyway: (version, type, script, success) per event, in installed_rank order."""
    run(url, FLYWAY_DDL)
    for rank, (version, kind, script, success) in enumerate(rows, start=1):
        run(
            url,
            'INSERT INTO "public"."flyway_schema_history" ("installed_rank", "version", "description", "type",'
            ' "script", "checksum", "installed_by", "execution_time", "success")'
            " VALUES (%s, %s, %s, %s, %s, %s, current_user, 3, %s)",
            [rank, version, script.split("__")[-1].removesuffix(".sql"), kind, script, 12345, success],
        )


def drizzle(url: str, rows: Iterable[tuple[bytes, int]]) -> None:
    """Drizzle: (file bytes, journal when) per applied file."""
    run(url, DRIZZLE_DDL)
    for data, when in rows:
        digest = hashlib.sha256(data.decode().replace("\r\n", "\n").encode()).hexdigest()
        run(
            url,
            'insert into "drizzle"."__drizzle_migrations" ("hash", "created_at") values(%s, %s)',
            [digest, when],
        )
