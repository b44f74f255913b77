"""The gates end to end on a real Postgres: order, accepted paths, refusals with exit code 2, scripts."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from psycopg.conninfo import conninfo_to_dict

from guard.cli import cli
from guard.config import Settings
from guard.db.connect import connect
from guard.db.marker import init_marker
from guard.errors import SafetyError
from guard.gates import open_gated_connection, resolve_runtime

pytestmark = pytest.mark.db

REPO = Path(__file__).resolve().parent.parent
GUARD_BIN = REPO / ".venv" / "bin" / "migration-guard"


def _mark(url: str, env: str) -> None:
    with connect(url) as conn:
        init_marker(conn, Settings(), env, prod_unlocked=True)


@pytest.fixture
def project(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty project folder as cwd, with none of the gate variables set."""
    clean_env.chdir(tmp_path)
    yield tmp_path


def run(args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def _backends(url: str) -> int:
    """How many sessions of ours are connected to this database."""
    dbname = conninfo_dbname(url)
    with connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = 'migration-guard'"
            " AND pid <> pg_backend_pid()",
            (dbname,),
        ).fetchone()
    return int(row[0]) if row else 0


def conninfo_dbname(url: str) -> str:
    return str(conninfo_to_dict(url)["dbname"])


# --- library: open_gated_connection ------------------------------------------------------------


def test_gated_connection_is_open_autocommit_and_usable(any_db: str, project: Path) -> None:
    _mark(any_db, "dev")
    runtime = resolve_runtime(Settings(), {"DATABASE_URL": any_db}, project)
    lines: list[str] = []
    conn = open_gated_connection(Settings(), runtime, mutating=True, out=lines.append)
    try:
        assert conn.autocommit
        assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        conn.close()
    assert lines == []  # no production banner for dev


def test_refusal_leaves_no_connection_open(fresh_db: str, project: Path) -> None:
    _mark(fresh_db, "dev")
    runtime = resolve_runtime(Settings(), {"DATABASE_URL": fresh_db}, project, env_flag="prod")
    with pytest.raises(SafetyError, match="mismatch"):
        open_gated_connection(Settings(), runtime, mutating=False, out=lambda _: None)
    assert _backends(fresh_db) == 0


def test_prod_banner_names_target_as_connected_and_sources(fresh_db: str, project: Path) -> None:
    _mark(fresh_db, "prod")
    runtime = resolve_runtime(
        Settings(),
        {"VERCEL_ENV": "production", "CONFIRM_PROD_MIGRATE": "YES", "DATABASE_URL": fresh_db},
        project,
    )
    lines: list[str] = []
    conn = open_gated_connection(Settings(), runtime, mutating=True, out=lines.append)
    host, port, user = conn.info.host, conn.info.port, conn.info.user
    conn.close()
    params = conninfo_to_dict(fresh_db)
    assert host == params["host"] and host.startswith("/")  # pgserver: a socket directory
    assert lines == [
        f"production target: host={host} (unix socket) port={port} dbname={params['dbname']} "
        f"user={user} (as connected)",
        "  DATABASE_URL from process environment",
        "  expected environment 'prod' from VERCEL_ENV=production (process environment)",
        "  CONFIRM_PROD_MIGRATE: set in the process environment",
    ]


# --- CLI: safety ----------------------------------------------------------------------------------


def test_safety_dev_accepts(any_db: str, project: Path) -> None:
    _mark(any_db, "dev")
    result = run(["safety"], {"DATABASE_URL": any_db})
    assert result.exit_code == 0, result.output
    assert "says 'dev' as expected (from NODE_ENV unset (default dev))" in result.stdout


def test_safety_prod_accepts_with_lock(any_db: str, project: Path) -> None:
    _mark(any_db, "prod")
    result = run(
        ["safety", "--env", "prod", "--format", "json"],
        {"DATABASE_URL": any_db, "CONFIRM_PROD_MIGRATE": "YES"},
    )
    assert result.exit_code == 0, result.output
    assert '"marker_env": "prod"' in result.stdout and '"hard_lock": "open"' in result.stdout
    assert "production target:" in result.stderr


@pytest.mark.parametrize(
    ("marker", "env", "args", "message"),
    [
        (None, {}, [], "environment marker check failed: the table does not exist"),
        ("prod", {}, [], "environment marker mismatch: public.bk_env_marker says 'prod'; expected env 'dev'"),
        (
            "dev",
            {"NODE_ENV": "production", "CONFIRM_PROD_MIGRATE": "YES"},
            [],
            "says 'dev'; expected env 'prod' (from NODE_ENV=production",
        ),
        (
            "dev",
            {"VERCEL_ENV": "production", "CONFIRM_PROD_MIGRATE": "YES"},
            [],
            "from VERCEL_ENV=production (process environment)",
        ),
        ("prod", {}, ["--env", "prod"], "production hard lock is closed: CONFIRM_PROD_MIGRATE is not set"),
        ("prod", {"CONFIRM_PROD_MIGRATE": "yes"}, ["--expect", "prod"], "is 'yes', not exactly 'YES'"),
        # Hard lock first: with no lock AND no marker, the lock is what refuses.
        (None, {}, ["--env", "prod"], "production hard lock is closed"),
    ],
)
def test_safety_refusals_exit_2(
    fresh_db: str, project: Path, marker: str | None, env: dict[str, str], args: list[str], message: str
) -> None:
    if marker:
        _mark(fresh_db, marker)
    result = run(["safety", *args], {"DATABASE_URL": fresh_db, **env})
    assert result.exit_code == 2, result.output
    assert "migration-guard: error: " in result.stderr
    assert message in result.stderr
    assert "hint: " in result.stderr
    assert "Traceback" not in result.output


