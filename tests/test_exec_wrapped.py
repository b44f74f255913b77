"""`exec -- <tool>` in step with the wrapped tool, on real Postgres, with stand-in tools: small Python
scripts that apply migrations and write their history table exactly as the real tool does (sources
in tests/tool_tables.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
import pytest
import tool_tables as tt
from test_adopt import audit, history, invoke, marked, write

pytestmark = pytest.mark.db

#: dbmate: `create table if not exists schema_migrations (version varchar(255) primary key)`, then per
#: pending file (any order gap included) the up section and `insert ... (version)` in one transaction.
DBMATE_STANDIN = f"""
import os, pathlib, sys, psycopg
folder = pathlib.Path(sys.argv[1])
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
    conn.execute({tt.DBMATE_DDL!r})
    done = {{r[0] for r in conn.execute("select version from schema_migrations")}}
    for path in sorted(folder.glob("*.sql")):
        version = path.name.split("_")[0]
        if version in done:
            continue
        up = path.read_text().split("-- migrate:up", 1)[1].split("-- migrate:down", 1)[0]
        with conn.transaction():
            conn.execute(up)
            conn.execute('insert into "public"."schema_migrations" (version) values (%s)', (version,))
        print("Applying:", path.name)
"""

#: golang-migrate: one row; per pending file SetVersion(v, dirty=true), run it, SetVersion(v, false).
GOLANG_STANDIN = f"""
import os, pathlib, sys, psycopg
folder = pathlib.Path(sys.argv[1])
def set_version(conn, v, dirty):
    with conn.transaction():
        conn.execute('TRUNCATE "public"."schema_migrations"')
        conn.execute('INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (%s, %s)', (v, dirty))
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
    conn.execute({tt.GOLANG_MIGRATE_DDL!r})
    row = conn.execute('SELECT version FROM "public"."schema_migrations" LIMIT 1').fetchone()
    current = row[0] if row else -1
    for path in sorted(folder.glob("*.up.sql"), key=lambda p: int(p.name.split("_")[0])):
        v = int(path.name.split("_")[0])
        if v <= current:
            continue
        set_version(conn, v, True)
        conn.execute(path.read_text())
        set_version(conn, v, False)
"""

#: Prisma `migrate deploy`: a row when a migration starts, finished_at and the step count when it ends.
PRISMA_STANDIN = f"""
import hashlib, os, pathlib, sys, uuid, psycopg
folder = pathlib.Path(sys.argv[1])
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
    if conn.execute("SELECT to_regclass('_prisma_migrations')").fetchone()[0] is None:
        conn.execute({tt.PRISMA_DDL!r})
    done = {{r[0] for r in conn.execute(
        "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL")}}
    for path in sorted(folder.glob("*/migration.sql")):
        name = path.parent.name
        if name in done:
            continue
        data = path.read_bytes()
        rid = str(uuid.uuid4())
        conn.execute("INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count)"
                     " VALUES (%s, %s, %s, now(), 0)", (rid, hashlib.sha256(data).hexdigest(), name))
        conn.execute(data.decode())
        conn.execute("UPDATE _prisma_migrations SET finished_at = now(), applied_steps_count = applied_steps_count + 1"
                     " WHERE id = %s", (rid,))
