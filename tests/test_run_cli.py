"""The runner commands end to end through click, against a real Postgres and real layouts on disk."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from runner_helpers import history_versions, scalar

from guard.cli import cli

pytestmark = pytest.mark.db


def _marked(url: str, env: str = "dev") -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bk_env_marker (id integer PRIMARY KEY CHECK (id = 1),"
            " env text NOT NULL CHECK (env IN ('dev', 'prod')))"
        )
        conn.execute("INSERT INTO bk_env_marker VALUES (1, %s)", (env,))
    return url


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


LAYOUTS = {
    "golang-migrate": {
        "1_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        "1_users.down.sql": "DROP TABLE users;\n",
        "2_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n",
        "2_email.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
    },
    "dbmate": {
        "20240101000000_users.sql": "-- migrate:up\nCREATE TABLE users (id bigint PRIMARY KEY);\n\n"
        "-- migrate:down\nDROP TABLE users;\n",
        "20240102000000_email.sql": "-- migrate:up transaction:false\nALTER TABLE users ADD COLUMN email text;\n\n"
        "-- migrate:down\nALTER TABLE users DROP COLUMN email;\n",
    },
    "hasura": {
        "1700000000000_users/up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        "1700000000000_users/down.sql": "DROP TABLE users;\n",
        "1700000000001_email/up.sql": "ALTER TABLE users ADD COLUMN email text;\n",
        "1700000000001_email/down.sql": "ALTER TABLE users DROP COLUMN email;\n",
    },
    "flyway": {
        "V1__users.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        "U1__users.sql": "DROP TABLE users;\n",
        "V2__email.sql": "ALTER TABLE users ADD COLUMN email text;\n",
        "U2__email.sql": "ALTER TABLE users DROP COLUMN email;\n",
    },
    "drizzle": {
        "0000_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        "0000_users.down.sql": "DROP TABLE users;\n",
        "0001_email.sql": "ALTER TABLE users ADD COLUMN email text;\n--> statement-breakpoint\n"
        "ALTER TABLE users ADD COLUMN phone text;\n",
        "0001_email.down.sql": "ALTER TABLE users DROP COLUMN phone;\n--> statement-breakpoint\n"
        "ALTER TABLE users DROP COLUMN email;\n",
        "meta/_journal.json": json.dumps(
            {
                "version": "7",
                "dialect": "postgresql",
                "entries": [
                    {"idx": i, "version": "7", "when": 1717000000000 + i, "tag": tag, "breakpoints": True}
                    for i, tag in enumerate(("0000_users", "0001_email"))
                ],
            }
        ),
    },
    "prisma": {
        "20240101000000_users/migration.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        "20240101000000_users/down.sql": "DROP TABLE users;\n",
        "20240102000000_email/migration.sql": "ALTER TABLE users ADD COLUMN email text;\n",
        "20240102000000_email/down.sql": "ALTER TABLE users DROP COLUMN email;\n",
    },
}


def _invoke(
    args: list[str], url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[int, str, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    for var in ("CONFIRM_PROD_MIGRATE", "NODE_ENV", "VERCEL_ENV"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_round_trips(
    layout: str, fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _marked(fresh_db)
    folder = _write(tmp_path / "migrations", LAYOUTS[layout])
    args = [str(folder), "--layout", layout, "--env", "dev"]
    code, out, err = _invoke(["migrate", *args], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert out.count("  applied ") == 2 and "\n2 applied in " in out
    assert scalar(url, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'email'") == 1
    code, out, _ = _invoke(["status", *args, "--format", "json"], url, monkeypatch, tmp_path)
    doc = json.loads(out)
    assert code == 0 and len(doc["applied"]) == 2 and doc["pending"] == []
    code, _, err = _invoke(["rollback", *args, "--steps", "2"], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert scalar(url, "SELECT to_regclass('users')") is None
    assert history_versions(url) == []


def test_dbmate_transaction_false_runs_outside_a_transaction(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _marked(fresh_db)
    folder = _write(tmp_path / "db", LAYOUTS["dbmate"])
    code, out, err = _invoke(
        ["migrate", str(folder), "--layout", "dbmate", "--env", "dev", "--format", "json"],
        url,
        monkeypatch,
        tmp_path,
    )
    assert code == 0, err
    outcomes = json.loads(out)["outcomes"]
    assert [o["transactional"] for o in outcomes] == [True, False]


def test_wrong_marker_refuses_before_touching_the_database(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _marked(fresh_db, "prod")
    folder = _write(tmp_path / "migrations", LAYOUTS["golang-migrate"])
    code, _, err = _invoke(["migrate", str(folder), "--env", "dev"], url, monkeypatch, tmp_path)
    assert code == 2 and "error:" in err
    assert scalar(url, "SELECT to_regnamespace('migration_guard')") is None


def test_prod_migrate_needs_the_hard_lock(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _marked(fresh_db, "prod")
    folder = _write(tmp_path / "migrations", LAYOUTS["golang-migrate"])
    code, _, err = _invoke(["migrate", str(folder), "--env", "prod"], url, monkeypatch, tmp_path)
    assert code == 2 and "CONFIRM_PROD_MIGRATE" in err
    assert scalar(url, "SELECT to_regclass('users')") is None
    # A dry run on prod without the lock is refused when it would take ACCESS EXCLUSIVE locks.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id bigint PRIMARY KEY)")
    code, _, err = _invoke(["migrate", str(folder), "--env", "prod", "--dry-run"], url, monkeypatch, tmp_path)
    assert code == 2 and "ACCESS EXCLUSIVE" in err, err
    monkeypatch.setenv("CONFIRM_PROD_MIGRATE", "YES")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["migrate", str(folder), "--env", "prod", "--dry-run"])
    assert result.exit_code == 1  # 1_users fails in the dry run: the table exists already
    assert "lock ACCESS EXCLUSIVE on public.users" in result.stdout


LINT_FAILS = {
    **LAYOUTS["golang-migrate"],
    "3_drop.up.sql": "ALTER TABLE users DROP COLUMN email;\n",
    "3_drop.down.sql": "ALTER TABLE users ADD COLUMN email text;\n",
}


def test_lint_errors_refuse_with_exit_1_in_prod(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _marked(fresh_db, "prod")
    folder = _write(tmp_path / "migrations", LINT_FAILS)
    monkeypatch.setenv("CONFIRM_PROD_MIGRATE", "YES")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    result = CliRunner().invoke(cli, ["migrate", str(folder), "--env", "prod"])
    assert result.exit_code == 1, result.stderr
    assert "nothing was applied" in result.stderr
    assert scalar(url, "SELECT to_regclass('users')") is None
    result = CliRunner().invoke(cli, ["plan", str(folder), "--env", "prod", "--format", "json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["pending"] == ["1_users", "2_email", "3_drop"]


def test_lint_errors_are_warnings_on_dev_and_migrate_goes_on(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _marked(fresh_db)
    folder = _write(tmp_path / "migrations", LINT_FAILS)
    code, out, _ = _invoke(
        ["plan", str(folder), "--env", "dev", "--format", "json"], url, monkeypatch, tmp_path
    )
    assert code == 0 and any(
        n.startswith("warning: lint found 1 problem(s)") for n in json.loads(out)["notes"]
    )
    code, out, err = _invoke(["migrate", str(folder), "--env", "dev"], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert "avoid-drop-column" in err  # the findings themselves are printed
    # The warning is part of the text report (stdout), printed once, before the migrations run.
    assert out.count("warning: lint found 1 problem(s) at the fail level") == 1
    assert out.index("refuses only in prod (lint_gate_envs) and this is dev: going on") < out.index(
        "applying"
    )
    assert history_versions(url) == ["1", "2", "3"]


def test_lint_gate_envs_makes_dev_refuse(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _marked(fresh_db)
    folder = _write(tmp_path / "migrations", LINT_FAILS)
    (tmp_path / "migration-guard.toml").write_text('lint_gate_envs = ["dev", "prod"]\n')
    code, _, err = _invoke(["migrate", str(folder), "--env", "dev"], url, monkeypatch, tmp_path)
    assert code == 1 and "nothing was applied" in err
    assert scalar(url, "SELECT to_regclass('users')") is None


def test_edited_applied_migration_refused_and_status_shows_drift(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _marked(fresh_db)
    folder = _write(tmp_path / "migrations", LAYOUTS["golang-migrate"])
    assert _invoke(["migrate", str(folder), "--env", "dev"], url, monkeypatch, tmp_path)[0] == 0
    (folder / "1_users.up.sql").write_text("CREATE TABLE users (id int PRIMARY KEY);\n")
    code, _, err = _invoke(["migrate", str(folder), "--env", "dev"], url, monkeypatch, tmp_path)
    assert code == 2 and "edited since they ran: 1_users" in err
    code, out, _ = _invoke(["status", str(folder), "--env", "dev"], url, monkeypatch, tmp_path)
    assert code == 0 and "drift    1_users: edited since it was applied" in out


def test_exec_runs_the_gates_then_the_command(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _marked(fresh_db)
    folder = _write(tmp_path / "migrations", LAYOUTS["golang-migrate"])
    cmd = [sys.executable, "-c", "import sys; sys.exit(7)"]
    code, _, err = _invoke(
        ["exec", "--migrations", str(folder), "--env", "dev", "--", *cmd], url, monkeypatch, tmp_path
    )
    assert code == 7, err
    assert "gates passed" in err
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT action, outcome, error FROM migration_guard.audit ORDER BY id").fetchall()
    assert rows == [("exec", "started", None), ("exec", "failed", "exit code 7")]


def test_dry_run_prints_each_outcome_once_then_its_details(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _marked(fresh_db)
    folder = _write(
        tmp_path / "migrations",
        # reading a table may change something (through a view), so `SELECT 1;` is no real down
        {
            **LAYOUTS["golang-migrate"],
            "3_bad.up.sql": "SELECT 1/0 FROM users;\n",
            "3_bad.down.sql": "SELECT 1;\n",
        },
    )
    code, _, err = _invoke(["migrate", str(folder), "--env", "dev", "--to", "1"], url, monkeypatch, tmp_path)
    assert code == 0, err
    code, out, err = _invoke(
        ["migrate", str(folder), "--env", "dev", "--dry-run"], url, monkeypatch, tmp_path
    )
    assert code == 1, err
    warning, *lines = out.splitlines()
    assert warning.startswith("warning: lint found 1 problem(s)")  # 3_bad has no real down
    # The headlines as each migration was tried, then what they did not say, each naming its migration.
    assert re.fullmatch(r"dry-run ok       2_email  \d+ ms", lines[0]), lines
    assert re.fullmatch(r"dry-run failed   3_bad  \d+ ms", lines[1]), lines
    assert re.fullmatch(
        r"  2_email: lock ACCESS EXCLUSIVE on public\.users \(.*\) by line 1, \d+ ms", lines[2]
    )
    assert lines[3] == "  3_bad: error at line 1: division by zero", lines
    assert re.fullmatch(r"1 dry-run ok, 1 dry-run failed in \d+\.\ds", lines[4]) and len(lines) == 5, lines
    # JSON: one document on stdout at the end, the headlines on stderr as they happen.
    code, out, err = _invoke(
        ["migrate", str(folder), "--env", "dev", "--dry-run", "--format", "json"], url, monkeypatch, tmp_path
    )
    doc = json.loads(out)
    assert code == 1 and doc["action"] == "dry-run"
    assert [(o["migration"], o["status"]) for o in doc["outcomes"]] == [
        ("2_email", "dry-run ok"),
        ("3_bad", "dry-run failed"),
    ]
    assert doc["outcomes"][0]["locks"][0]["size_bytes"] > 0  # sizes are read after the rollback, still there
    assert re.search(
        r"^dry-run ok       2_email  \d+ ms\ndry-run failed   3_bad  \d+ ms$", err, flags=re.M
    ), err
    assert history_versions(url) == ["1"]