def test_safety_dotenv_lock_is_refused(fresh_db: str, project: Path) -> None:
    _mark(fresh_db, "prod")
    (project / ".env.local").write_text(f"CONFIRM_PROD_MIGRATE=YES\nDATABASE_URL={fresh_db}\n")
    result = run(["safety", "--env", "prod"], {})
    assert result.exit_code == 2
    assert (
        "set only in a dotenv file (.env/.env.local), and a lock saved in a file is no lock" in result.stderr
    )


def test_safety_without_database_url(project: Path) -> None:
    result = run(["safety"], {})
    assert result.exit_code == 2
    assert "DATABASE_URL is not set" in result.stderr


def test_safety_unreachable(project: Path) -> None:
    result = run(["safety"], {"DATABASE_URL": "postgresql://deploy:pw@127.0.0.1:1/app"})
    assert result.exit_code == 2
    assert (
        "cannot connect to host=127.0.0.1 port=1 dbname=app user=deploy: the server is unreachable"
        in result.stderr
    )


# --- CLI: marker init / show --------------------------------------------------------------------


def test_marker_init_and_show(any_db: str, project: Path) -> None:
    env = {"DATABASE_URL": any_db}
    assert run(["marker", "show"], env).exit_code == 2
    first = run(["marker", "init", "--env", "dev"], env)
    assert first.exit_code == 0 and first.stdout.startswith("created public.bk_env_marker = 'dev'")
    again = run(["marker", "init", "--env", "dev"], env)
    assert again.exit_code == 0 and "nothing to do" in again.stdout
    shown = run(["marker", "show"], env)
    assert shown.exit_code == 0 and shown.stdout.startswith("public.bk_env_marker = 'dev' on host=")
    change = run(["marker", "init", "--env", "prod", "--allow-prod"], {**env, "CONFIRM_PROD_MIGRATE": "YES"})
    assert change.exit_code == 2 and "pass --force" in change.stderr
    forced = run(
        ["marker", "init", "--env", "prod", "--allow-prod", "--force"], {**env, "CONFIRM_PROD_MIGRATE": "YES"}
    )
    assert forced.exit_code == 0 and "changed public.bk_env_marker from 'dev' to 'prod'" in forced.stdout
    back = run(["marker", "init", "--env", "dev", "--force"], env)
    assert back.exit_code == 2 and "without the production hard lock" in back.stderr


def test_marker_init_prod_refusals(fresh_db: str, project: Path) -> None:
    env = {"DATABASE_URL": fresh_db}
    no_flag = run(["marker", "init", "--env", "prod"], {**env, "CONFIRM_PROD_MIGRATE": "YES"})
    assert no_flag.exit_code == 2 and "without --allow-prod" in no_flag.stderr
    no_lock = run(["marker", "init", "--env", "prod", "--allow-prod"], env)
    assert no_lock.exit_code == 2 and "production hard lock is closed" in no_lock.stderr
    assert "refusing to mark a database as prod" in no_lock.stderr
    with connect(fresh_db) as conn:
        assert conn.execute("SELECT to_regclass('bk_env_marker')").fetchone() == (None,)
    ok = run(["marker", "init", "--env", "prod", "--allow-prod"], {**env, "CONFIRM_PROD_MIGRATE": "YES"})
    assert ok.exit_code == 0 and "production target:" in ok.stderr


# --- scripts ------------------------------------------------------------------------------------


def _script(name: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CONFIRM_PROD_MIGRATE", "NODE_ENV", "VERCEL_ENV")
    }
    base["MIGRATION_GUARD"] = str(GUARD_BIN)
    return subprocess.run(
        [str(REPO / "scripts" / name)],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(not GUARD_BIN.exists(), reason="needs .venv/bin/migration-guard")
def test_scripts(fresh_db: str, project: Path) -> None:
    _mark(fresh_db, "dev")
    assert _script("db-safety-dev", project, DATABASE_URL=fresh_db).returncode == 0
    prod = _script("db-safety-prod", project, DATABASE_URL=fresh_db, CONFIRM_PROD_MIGRATE="YES")
    assert prod.returncode == 2 and "mismatch" in prod.stderr
    (project / ".env").write_text("CONFIRM_PROD_MIGRATE=YES\n")
    migrate = _script("db-migrate-prod", project, DATABASE_URL=fresh_db)
    assert migrate.returncode == 2
    assert "a lock saved in a file is no lock" in migrate.stderr
    assert "db-migrate-prod: refusing" in migrate.stderr
    migrate = _script("db-migrate-prod", project, DATABASE_URL=fresh_db, CONFIRM_PROD_MIGRATE="YES")
    assert migrate.returncode == 2 and "says 'dev'; expected env 'prod'" in migrate.stderr


def test_connection_string_errors_are_config_errors(project: Path) -> None:
    result = run(["safety"], {"DATABASE_URL": "postgresql://u:pw@h/db?schema=public"})
    assert result.exit_code == 2
    assert (
        'DATABASE_URL is not a valid connection URL: invalid URI query parameter: "schema"' in result.stderr
    )
    assert isinstance(psycopg.__version__, str)
