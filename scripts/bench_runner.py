#!/usr/bin/env python3
"""Benchmark: apply N small migrations with the runner vs. feeding the same SQL to one `psql` session.

Each migration is `CREATE TABLE t_i (...)` + `INSERT` of a few rows. Both sides run
against a fresh database on the same server; the runner side includes its history
rows, audit rows, advisory locks and timeouts (library API, no lint: that is its own
benchmark). Prints both medians and the ratio.

    .venv/bin/python scripts/bench_runner.py                       # the embedded throwaway server
    .venv/bin/python scripts/bench_runner.py --url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from guard.config import Settings
from guard.db.runner import RunnerContext, migrate
from guard.db.shadow import with_database
from guard.model import Migration


def make_migrations(n: int) -> list[Migration]:
    """N small migrations: a table and three rows each."""
    out = []
    for i in range(1, n + 1):
        up = (
            f"CREATE TABLE t_{i} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());\n"
            f"INSERT INTO t_{i} (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c');\n"
        )
        out.append(
            Migration(version=str(i), name=f"t{i}", layout="plain", up_path=Path(f"{i}.sql"), up_sql=up)
        )
    return out


def fresh(admin: str) -> tuple[str, str]:
    name = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, with_database(admin, name)


def drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def time_runner(url: str, migrations: list[Migration]) -> float:
    """Seconds for the runner to apply every migration (connections opened inside the timing)."""
    started = time.perf_counter()
    with (
        psycopg.connect(url, autocommit=True) as conn,
        psycopg.connect(url, autocommit=True) as lock_conn,
    ):
        report = migrate(RunnerContext(conn, lock_conn, Settings(), host="bench"), migrations)
    elapsed = time.perf_counter() - started
    assert len(report.outcomes) == len(migrations)
    return elapsed


def time_psql(url: str, script: Path, psql: str) -> float:
    """Seconds for one psql session to run the concatenated SQL."""
    started = time.perf_counter()
    subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(script)], check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=500, help="migrations per run (default 500)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per side (default 5)")
    parser.add_argument(
        "--url", default=None, help="admin URL of the server (default: the embedded throwaway server)"
    )
    parser.add_argument("--psql", default=shutil.which("psql") or "/usr/bin/psql")
    args = parser.parse_args()

    admin = args.url
    stack = contextlib.ExitStack()
    if admin is None:
        from guard.db import embedded

        admin = stack.enter_context(embedded.start(15)).url
    migrations = make_migrations(args.count)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "all.sql"
        script.write_text("".join(m.up_sql for m in migrations))
        runner_times: list[float] = []
        psql_times: list[float] = []
        try:
            for _ in range(args.repeat):
                # Alternate sides so server warm-up and checkpoints hit both alike.
                name, url = fresh(admin)
                try:
                    psql_times.append(time_psql(url, script, args.psql))
                finally:
                    drop(admin, name)
                name, url = fresh(admin)
                try:
                    runner_times.append(time_runner(url, migrations))
                finally:
                    drop(admin, name)
        finally:
            stack.close()
    r, p = statistics.median(runner_times), statistics.median(psql_times)
    print(
        f"{args.count} migrations, {args.repeat} runs each, server: {'embedded' if args.url is None else 'given URL'}"
    )
    print(f"runner median: {r:.3f}s  ({' '.join(f'{t:.2f}' for t in runner_times)})")
    print(f"psql   median: {p:.3f}s  ({' '.join(f'{t:.2f}' for t in psql_times)})")
    print(f"ratio runner/psql: {r / p:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
