#!/usr/bin/env python3
"""Wall time of `migration-guard lint` on one migration with N column type changes.

Builds a throwaway Hasura-layout folder: a first migration creates the tables
(100 `varchar(10)` columns each), a second one holds N
`ALTER TABLE ... ALTER COLUMN ... TYPE` statements on those columns (alternately a
binary-compatible widening and a rewrite), so the type rules really judge each one
against the column's earlier type. Lints it for each N as a subprocess (best of
`--runs`) and prints the times and their ratio: linear cost gives a ratio close to
the ratio of the sizes (10 for the defaults).

    .venv/bin/python scripts/bench_type_changes.py [--sizes 2000 20000] [--runs 3] [--exe PATH]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLUMNS_PER_TABLE = 100


def build(root: Path, count: int) -> Path:
    """A migrations folder whose second migration changes the type of `count` columns."""
    folder = root / f"migrations_{count}"
    tables = -(-count // COLUMNS_PER_TABLE)
    first = folder / "20200101000000_tables"
    first.mkdir(parents=True)
    creates = []
    for t in range(tables):
        columns = ", ".join(f"c{c} varchar(10)" for c in range(COLUMNS_PER_TABLE))
        creates.append(f"CREATE TABLE t{t} (id bigint PRIMARY KEY, {columns});\n")
    (first / "up.sql").write_text("".join(creates))
    (first / "down.sql").write_text("".join(f"DROP TABLE t{t};\n" for t in range(tables)))
    second = folder / "20200102000000_types"
    second.mkdir()
    alters, downs = [], []
    for i in range(count):
        table, column = f"t{i // COLUMNS_PER_TABLE}", f"c{i % COLUMNS_PER_TABLE}"
        new = "varchar(20)" if i % 2 == 0 else "bigint USING " + column + "::bigint"
        alters.append(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {new};\n")
        downs.append(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar(10);\n")
    (second / "up.sql").write_text("".join(alters))
    (second / "down.sql").write_text("".join(reversed(downs)))
    return folder


def time_lint(exe: str, folder: Path, runs: int) -> tuple[float, int]:
    """Best wall time of `runs` lints of `folder`, and how many findings the last one printed."""
    best = float("inf")
    findings = 0
    for _ in range(runs):
        cmd = [exe, "lint", str(folder), "--no-cache", "--jobs", "1", "--format", "json"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        best = min(best, time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
            raise SystemExit(proc.returncode)
        findings = proc.stdout.count('"rule":')
    return best, findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--exe", help="the migration-guard to time (default: this checkout's .venv)")
    args = parser.parse_args()
    exe = args.exe or shutil.which("migration-guard", path=str(REPO / ".venv" / "bin")) or "migration-guard"
    times = []
    with tempfile.TemporaryDirectory(prefix="bench-types-") as tmp:
        for n in args.sizes:
            best, findings = time_lint(exe, build(Path(tmp), n), args.runs)
            times.append(best)
            print(f"N={n}: best {best:.2f}s over {args.runs} runs ({findings} findings)")
    for i in range(1, len(times)):
        n0, n1 = args.sizes[i - 1], args.sizes[i]
        print(f"N={n1} / N={n0}: size x{n1 / n0:.0f}, time x{times[i] / times[i - 1]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
