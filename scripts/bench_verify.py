#!/usr/bin/env python3
"""Benchmark `verify`: N generated small migrations round-tripped on the embedded Postgres.

Usage: .venv/bin/python scripts/bench_verify.py [--count 100] [--shadow embedded|url] [--shadow-url URL]

Prints the wall time split into server start, database setup, migration work
(up, down, up again), snapshots, and the rest (discovery, parsing, Python).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

#: (up, down) templates; `{i}` is the migration number. Each touches the table of the first.
KINDS = (
    (
        "CREATE TABLE t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);",
        "DROP TABLE t{i};",
    ),
    ("ALTER TABLE t{base} ADD COLUMN c{i} integer DEFAULT 0;", "ALTER TABLE t{base} DROP COLUMN c{i};"),
    (
        "CREATE INDEX CONCURRENTLY t{base}_name_{i}_idx ON t{base} (name);",
        "DROP INDEX CONCURRENTLY t{base}_name_{i}_idx;",
    ),
    ("CREATE VIEW v{i} AS SELECT id, name FROM t{base};", "DROP VIEW v{i};"),
    (
        "CREATE TYPE e{i} AS ENUM ('a', 'b');\nCREATE FUNCTION f{i}(x int) RETURNS int LANGUAGE sql AS 'SELECT x + 1';",
        "DROP FUNCTION f{i}(int);\nDROP TYPE e{i};",
    ),
)


def generate(folder: Path, count: int) -> None:
    """Write `count` Hasura-layout migrations under `folder`."""
    for i in range(count):
        up, down = KINDS[i % len(KINDS)]
        base = i - i % len(KINDS)
        d = folder / f"{20240101000000 + i}_step_{i}"
        d.mkdir(parents=True)
        (d / "up.sql").write_text(up.format(i=i, base=base) + "\n")
        (d / "down.sql").write_text(down.format(i=i, base=base) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--shadow", default="embedded", choices=["embedded", "docker", "url"])
    parser.add_argument("--shadow-url", default=None)
    args = parser.parse_args()

    from guard.config import Settings
    from guard.db.shadow import start_server, throwaway_database
    from guard.layouts import discover
    from guard.verify import verify_migrations

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        folder = Path(tmp) / "migrations"
        generate(folder, args.count)
        settings = Settings()
        migrations = discover(folder, "hasura").migrations
        with start_server(args.shadow, settings, url=args.shadow_url) as server:
            t = time.perf_counter()
            with throwaway_database(server, settings) as db:
                setup = time.perf_counter() - t
                result = verify_migrations(db, migrations, settings)
            stopping = time.perf_counter()
        stop = time.perf_counter() - stopping
    total = time.perf_counter() - started
    tm = result.timings
    accounted = tm.server_start + setup + tm.migrations + tm.snapshots + stop
    print(f"verify: {args.count} migrations on {result.server}: exit {result.exit_code}")
    print(f"  server start     {tm.server_start:6.2f} s")
    print(f"  database setup   {setup:6.2f} s")
    print(f"  migration work   {tm.migrations:6.2f} s  (up, down, up again: {3 * args.count} scripts)")
    print(f"  snapshots        {tm.snapshots:6.2f} s  ({tm.snapshot_count} catalog snapshots)")
    print(f"  drop and stop    {stop:6.2f} s  (database dropped, server stopped)")
    print(f"  other            {total - accounted:6.2f} s  (generating files, discovery, parsing, Python)")
    print(f"  total wall time  {total:6.2f} s")
    for f in result.findings:
        print(f"  unexpected finding: {f.migration}: {f.message}", file=sys.stderr)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
