#!/usr/bin/env python3
"""Benchmark `down` on a whole corpus project: draft every missing down, then prove the written
drafts with `verify`.

Usage: .venv/bin/python scripts/bench_down.py [FOLDER] [--first N] [--no-verify]

FOLDER defaults to the trigger.dev Prisma project of the shared corpus (820 migrations, no
downs). The folder is copied to a temporary directory first (the corpus is never written);
`--first N` copies only the first N migrations. Prints drafted, verified, declared
irreversible and refused counts, the refusal reasons, the time `down --write` took, and
(unless `--no-verify`) what `verify` then says about the migrations that got a draft.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
DEFAULT = CORPUS / "triggerdotdev__trigger.dev" / "internal-packages" / "database" / "prisma" / "migrations"
CLI = [str(REPO / ".venv" / "bin" / "migration-guard")]


def copy(folder: Path, dest: Path, first: int | None) -> None:
    """Copy the migrations folder (or its first `first` entries in name order) to `dest`."""
    if first is None:
        shutil.copytree(folder, dest)
        return
    dest.mkdir()
    entries = sorted(folder.iterdir())
    migrations = [e for e in entries if e.is_dir() and e.name[:1].isdigit()][:first]
    for entry in migrations:
        shutil.copytree(entry, dest / entry.name)


def run(args: list[str]) -> tuple[int, dict, float]:
    started = time.perf_counter()
    proc = subprocess.run([*CLI, *args, "--format", "json"], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if not proc.stdout.strip():
        sys.exit(f"{' '.join(args)}: exit {proc.returncode}, no JSON: {proc.stderr.strip()}")
    return proc.returncode, json.loads(proc.stdout), seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--first", type=int, default=None, help="only the first N migrations")
    parser.add_argument("--no-verify", action="store_true", help="skip the verify run")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-down-") as tmp:
        work = Path(tmp) / "migrations"
        copy(opts.folder, work, opts.first)
        code, doc, seconds = run(["down", str(work), "--write"])
        s = doc["summary"]
        print(f"project: {opts.folder}" + (f" (first {opts.first})" if opts.first else ""))
        print(f"server: {doc['server']}")
        print(
            f"needed {s['needed']}, drafted {s['drafted']}, verified {s['verified']}, "
            f"declared irreversible {s['irreversible']}, refused {s['refused']}, written {s['written']}"
        )
        print(f"down --write: {seconds:.1f}s wall (exit {code})")
        methods = collections.Counter((d["status"], d["method"]) for d in doc["drafts"])
        print(
            "by status and method: "
            + ", ".join(f"{k[0]}/{k[1]} {v}" for k, v in sorted(methods.items(), key=str))
        )
        for d in doc["drafts"]:
            if d["status"] == "refused":
                print(f"  refused {d['id']}: {d['reason'][:300]}")
        if opts.no_verify:
            return
        drafted = {d["id"] for d in doc["drafts"] if d["written"]}
        irreversible = {d["id"] for d in doc["drafts"] if d["written"] and d["status"] == "irreversible"}
        code, vdoc, vseconds = run(["verify", str(work)])
        failed = {f["migration"] for f in vdoc["findings"] if f["migration"] in drafted}
        print(
            f"verify: {vseconds:.1f}s, exit {code}; drafts failing verify: {len(failed)} "
            f"({len(failed & irreversible)} of them declared irreversible, {len(failed - irreversible)} not)"
        )
        for mid in sorted(failed - irreversible):
            print(f"  verify fails draft of {mid}")


if __name__ == "__main__":
    main()