"""


def gates_bind_on_dev(tmp_path: Path) -> None:
    """The lint gate and the contract window bind in prod by default; these tests run on dev."""
    (tmp_path / "migration-guard.toml").write_text(
        'lint_gate_envs = ["dev", "prod"]\ncontract_window_envs = ["dev", "prod"]\n'
    )


def standin(tmp_path: Path, name: str, code: str) -> list[str]:
    """Write a stand-in tool and return the command that runs it."""
    script = tmp_path / f"{name}.py"
    script.write_text(code)
    return [sys.executable, str(script)]


def test_pending_is_what_the_tool_has_not_applied_and_what_it_applies_is_recorded(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gates_bind_on_dev(tmp_path)
    url = marked(fresh_db)
    folder = write(
        tmp_path / "migrations",
        {
            "20240101000000_users.sql": "-- migrate:up\nCREATE TABLE users (id bigint PRIMARY KEY, legacy text);\n"
            "-- migrate:down\nDROP TABLE users;\n",
            # Applied long ago by dbmate, and unsafe: linted, it would refuse the run.
            "20240102000000_legacy.sql": "-- migrate:up\nALTER TABLE users DROP COLUMN legacy;\n"
            "-- migrate:down\nALTER TABLE users ADD COLUMN legacy text;\n",
            "20240103000000_email.sql": "-- migrate:up\nALTER TABLE users ADD COLUMN email text;\n"
            "-- migrate:down\nALTER TABLE users DROP COLUMN email;\n",
        },
    )
    tt.run(url, "CREATE TABLE users (id bigint PRIMARY KEY)")
    tt.dbmate(url, ["20240101000000", "20240102000000"])
    cmd = standin(tmp_path, "dbmate", DBMATE_STANDIN)
    code, _, err = invoke(
        ["exec", "--migrations", str(folder), "--", *cmd, str(folder)], url, monkeypatch, tmp_path
    )
    assert code == 0, err
    assert (
        "as applied by the wrapped tool: 20240101000000_users, 20240102000000_legacy, 20240103000000_email"
        in err
    )
    assert [via for _, via, _ in history(url)] == ["dbmate"] * 3
    assert audit(url) == [("exec", "started"), ("exec", "ok")]
    code, out, err = invoke(["status", str(folder)], url, monkeypatch, tmp_path)
    assert code == 0 and "3 applied, 0 partial, 0 pending, 0 drift" in out, out + err


def test_lint_gate_judges_the_tools_pending_migrations_before_it_runs(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gates_bind_on_dev(tmp_path)
    url = marked(fresh_db)
    folder = write(
        tmp_path / "migrations",
        {
            "20240101000000_users.sql": "-- migrate:up\nCREATE TABLE users (id bigint PRIMARY KEY);\n"
            "-- migrate:down\nDROP TABLE users;\n",
            "20240102000000_drop.sql": "-- migrate:up\nDROP TABLE users;\n-- migrate:down\nSELECT 1;\n",
        },
    )
    tt.run(url, "CREATE TABLE users (id bigint PRIMARY KEY)")
    tt.dbmate(url, ["20240101000000"])
    cmd = standin(tmp_path, "dbmate", DBMATE_STANDIN)
    code, _, err = invoke(
        ["exec", "--migrations", str(folder), "--", *cmd, str(folder)], url, monkeypatch, tmp_path
    )
    assert code == 1 and "avoid-drop-table" in err
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (1,)  # the tool never ran


def test_contract_window_counts_from_what_exec_recorded(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gates_bind_on_dev(tmp_path)
    url = marked(fresh_db)
    folder = write(
        tmp_path / "migrations",
        {
            "1_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY, full_name text, name text);\n",
            "1_users.down.sql": "DROP TABLE users;\n",
        },
    )
    cmd = standin(tmp_path, "migrate", GOLANG_STANDIN)
    assert (
        invoke(["exec", "--migrations", str(folder), "--", *cmd, str(folder)], url, monkeypatch, tmp_path)[0]
        == 0
    )
    write(
        folder,
        {
            "2_drop_full_name.up.sql": "-- guard: contract 1\nALTER TABLE users DROP COLUMN full_name;\n",
            "2_drop_full_name.down.sql": "ALTER TABLE users ADD COLUMN full_name text;\n",
        },
    )
    code, _, err = invoke(
        ["exec", "--migrations", str(folder), "--", *cmd, str(folder)], url, monkeypatch, tmp_path
    )
    assert (
        code == 2
        and "waits for its expand/contract window" in err
        and "wrapped tool would apply it now" in err
    ), err
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM schema_migrations").fetchone() == (1,)


def test_a_dirty_tool_history_refuses(fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = marked(fresh_db)
    folder = write(
        tmp_path / "migrations", {"1_users.up.sql": "SELECT 1;\n", "1_users.down.sql": "SELECT 1;\n"}
    )
    tt.golang_migrate(url, 1, dirty=True)
    sentinel = tmp_path / "ran"
    cmd = [sys.executable, "-c", f"open({str(sentinel)!r}, 'w')"]
    code, _, err = invoke(["exec", "--migrations", str(folder), "--", *cmd], url, monkeypatch, tmp_path)
    assert code == 2 and "dirty, failed or unfinished" in err
    assert not sentinel.exists()
    assert audit(url) == [("exec", "refused")]


def test_tool_table_absent_from_a_used_database_refuses(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = marked(fresh_db)
    folder = write(
        tmp_path / "migrations",
        {
            "1700000000000_users/up.sql": "CREATE TABLE users (id int);\n",
            "1700000000000_users/down.sql": "DROP TABLE users;\n",
        },
    )
    tt.run(url, "CREATE TABLE users (id int)")  # migrated, but Hasura keeps its state elsewhere
    sentinel = tmp_path / "ran"
    cmd = [sys.executable, "-c", f"open({str(sentinel)!r}, 'w')"]
    code, _, err = invoke(["exec", "--migrations", str(folder), "--", *cmd], url, monkeypatch, tmp_path)
    assert code == 2, err
    assert (
        "hdb_catalog.hdb_version / hdb_catalog.schema_migrations is absent from the checked database" in err
    )
    assert "HASURA_GRAPHQL_ENDPOINT" in err and "Hasura source" not in err
    assert not sentinel.exists()
    # A source database of a Hasura that keeps its metadata elsewhere: its catalog table (DDL from
    # hasura/graphql-engine server/src-rsr/init_pg_source.sql), and no hdb_version.
    tt.run(
        url,
        "CREATE SCHEMA hdb_catalog; CREATE TABLE hdb_catalog.hdb_source_catalog_version "
        "(version text NOT NULL, upgraded_on timestamptz NOT NULL)",
    )
    code, _, err = invoke(["exec", "--migrations", str(folder), "--", *cmd], url, monkeypatch, tmp_path)
    assert code == 2 and "HASURA_GRAPHQL_METADATA_DATABASE_URL" in err, err


def test_a_fresh_database_passes_but_the_tool_must_then_have_migrated_it(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = marked(fresh_db)
    folder = write(
        tmp_path / "migrations",
        {
            "1700000000000_users/up.sql": "CREATE TABLE users (id int);\n",
            "1700000000000_users/down.sql": "DROP TABLE users;\n",
        },
    )
    # A Hasura CLI whose endpoint serves another database: it exits 0 and writes nothing here.
    cmd = [sys.executable, "-c", "pass"]
    code, _, err = invoke(["exec", "--migrations", str(folder), "--", *cmd], url, monkeypatch, tmp_path)
    assert code == 2 and "migrated another database than the one the gates checked" in err, err
    assert audit(url) == [("exec", "started"), ("exec", "failed")]


def test_prisma_on_a_fresh_database(fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = marked(fresh_db)
    folder = write(
        tmp_path / "prisma" / "migrations",
        {
            "20240101000000_users/migration.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
            "20240101000000_users/down.sql": "DROP TABLE users;\n",
        },
    )
    cmd = standin(tmp_path, "prisma", PRISMA_STANDIN)
    code, _, err = invoke(
        ["exec", "--migrations", str(folder), "--", *cmd, str(folder)], url, monkeypatch, tmp_path
    )
    assert code == 0, err
    assert [(v, via) for v, via, _ in history(url)] == [("20240101000000_users", "prisma")]


def test_two_files_of_one_version_refuse_before_the_tool_runs(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = marked(fresh_db)
    folder = write(
        tmp_path / "migrations",
        {
            "1_a.up.sql": "CREATE TABLE a (id int);\n",
            "1_a.down.sql": "DROP TABLE a;\n",
            "1_b.up.sql": "CREATE TABLE b (id int);\n",
            "1_b.down.sql": "DROP TABLE b;\n",
        },
    )
    sentinel = tmp_path / "ran"
    cmd = [sys.executable, "-c", f"open({str(sentinel)!r}, 'w')"]
    code, _, err = invoke(["exec", "--migrations", str(folder), "--", *cmd], url, monkeypatch, tmp_path)
    assert code == 2 and "version 1 is used by both" in err, err
    assert not sentinel.exists()


def test_fresh_means_nothing_of_its_own_extensions_aside(local_fresh_db: str) -> None:
    from guard.config import Settings
    from guard.db.wrapped import is_fresh

    url = marked(local_fresh_db)
    settings = Settings()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS citext")  # its types and functions are the extension's
        assert is_fresh(conn, settings)
        conn.execute("CREATE TYPE mood AS ENUM ('ok')")
        assert not is_fresh(conn, settings)
        conn.execute("DROP TYPE mood")
        conn.execute("CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        assert not is_fresh(conn, settings)
