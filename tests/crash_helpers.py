"""Crash rounds for the runner: start `migrate` in a child process, kill it (`kill -9` of the process
or `pg_terminate_backend` of its connection) at a seeded random moment, resume with `migrate`, and
check that history and effects agree: every migration applied exactly once.

Run as a script, it is the child: `python tests/crash_helpers.py URL` applies `MIGRATIONS` to URL.
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import psycopg
from runner_helpers import FAST, mig, runner_ctx

from guard.errors import SafetyError

ROWS, BATCH = 3000, 100
#: One transactional table, a non-transactional load of 3,000 rows in batches, two concurrent
#: index builds (one unnamed: Postgres picks its name), and a transactional insert.
MIGRATIONS = [
    mig("1", "CREATE TABLE items (id int NOT NULL, batch int NOT NULL)", "DROP TABLE items"),
    mig(
        "2",
        "-- guard: no-transaction\n"
        + "\n".join(
            f"INSERT INTO items SELECT g, {k} FROM generate_series({k * BATCH + 1}, {(k + 1) * BATCH}) g,"
            " pg_sleep(0.004);"
            for k in range(ROWS // BATCH)
        ),
        "DELETE FROM items WHERE batch >= 0",
    ),
    mig(
        "3",
        "CREATE INDEX CONCURRENTLY ON items (batch);\n"
        "CREATE INDEX CONCURRENTLY items_id_batch_idx ON items (id, batch);",
        "DROP INDEX CONCURRENTLY items_id_batch_idx; DROP INDEX CONCURRENTLY items_batch_idx;",
    ),
    mig(
        "4",
        "INSERT INTO items SELECT g, -1 FROM generate_series(100001, 101000) g, pg_sleep(0.2);\n"
        "CREATE TABLE marks (id int);\nINSERT INTO marks VALUES (1);",
        "DROP TABLE marks; DELETE FROM items WHERE batch = -1",
    ),
]
EXPECTED_INDEXES = ["items_batch_idx", "items_id_batch_idx"]
#: The resume waits for a killed runner's statement to end (Postgres notices the dead client).
RESUME = dataclasses.replace(FAST, runner_lock_wait_seconds=20, lock_timeout="2s")
APP = "guard-test-runner"


@dataclass
class Tally:
    """What the rounds saw."""

    rounds: int = 0
    kill9: int = 0
    terminated: int = 0
    finished_before_kill: int = 0
    repaired_invalid_index: int = 0
    #: Resumes that found a statement recorded as running outside a transaction, by verdict.
    in_flight_done: int = 0
    in_flight_rerun: int = 0
    failures: list[str] = field(default_factory=list)


def _start(url: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, __file__, url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"  # connected, about to migrate
    return child


def _terminate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            (APP,),
        )


def _resume(url: str, tally: Tally, where: str) -> None:
    """`migrate` until done; an INVALID index from a killed build is dropped with the hint's own SQL."""
    for _ in range(3):
        try:
            with runner_ctx(url, RESUME) as ctx:
                from guard.db.runner import migrate

                report = migrate(ctx, MIGRATIONS)
            notes = [n for o in report.outcomes for n in o.notes if "was running" in n]
            tally.in_flight_done += sum("counted as done" in n for n in notes)
            tally.in_flight_rerun += sum("running it again" in n for n in notes)
            return
        except SafetyError as exc:
            fix = re.findall(r"`(DROP INDEX CONCURRENTLY IF EXISTS [^`]*)`", exc.hint or "")
            if "INVALID index" not in exc.message or not fix:
                tally.failures.append(f"{where}: resume refused: {exc.message} / {exc.hint}")
                return
            tally.repaired_invalid_index += 1
            with psycopg.connect(url, autocommit=True) as conn:
                for stmt in fix[0].split(";"):
                    if stmt.strip():
                        conn.execute(stmt)  # type: ignore[call-overload]
        except Exception as exc:  # any other failure is what the round looks for
            tally.failures.append(f"{where}: resume failed: {type(exc).__name__}: {exc}")
            return
    tally.failures.append(f"{where}: still refused after repairs")


