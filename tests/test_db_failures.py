"""Fail-closed paths of the database commands found in review: each one a refusal with exit 2,
audited where the runner had already started, and never a traceback or a password fragment."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from runner_helpers import mig, runner_ctx

from guard.cli import cli
from guard.db.connect import connect, describe_target, redact
from guard.db.history import read_audit
from guard.db.runner import migrate, rollback
from guard.errors import ConfigError, InputError

pytestmark = pytest.mark.db

MIGRATIONS = {
    "1_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
    "1_users.down.sql": "DROP TABLE users;\n",
    "2_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    "2_email.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
}
THREE = [
    mig("1", "CREATE TABLE a (id int);", "DROP TABLE a;"),
    mig("2", "CREATE TABLE b (id int);", "DROP TABLE b;"),
    mig("3", "CREATE TABLE c (id int);", "DROP TABLE c;"),
]


def _marked(url: str, env: str = "dev") -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bk_env_marker (id integer PRIMARY KEY CHECK (id = 1),"
            " env text NOT NULL CHECK (env IN ('dev', 'prod')))"
        )
        conn.execute("INSERT INTO bk_env_marker VALUES (1, %s)", (env,))
    return url


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, text in MIGRATIONS.items():
        (folder / name).write_text(text)
    return folder


def _invoke(
    args: list[str], url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[int, str, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    for var in ("CONFIRM_PROD_MIGRATE", "NODE_ENV", "VERCEL_ENV"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def limited_url(fresh_db: str) -> str:
    """A login role that may read the marker but not the runner's history schema."""
    role = "lim_" + uuid.uuid4().hex[:8]
    _marked(fresh_db)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT SELECT ON bk_env_marker TO "{role}"')
        conn.execute("CREATE SCHEMA migration_guard")  # exists, but the role has no USAGE on it
        conn.execute(f'REVOKE CREATE ON SCHEMA public FROM "{role}", PUBLIC')
    params = psycopg.conninfo.conninfo_to_dict(fresh_db)
    params["user"] = role
    return psycopg.conninfo.make_conninfo(**params)


@pytest.mark.parametrize("command", ["status", "plan", "migrate"])
def test_a_privilege_error_after_the_gates_is_exit_2_without_traceback(
    command: str, limited_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path)
    code, out, err = _invoke([command, str(folder), "--env", "dev"], limited_url, monkeypatch, tmp_path)
    assert code == 2, (out, err)
    assert "permission denied for schema migration_guard" in err
    assert "hint:" in err and "Traceback" not in err + out


def test_a_password_with_an_unencoded_at_sign_never_shows_a_fragment() -> None:
    url = "postgresql://deploy:s3cr@tTail9@db.invalid:5432/app"
    assert "tTail9" not in describe_target(url)
    assert "tTail9" not in redact(f"could not connect: {url}") and "s3cr" not in redact(url)
    with pytest.raises(ConfigError) as err:
        connect(url)
    assert "%40" in str(err.value)
    assert "tTail9" not in str(err.value) and "s3cr" not in str(err.value)


def test_a_password_with_an_unencoded_at_sign_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql://deploy:s3cr@tTail9@db.invalid:5432/app"
    code, out, err = _invoke(["safety", str(_folder(tmp_path)), "--env", "dev"], url, monkeypatch, tmp_path)
    assert code == 2
    assert "tTail9" not in out + err and "s3cr" not in out + err


def test_rollback_to_an_unknown_version_refuses_and_is_audited(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, THREE)
        # `2024x` sorts below every version here: "undo everything above it" is only a typo's outcome.
        with pytest.raises(InputError, match="rollback --to 2024x: no applied migration"):
            rollback(ctx, THREE, to="2024x")
        assert ctx.conn.execute("SELECT count(*) FROM migration_guard.history").fetchone() == (3,)
        entry = read_audit(ctx.conn, "migration_guard")[0]
        assert (entry.action, entry.outcome) == ("rollback", "refused")
        rollback(ctx, THREE, to="1")
        assert ctx.conn.execute("SELECT count(*) FROM migration_guard.history").fetchone() == (1,)
        rollback(ctx, THREE, to="0")
        assert ctx.conn.execute("SELECT count(*) FROM migration_guard.history").fetchone() == (0,)


