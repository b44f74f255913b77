"""The runner's lint gate honours the baseline, and a missing extension is an environment
problem (exit 2 naming it), on the machine's real Postgres."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from runner_helpers import history_versions

from guard.cli import cli
from guard.db.execute import StatementFailure
from guard.db.extensions import needed_extension

pytestmark = pytest.mark.db

USERS = "CREATE TABLE users (id bigint PRIMARY KEY, legacy text, other text);\n"
UNSAFE = "ALTER TABLE users DROP COLUMN {c};\n"


def _project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "migration-guard.toml").write_text("cache = false\n")
    for name, text in files.items():
        (root / "migrations" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "migrations" / name).write_text(text)
    return root


def _cli(root: Path, url: str, env: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.chdir(root)
    monkeypatch.setenv("DATABASE_URL", url)
    for var in ("NODE_ENV", "VERCEL_ENV", "CONFIRM_PROD_MIGRATE"):
        monkeypatch.delenv(var, raising=False)
    if env == "prod":
        monkeypatch.setenv("CONFIRM_PROD_MIGRATE", "YES")
    result = CliRunner().invoke(cli, [*args, "migrations", "--env", env], catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def _mark(url: str, env: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bk_env_marker (id integer PRIMARY KEY CHECK (id = 1),"
            " env text NOT NULL CHECK (env IN ('dev', 'prod')))"
        )
        conn.execute("INSERT INTO bk_env_marker VALUES (1, %s)", (env,))


def test_production_gate_accepts_baselined_findings_and_blocks_new_ones(
    tmp_path: Path, local_fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _mark(local_fresh_db, "prod")
    root = _project(
        tmp_path / "proj",
        {
            "1_users.up.sql": USERS,
            "1_users.down.sql": "DROP TABLE users;\n",
            "2_drop.up.sql": UNSAFE.format(c="legacy"),
            "2_drop.down.sql": "ALTER TABLE users ADD COLUMN legacy text;\n",
        },
    )
    assert CliRunner().invoke(cli, ["baseline", str(root / "migrations")]).exit_code == 0
    new = root / "migrations" / "3_drop.up.sql"
    new.write_text(UNSAFE.format(c="other"))
    (root / "migrations" / "3_drop.down.sql").write_text("ALTER TABLE users ADD COLUMN other text;\n")
    code, out = _cli(root, local_fresh_db, "prod", monkeypatch, "migrate")
    assert code == 1, out
    assert "lint found 1 problem(s) at or above error in the 3 pending migration(s) about to run " in out
    assert "(1 more accepted by the baseline)" in out
    assert history_versions(local_fresh_db) == []
    new.unlink()
    (root / "migrations" / "3_drop.down.sql").unlink()
    (root / "migration-guard-baseline.json").rename(root / "aside.json")
    code, out = _cli(root, local_fresh_db, "prod", monkeypatch, "migrate")
    assert code == 1, out  # without the baseline, the history's own finding blocks
    (root / "aside.json").rename(root / "migration-guard-baseline.json")
    code, out = _cli(root, local_fresh_db, "prod", monkeypatch, "migrate")
    assert code == 0, out
    assert history_versions(local_fresh_db) == ["1", "2"]


@pytest.mark.parametrize("transactional", [True, False])
def test_a_missing_extension_is_an_environment_refusal(
    tmp_path: Path, local_fresh_db: str, monkeypatch: pytest.MonkeyPatch, transactional: bool
) -> None:
    _mark(local_fresh_db, "dev")
    head = "" if transactional else "-- guard: no-transaction\n"
    root = _project(
        tmp_path / "proj",
        {
            "1_ext.up.sql": head
            + "CREATE TABLE kept (id int);\nCREATE EXTENSION IF NOT EXISTS guard_no_such_extension;\n",
            "1_ext.down.sql": "DROP EXTENSION guard_no_such_extension;\nDROP TABLE kept;\n",
        },
    )
    code, out = _cli(root, local_fresh_db, "dev", monkeypatch, "migrate")
    assert code == 2, out
    assert 'needs the Postgres extension "guard_no_such_extension", which this server' in out
    assert "an environment problem, not one of the migration: install it on the server" in out
    assert "apt install postgresql-" in out and "Traceback" not in out
    with psycopg.connect(local_fresh_db) as conn:
        kept = conn.execute("SELECT to_regclass('public.kept') IS NOT NULL").fetchone()
    assert kept == (not transactional,)  # statement by statement, the table before it stays


def test_the_extension_is_named_from_the_statement_when_messages_are_translated() -> None:
    failure = StatementFailure(
        3, 'CREATE EXTENSION IF NOT EXISTS "Vektor" SCHEMA public', "Erweiterung nicht verfügbar", "0A000", 0
    )
    assert needed_extension(failure) == "Vektor"
    other = StatementFailure(3, "SELECT 1", "something else", "0A000", 0)
    assert needed_extension(other) is None


def test_a_known_extension_function_missing_names_the_extension_only_when_the_server_lacks_it() -> None:
    failure = StatementFailure(
        1,
        "SELECT create_hypertable('public.a', 'at')",
        "function create_hypertable(unknown, unknown) does not exist",
        "42883",
        0,
    )
    assert needed_extension(failure, lambda name: False) == "timescaledb"
    assert needed_extension(failure, lambda name: True) is None  # available: just not created
    other = StatementFailure(1, "SELECT f()", "function f() does not exist", "42883", 0)
    assert needed_extension(other, lambda name: False) is None
