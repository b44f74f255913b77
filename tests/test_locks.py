"""Locks against a real Postgres: lock timeouts with retries and the blocker named, the runner lock
(busy, concurrent runners), and runners that die mid-migration (SIGKILL, pg_terminate_backend)."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from runner_helpers import FAST, history_versions, mig, runner_ctx, scalar

from guard.db.locks import lock_key, parse_pg_duration
from guard.db.runner import RunFailed, migrate
from guard.errors import ConfigError, LockBusyError

pytestmark = pytest.mark.db
REPO = Path(__file__).resolve().parent.parent

BASE = [mig("1", "CREATE TABLE a (id int primary key); CREATE TABLE log (m text)", "DROP TABLE a, log")]
ALTER = mig(
    "2", "INSERT INTO log VALUES ('2'); ALTER TABLE a ADD COLUMN note text", "ALTER TABLE a DROP COLUMN note"
)


def test_parse_pg_duration() -> None:
    assert parse_pg_duration("200ms") == pytest.approx(0.2)
    assert parse_pg_duration("5s") == 5.0
    assert parse_pg_duration("15min") == 900.0
    assert parse_pg_duration("1500") == 1.5
    with pytest.raises(ConfigError, match="lock_timeout"):
        parse_pg_duration("five seconds", "lock_timeout")


def _blocker(url: str) -> psycopg.Connection:
    """A session reading table a inside an open transaction (holds ACCESS SHARE until it ends)."""
    conn = psycopg.connect(url, application_name="slow-report")
    conn.execute("SELECT count(*) FROM a")
    return conn


def test_lock_timeout_retries_with_backoff_and_names_the_blocker(fresh_db: str) -> None:
    lines: list[str] = []
    with runner_ctx(fresh_db, lines=lines) as ctx:
        migrate(ctx, BASE)
        blocker = _blocker(fresh_db)
        blocker_pid = blocker.info.backend_pid
        try:
            started = time.monotonic()
            with pytest.raises(RunFailed) as info:
                migrate(ctx, [*BASE, ALTER])
            elapsed = time.monotonic() - started
        finally:
            blocker.close()
    outcome = info.value.report.outcomes[-1]
    assert outcome.attempts == 3  # first try + lock_retries=2
    assert "lock timeout" in info.value.message
    assert {b.pid for b in outcome.blockers} == {blocker_pid}
    b = outcome.blockers[0]
    assert b.application_name == "slow-report" and "SELECT count(*) FROM a" in b.query
    assert b.waiting_for == "AccessExclusiveLock on a" and b.seconds > 0
    retries = [line for line in lines if "retry" in line]
    assert len(retries) == 2 and "blocked by pid" in retries[0] and "slow-report" in retries[0]
    # 3 tries of 200 ms plus backoff 0.05 + 0.1
    assert elapsed >= 0.6
    assert history_versions(fresh_db) == ["1"]
    assert scalar(fresh_db, "SELECT count(*) FROM log") == 0


def test_lock_timeout_then_blocker_goes_away(fresh_db: str) -> None:
    settings = dataclasses.replace(FAST, lock_retry_backoff_seconds=0.4)
    with runner_ctx(fresh_db, settings) as ctx:
        migrate(ctx, BASE)
        blocker = _blocker(fresh_db)
        timer = threading.Timer(0.3, blocker.close)
        timer.start()
        try:
            report = migrate(ctx, [*BASE, ALTER])
        finally:
            timer.join()
    assert report.outcomes[0].status == "applied" and report.outcomes[0].attempts == 2
    assert report.outcomes[0].blockers[0].application_name == "slow-report"
    assert history_versions(fresh_db) == ["1", "2"]
    assert scalar(fresh_db, "SELECT count(*) FROM log") == 1


def test_busy_runner_lock_names_the_holder(fresh_db: str) -> None:
    other = psycopg.connect(fresh_db, autocommit=True, application_name="deploy-42")
    try:
        other.execute("SELECT pg_advisory_lock(%s)", (lock_key("migration_guard", "runner"),))
        settings = dataclasses.replace(FAST, runner_lock_wait_seconds=0.3)
        lines: list[str] = []
        with runner_ctx(fresh_db, settings, lines) as ctx, pytest.raises(LockBusyError) as info:
            migrate(ctx, BASE)
        assert f"pid {other.info.backend_pid}" in info.value.message
        assert "deploy-42" in info.value.message and "connected since" in info.value.message
        assert "waiting up to 0.3s" in lines[0]
    finally:
        other.close()
    assert scalar(fresh_db, "SELECT to_regclass('a')") is None


@pytest.mark.parametrize("runners", [2, 8])
def test_concurrent_runners_apply_each_migration_once(fresh_db: str, runners: int) -> None:
    ms = [
        *BASE,
        *(mig(str(v), f"INSERT INTO log VALUES ('{v}'); SELECT pg_sleep(0.02)") for v in range(2, 7)),
    ]
    settings = dataclasses.replace(FAST, runner_lock_wait_seconds=30)
    errors: list[BaseException] = []
    applied: list[int] = []
    barrier = threading.Barrier(runners)

    def run() -> None:
        try:
            with runner_ctx(fresh_db, settings) as ctx:
                barrier.wait()
                applied.append(len(migrate(ctx, ms).outcomes))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(runners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(applied, reverse=True)[0] == 6 and sum(applied) == 6
    assert history_versions(fresh_db) == ["1", "2", "3", "4", "5", "6"]
    with psycopg.connect(fresh_db) as conn:
        counts = conn.execute("SELECT m, count(*) FROM log GROUP BY m ORDER BY m").fetchall()
    assert counts == [(str(v), 1) for v in range(2, 7)]
    assert scalar(fresh_db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0


_CHILD = """
import sys
sys.path[:0] = [{repo!r}, {tests!r}]
from runner_helpers import FAST, mig, runner_ctx
from guard.db.runner import migrate
ms = [mig("1", "CREATE TABLE a (id int)"), mig("2", "CREATE TABLE half (id int); SELECT pg_sleep(30); CREATE TABLE never (id int)")]
with runner_ctx({url!r}) as ctx:
    migrate(ctx, ms)
