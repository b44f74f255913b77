"""Production targets are named by DATABASE_URL from the process environment, and every banner and marker
check names the database actually connected (`conn.info`), never libpq defaults filled in unseen."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from psycopg.conninfo import conninfo_to_dict

from guard.cli import cli
from guard.config import Settings
from guard.db.connect import connect
from guard.db.marker import init_marker

pytestmark = pytest.mark.db

REPO = Path(__file__).resolve().parent.parent
GUARD_BIN = REPO / ".venv" / "bin" / "migration-guard"


@pytest.fixture
def project(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> Iterator[Path]:
    clean_env.chdir(tmp_path)
    yield tmp_path


def _mark(url: str, env: str) -> None:
    with connect(url) as conn:
        init_marker(conn, Settings(), env, prod_unlocked=True)


def run(args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, args, env=env)


def _pg_env(url: str) -> dict[str, str]:
    """PGHOST (the socket directory), PGPORT, PGDATABASE, PGUSER that reach `url`'s database."""
    params = conninfo_to_dict(url)
    env = {"PGHOST": str(params["host"]), "PGDATABASE": str(params["dbname"])}
    if params.get("port"):
        env["PGPORT"] = str(params["port"])
    env["PGUSER"] = str(params.get("user") or "postgres")
    return env


@pytest.mark.parametrize("command", [["safety"], ["status"], ["migrate"], ["plan"], ["rollback"]])
def test_prod_refuses_database_url_from_a_dotenv_file(
    command: list[str], fresh_db: str, project: Path
) -> None:
    _mark(fresh_db, "prod")
    (project / ".env.local").write_text(f"DATABASE_URL={fresh_db}\n")
    (project / "migrations").mkdir()
    result = run([*command, "--env", "prod"], {"CONFIRM_PROD_MIGRATE": "YES"})
    assert result.exit_code == 2, result.output
    assert "DATABASE_URL must come from the process environment" in result.stderr
    assert "it came from .env.local" in result.stderr
    assert "production target" not in result.stderr  # refused before connecting


def test_prod_refuses_database_url_flag(fresh_db: str, project: Path) -> None:
    _mark(fresh_db, "prod")
    result = run(["safety", "--env", "prod", "--database-url", fresh_db], {"CONFIRM_PROD_MIGRATE": "YES"})
    assert result.exit_code == 2, result.output
    assert "it came from the --database-url flag" in result.stderr


def test_dev_still_reads_database_url_from_dotenv(fresh_db: str, project: Path) -> None:
    _mark(fresh_db, "dev")
    (project / ".env.local").write_text(f"DATABASE_URL={fresh_db}\n")
    result = run(["safety"], {})
    assert result.exit_code == 0, result.output


def test_prod_refuses_an_empty_url_that_pg_variables_would_fill(fresh_db: str, project: Path) -> None:
    """Issue 16 #10: `postgresql://` + PGHOST/PGDATABASE passed the lock and printed dbname=(default)."""
    _mark(fresh_db, "prod")
    env = {"DATABASE_URL": "postgresql://", "CONFIRM_PROD_MIGRATE": "YES", **_pg_env(fresh_db)}
    for command in (["safety"], ["migrate", "--dry-run"], ["status"]):
        result = run([*command, "--env", "prod"], env)
        assert result.exit_code == 2, (command, result.output)
        assert "DATABASE_URL must name the target itself; it does not name the host or the database" in (
            result.stderr
        )
        assert "PGHOST" in result.stderr and "PGDATABASE" in result.stderr


def test_prod_refuses_a_url_whose_port_pgport_would_fill(fresh_db: str, project: Path) -> None:
    _mark(fresh_db, "prod")
    params = conninfo_to_dict(fresh_db)
    url = f"postgresql://{params.get('user') or 'postgres'}@/{params['dbname']}?host={params['host']}"
    env = {"DATABASE_URL": url, "CONFIRM_PROD_MIGRATE": "YES", "PGPORT": str(params.get("port") or 5432)}
    result = run(["safety", "--env", "prod"], env)
    assert result.exit_code == 2, result.output
    assert "which PGPORT would fill in" in result.stderr
    spelled = url + f"&port={params.get('port') or 5432}"
    result = run(["safety", "--env", "prod"], {**env, "DATABASE_URL": spelled})
    assert result.exit_code == 0, result.output


def test_prod_refuses_a_missing_url_even_with_pg_variables(fresh_db: str, project: Path) -> None:
    _mark(fresh_db, "prod")
    result = run(["status", "--env", "prod"], _pg_env(fresh_db))
    assert result.exit_code == 2, result.output
    assert "DATABASE_URL is not set in the process environment (PGHOST, " in result.stderr
    assert "never used to find production" in result.stderr


def test_dev_names_the_database_libpq_reached(fresh_db: str, project: Path) -> None:
    """Issue 12: `postgresql://` with PGHOST (a socket directory) and PGUSER printed host=localhost user=(default)."""
    _mark(fresh_db, "dev")
    pg = _pg_env(fresh_db)
    result = run(["safety"], {"DATABASE_URL": "postgresql://", **pg})
    assert result.exit_code == 0, result.output
    assert f"host={pg['PGHOST']} (unix socket)" in result.stdout
    assert f"dbname={pg['PGDATABASE']} user={pg['PGUSER']}" in result.stdout
    assert "(default)" not in result.stdout
    shown = run(["marker", "show"], {"DATABASE_URL": "postgresql://", **pg})
    assert shown.exit_code == 0 and f"dbname={pg['PGDATABASE']}" in shown.stdout


def test_marker_mismatch_names_the_database_connected(fresh_db: str, project: Path) -> None:
    _mark(fresh_db, "dev")
    pg = _pg_env(fresh_db)
    result = run(["safety", "--env", "prod"], {"DATABASE_URL": fresh_db, "CONFIRM_PROD_MIGRATE": "YES"})
    assert result.exit_code == 2, result.output
    assert "mismatch" in result.stderr
    assert f"on host={pg['PGHOST']} (unix socket) port=" in result.stderr
    assert f"dbname={pg['PGDATABASE']} user={pg['PGUSER']}" in result.stderr
    assert "(as connected)" in result.stderr  # the banner, printed once connected


def test_doctor_reports_prod_url_from_dotenv(fresh_db: str, project: Path) -> None:
    (project / ".env.local").write_text(f"DATABASE_URL={fresh_db}\n")
    result = run(["doctor", "--env", "prod"], {})
    assert result.exit_code == 1
    assert "DATABASE_URL must come from the process environment" in result.stdout


@pytest.mark.skipif(not GUARD_BIN.exists(), reason="needs .venv/bin/migration-guard")
def test_script_and_cli_agree_on_dotenv_database_url(fresh_db: str, project: Path) -> None:
    _mark(fresh_db, "prod")
    (project / ".env.local").write_text(f"DATABASE_URL={fresh_db}\n")
    env = {"PATH": "/usr/bin:/bin", "CONFIRM_PROD_MIGRATE": "YES", "MIGRATION_GUARD": str(GUARD_BIN)}
    script = subprocess.run(
        [str(REPO / "scripts" / "db-migrate-prod"), "migrations"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    cli_run = subprocess.run(
        [str(GUARD_BIN), "migrate", "--env", "prod", "migrations"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert script.returncode == 2 and cli_run.returncode == 2, (script.stderr, cli_run.stderr)
    assert "must come from the process environment" in script.stderr + cli_run.stderr
    assert "must come from the process environment" in cli_run.stderr
