"""Signals and a lost runner lock on a real Postgres: SIGINT/SIGTERM exit 130/143 (never 1, which
means findings) with the running statement cancelled and the outcome audited; losing the runner
lock's connection names the lost lock, where the run stopped, and is audited on a fresh connection."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from conftest import PgServer
from runner_helpers import FAST, history_versions, mig, runner_ctx, scalar

from guard.config import Settings
from guard.db.history import read_audit
from guard.db.marker import init_marker
from guard.db.runner import LockLost, migrate

pytestmark = pytest.mark.db

GUARD = [sys.executable, "-m", "guard"]


def _wait_for(url: str, needle: str, timeout: float = 30) -> int:
    """Pid of the backend running a query containing `needle`, once it runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s"
                " AND pid <> pg_backend_pid()",
                (f"%{needle}%",),
            ).fetchone()
        if row:
            return int(row[0])
        time.sleep(0.1)
    raise AssertionError(f"no backend ran {needle!r} within {timeout}s")


def _start(args: list[str], url: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CONFIRM_PROD_MIGRATE", "NODE_ENV", "VERCEL_ENV")}
    env["DATABASE_URL"] = url
    return subprocess.Popen(
        [*GUARD, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_migrate_exits_128_plus_n_and_is_audited(
    fresh_db: str, tmp_path: Path, signum: int, code: int
) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        init_marker(conn, Settings(), "dev")
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_a.up.sql").write_text("CREATE TABLE a (id int);\n")
    (folder / "1_a.down.sql").write_text("DROP TABLE a;\n")
    (folder / "2_slow.up.sql").write_text("CREATE TABLE b (id int);\nSELECT pg_sleep(30);\n")
    (folder / "2_slow.down.sql").write_text("DROP TABLE b;\n")
    proc = _start(["migrate", str(folder), "--env", "dev"], fresh_db, tmp_path)
    try:
        pid = _wait_for(fresh_db, "pg_sleep(30)")
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    name = signal.Signals(signum).name
    assert f"interrupted by {name}" in err and "Traceback" not in err and "Aborted" not in err
    # The run's own lines (text format) are on stdout, as each migration was.
    assert "stopped during 2_slow after 1 of 2 migration(s) completed" in out
    # The statement was cancelled, not left running, and nothing of 2_slow remains.
    assert scalar(fresh_db, f"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}") == 0
    assert history_versions(fresh_db) == ["1"]
    assert scalar(fresh_db, "SELECT to_regclass('b')") is None
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        last = read_audit(conn, "migration_guard")[0]
    assert last.outcome == "interrupted" and last.attempted == ["1_a", "2_slow"]
    assert f"interrupted by {name} during 2_slow" in (last.error or "")


def test_an_interrupted_dry_run_says_nothing_was_applied(fresh_db: str, tmp_path: Path) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        init_marker(conn, Settings(), "dev")
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_a.up.sql").write_text("CREATE TABLE a (id int);\n")
    (folder / "1_a.down.sql").write_text("DROP TABLE a;\n")
    (folder / "2_slow.up.sql").write_text("CREATE TABLE b (id int);\nSELECT pg_sleep(30);\n")
    (folder / "2_slow.down.sql").write_text("DROP TABLE b;\n")
    proc = _start(["migrate", str(folder), "--env", "dev", "--dry-run"], fresh_db, tmp_path)
    try:
        _wait_for(fresh_db, "pg_sleep(30)")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "dry run stopped; nothing was applied" in out + err and "Traceback" not in err
    assert "migration(s) completed" not in out + err
    assert scalar(fresh_db, "SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b')") == 0


def test_sigterm_during_verify_exits_143_and_drops_the_throwaway_database(
    pg_server: PgServer, tmp_path: Path
) -> None:
    from guard.db.shadow import DATABASE_PREFIX

    folder = tmp_path / "migrations"
    (folder / "1_slow").mkdir(parents=True)
    (folder / "1_slow" / "up.sql").write_text("CREATE TABLE s (id int);\nSELECT pg_sleep(30);\n")
    (folder / "1_slow" / "down.sql").write_text("DROP TABLE s;\n")
    args = [
        "verify",
        str(folder),
        "--layout",
        "hasura",
        "--shadow",
        "url",
        "--shadow-url",
        pg_server.admin_url,
    ]
    proc = _start(args, pg_server.admin_url, tmp_path)
    try:
        _wait_for(pg_server.admin_url, "pg_sleep(30)")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert "interrupted by SIGTERM" in err and "Traceback" not in err
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (DATABASE_PREFIX + "%",))
        assert left.fetchall() == []


def test_lost_runner_lock_names_it_and_audits_the_outcome(fresh_db: str) -> None:
    slow = [
        mig("1", "CREATE TABLE a (id int); SELECT pg_sleep(1.5)"),
        mig("2", "CREATE TABLE b (id int)"),
    ]
    with runner_ctx(fresh_db, FAST) as ctx:
        lock_pid = ctx.lock_conn.info.backend_pid

        def kill_lock() -> None:
            _wait_for(fresh_db, "pg_sleep(1.5)")
            with psycopg.connect(fresh_db, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (lock_pid,))

        killer = threading.Thread(target=kill_lock)
        killer.start()
        with pytest.raises(LockLost) as info:
            migrate(ctx, slow)
        killer.join()
    message = info.value.message
    assert message.startswith("lost the runner lock: its connection closed")
    assert "stopped before 2_m2, after 1 of 2 migration(s) applied" in message
    assert "could not write the audit row" not in message and "\n" not in message
    assert history_versions(fresh_db) == ["1"]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        last = read_audit(conn, "migration_guard")[0]
    assert last.outcome == "failed" and "lost the runner lock" in (last.error or "")
    assert last.attempted == ["1_m1", "2_m2"]
