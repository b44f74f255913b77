#!/usr/bin/env python3
"""Wall time of the CI gate for a change that adds one migration to a repository of N migrations.

Builds a throwaway git repository (Hasura layout, N migrations on `main`, a branch
adding one), then runs `migration-guard lint migrations --base main` as a
subprocess several times and prints the median and best wall time, process
start-up included, as CI would see it.

    .venv/bin/python scripts/bench_gate.py [--migrations 1000] [--runs 7] [--shallow]

`--shallow` measures a depth-1 clone instead, so the time includes fetching the
base branch and deepening to the merge base from a local `file://` remote.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def build(root: Path, count: int) -> Path:
    """A repository with `count` migrations on main and one new migration on branch feature."""
    repo = root / "repo"
    (repo / "migrations").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for i in range(count):
        folder = repo / "migrations" / f"{20200101000000 + i * 100}_table_{i}"
        folder.mkdir()
        (folder / "up.sql").write_text(
            f"CREATE TABLE table_{i} (id bigint PRIMARY KEY, name text NOT NULL);\n"
            f"CREATE INDEX table_{i}_name ON table_{i} (name);\n"
        )
        (folder / "down.sql").write_text(f"DROP TABLE table_{i};\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"{count} migrations")
    git(repo, "checkout", "-q", "-b", "feature")
    new = repo / "migrations" / "20990101000000_add_orders"
    new.mkdir()
    (new / "up.sql").write_text("CREATE TABLE orders (id bigint PRIMARY KEY, total numeric NOT NULL);\n")
    (new / "down.sql").write_text("DROP TABLE orders;\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "add orders")
    return repo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrations", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--shallow", action="store_true", help="measure on a fresh depth-1 clone each run")
    args = parser.parse_args()

    exe = shutil.which("migration-guard", path=str(REPO / ".venv" / "bin")) or "migration-guard"
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GITHUB_ACTIONS="false")
    env.update(
        {k: "bench" for k in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME")},
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_EMAIL="bench@example.com",
    )
    os.environ.update(env)
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        root = Path(tmp)
        repo = build(root, args.migrations)
        times = []
        for run in range(args.runs):
            target, base = repo, "main"
            if args.shallow:
                target = root / f"clone{run}"
                git(root, "clone", "-q", "--depth", "1", "--branch", "feature", repo.as_uri(), str(target))
                base = "origin/main"
            cmd = [exe, "lint", "migrations", "--base", base, "--no-cache", "--jobs", "1"]
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=target, capture_output=True, text=True, env=env)
            times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr, file=sys.stderr)
                return 1
        print(proc.stdout.strip().splitlines()[0])
        print(
            f"gate wall time, {args.migrations} migrations + 1 new"
            f"{' (depth-1 clone)' if args.shallow else ''}: "
            f"median {statistics.median(times):.3f}s, best {min(times):.3f}s over {args.runs} runs"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