"""


def _wait_for(url: str, query: str, timeout: float = 15.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = scalar(url, query)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {query}")


SLEEPING = "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'"


def _assert_consistent_after_death(url: str) -> None:
    # The dead runner's backends end (client_connection_check_interval notices the lost client).
    _wait_for(url, "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name LIKE 'guard-test-%'")
    assert scalar(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0
    assert history_versions(url) == ["1"]
    assert scalar(url, "SELECT to_regclass('half')") is None
    with runner_ctx(url) as ctx:
        report = migrate(ctx, [mig("1", "CREATE TABLE a (id int)"), mig("2", "CREATE TABLE half (id int)")])
    assert [o.migration for o in report.outcomes] == ["2_m2"]
    assert history_versions(url) == ["1", "2"]


def test_sigkill_mid_migration_leaves_a_boundary_and_releases_the_lock(fresh_db: str) -> None:
    code = _CHILD.format(repo=str(REPO), tests=str(REPO / "tests"), url=fresh_db)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(fresh_db, SLEEPING)
        assert scalar(fresh_db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 2
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    _assert_consistent_after_death(fresh_db)


def test_terminated_runner_connection_fails_closed(fresh_db: str) -> None:
    ms = [mig("1", "CREATE TABLE a (id int)"), mig("2", "CREATE TABLE half (id int); SELECT pg_sleep(30)")]
    result: list[BaseException] = []

    def run() -> None:
        try:
            with runner_ctx(fresh_db) as ctx:
                migrate(ctx, ms)
        except BaseException as exc:
            result.append(exc)

    t = threading.Thread(target=run)
    t.start()
    pid = _wait_for(fresh_db, SLEEPING)
    scalar(fresh_db, f"SELECT pg_terminate_backend({pid})")
    t.join(timeout=20)
    assert not t.is_alive()
    assert len(result) == 1 and isinstance(result[0], RunFailed)
    assert "connection lost" in result[0].message
    _assert_consistent_after_death(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        outcomes = conn.execute("SELECT outcome FROM migration_guard.audit ORDER BY id").fetchall()
    assert ("failed",) in outcomes