def test_migrate_to_an_unknown_version_is_an_audited_refusal(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        with pytest.raises(InputError, match="--to 9: no migration has this version"):
            migrate(ctx, THREE, to="9")
        entry = read_audit(ctx.conn, "migration_guard")[0]
        assert (entry.action, entry.outcome) == ("migrate", "refused")
        assert entry.error is not None and "--to 9" in entry.error


def test_exec_hands_the_checked_database_url_to_the_command(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --database-url, the child would otherwise migrate whatever its own environment names."""
    url = _marked(fresh_db)
    folder = _folder(tmp_path)
    seen = tmp_path / "seen.txt"
    # The child stands in for golang-migrate: it must leave its history table in the checked database.
    child = (
        f"import os, pathlib, psycopg; pathlib.Path({str(seen)!r}).write_text(os.environ['DATABASE_URL']); "
        "psycopg.connect(os.environ['DATABASE_URL'], autocommit=True).execute("
        "'CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)')"
    )
    other = "postgresql://someone@elsewhere.invalid/other"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", other)
    for var in ("CONFIRM_PROD_MIGRATE", "NODE_ENV", "VERCEL_ENV"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(
        cli,
        [
            "exec",
            "--migrations",
            str(folder),
            "--env",
            "dev",
            "--database-url",
            url,
            "--",
            sys.executable,
            "-c",
            child,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    assert seen.read_text() == url


def test_a_run_refused_by_a_busy_lock_is_audited(fresh_db: str) -> None:
    import dataclasses

    from runner_helpers import FAST

    from guard.db.locks import lock_key
    from guard.errors import LockBusyError

    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, THREE[:1])  # the audit table exists from here on
    other = psycopg.connect(fresh_db, autocommit=True, application_name="deploy-42")
    try:
        other.execute("SELECT pg_advisory_lock(%s)", (lock_key("migration_guard", "runner"),))
        settings = dataclasses.replace(FAST, runner_lock_wait_seconds=0.2)
        with runner_ctx(fresh_db, settings) as ctx:
            with pytest.raises(LockBusyError):
                migrate(ctx, THREE)
            entry = read_audit(ctx.conn, "migration_guard")[0]
    finally:
        other.close()
    assert (entry.action, entry.outcome) == ("migrate", "refused")
    assert entry.error is not None and "deploy-42" in entry.error


def test_db_migrate_prod_never_falls_back_to_a_run_that_applies_nothing(tmp_path: Path) -> None:
    """A runner that cannot start used to make the script run only `safety` + `lint` and exit 0."""
    import subprocess

    fake = tmp_path / "fake-guard"
    # A migration-guard whose `migrate` is broken (an install problem) but whose gates pass.
    fake.write_text('#!/bin/sh\ncase "$1" in migrate) exit 3 ;; *) exit 0 ;; esac\n')
    fake.chmod(0o755)
    scripts = Path(__file__).resolve().parent.parent / "scripts"
    env = {"PATH": "/usr/bin:/bin", "MIGRATION_GUARD": str(fake), "CONFIRM_PROD_MIGRATE": "YES"}
    env["DATABASE_URL"] = "postgresql://deploy@db.invalid/app"
    proc = subprocess.run(
        [str(scripts / "db-migrate-prod")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 3, proc.stderr


def test_connection_hints_name_the_setting_the_url_came_from() -> None:
    from guard.errors import DatabaseError

    url = "postgresql://verify:pw@127.0.0.1:1/postgres"
    with pytest.raises(DatabaseError) as err:
        connect(url, source="--shadow-url", connect_timeout=2)
    assert err.value.hint is not None and "--shadow-url" in err.value.hint
    assert "DATABASE_URL" not in err.value.hint