def check_exactly_once(url: str) -> list[str]:
    """Differences between history and the database's schema and rows (empty: they agree)."""
    problems = []
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT version, status, statements_done FROM migration_guard.history ORDER BY version"
        ).fetchall()
        if [(v, s) for v, s, _ in rows] != [(m.version, "applied") for m in MIGRATIONS]:
            problems.append(f"history {rows}")
        if conn.execute("SELECT to_regclass('items') IS NULL OR to_regclass('marks') IS NULL").fetchone() == (
            True,
        ):
            return [*problems, "tables missing"]
        count, distinct = conn.execute("SELECT count(*), count(DISTINCT id) FROM items").fetchone() or (0, 0)
        if (count, distinct) != (ROWS + 1000, ROWS + 1000):
            problems.append(f"items has {count} rows ({distinct} distinct ids), expected {ROWS + 1000}")
        indexes = conn.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = 'items'::regclass ORDER BY 1"
        ).fetchall()
        if indexes != [(name, True) for name in EXPECTED_INDEXES]:
            problems.append(f"indexes {indexes}")
        marks = conn.execute("SELECT count(*) FROM marks").fetchone()
        if marks != (1,):
            problems.append(f"marks {marks}")
    return problems


def _progress(conn: psycopg.Connection) -> dict[str, tuple[str, int]]:
    if conn.execute("SELECT to_regclass('migration_guard.history')").fetchone() == (None,):
        return {}
    rows = conn.execute("SELECT version, status, statements_done FROM migration_guard.history").fetchall()
    return {v: (s, n) for v, s, n in rows}


def _reached(progress: dict[str, tuple[str, int]], phase: str, k: int) -> bool:
    if phase == "load":  # inside the non-transactional load, after batch k
        return progress.get("2", ("", -1))[1] >= k or progress.get("2", ("",))[0] == "applied"
    if phase == "index":  # the concurrent index builds have started
        return "3" in progress
    return progress.get("3", ("",))[0] == "applied"  # the transactional migration runs


def crash_round(pg_server: object, seed: int, tally: Tally) -> None:
    """One round on a new database: start, kill at a seeded point, resume, compare.

    The point: a phase (the 3,000-row load after batch k, the concurrent index builds, the
    transactional migration), reached by watching history, plus a seeded random delay.
    """
    rng = random.Random(seed)
    mode = "kill9" if seed % 2 == 0 else "terminate"
    phase = rng.choices(["load", "index", "tx"], weights=[5, 3, 2])[0]
    k = rng.randrange(ROWS // BATCH)
    delay = rng.uniform(0.0, {"load": 0.01, "index": 0.06, "tx": 0.15}[phase])
    where = f"seed {seed} ({mode} in {phase}{f' after batch {k}' if phase == 'load' else ''} +{delay:.3f}s)"
    name, url = pg_server.create_database()  # type: ignore[attr-defined]
    try:
        child = _start(url)
        with psycopg.connect(url, autocommit=True) as watch:
            deadline = time.monotonic() + 20
            while (
                child.poll() is None
                and not _reached(_progress(watch), phase, k)
                and time.monotonic() < deadline
            ):
                time.sleep(0.002)
        time.sleep(delay)
        if child.poll() is not None:
            tally.finished_before_kill += 1
        elif mode == "kill9":
            os.kill(child.pid, signal.SIGKILL)
            tally.kill9 += 1
        else:
            _terminate(url)
            tally.terminated += 1
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        _resume(url, tally, where)
        tally.failures.extend(f"{where}: {p}" for p in check_exactly_once(url))
        tally.rounds += 1
    finally:
        pg_server.drop_database(name)  # type: ignore[attr-defined]


def _child(url: str) -> None:
    from guard.db.runner import migrate

    with runner_ctx(url, RESUME) as ctx:
        print("ready", flush=True)
        migrate(ctx, MIGRATIONS)


if __name__ == "__main__":
    try:
        _child(sys.argv[1])
    except Exception:  # the parent reads the database, not the child's exit
        sys.exit(3)
