#!/usr/bin/env python3
"""Benchmark the linter against squawk, side by side, in one run.

Usage:
    .venv/bin/python scripts/bench_lint.py [--runs 5] [--corpus ../shared/corpus] [--generate]

What it measures (wall time of whole cold processes, median of alternating runs):

- squawk over every up file of the corpus in one process (when `squawk` is installed);
- migration-guard linting every project of the corpus, each folder in its own
  (detected) layout, in one process (`migration-guard lint PATH...`), with an
  empty cache (*cold*) and again with the cache of the previous run (*warm*);
- `migration-guard --version`, and linting one small migration;
- the CI gate: a 1,000-migration repository whose cache is warm, plus one new migration.

Peak memory is the largest resident set of any single child process (`/usr/bin/time`).
With `--cpu`, each scenario also shows the median CPU time (user + system) of the child and
every process it forked (`wait4` rusage): on a machine shared with other work, wall time is
noisy but CPU time barely moves, so compare variants of the code by CPU time.
Child processes run without `PYTHONDONTWRITEBYTECODE`, after one untimed round, so
migration-guard starts from compiled bytecode as an installed package does (a shell
that sets the variable would otherwise compile every module on every run).
Dangerous statements are counted as distinct (file, line) pairs: for
migration-guard, findings at `error` severity; for squawk (which reports
everything as a warning), findings of the lock/destructive rules in
`SQUAWK_DANGER`, not its style rules (robust statements, timeouts, type
preferences). squawk runs with `SQUAWK_FLAGS` (our runner's assumptions: Postgres
15, each migration in a transaction), so tables created earlier in the same file
are exempt on both sides.

Without `../shared/corpus`, or with `--generate`, a synthetic corpus of about
1,600 varied migrations (golang-migrate layout) is generated in a temp folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Children use compiled bytecode, as an installed package does.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"

#: (project folder, migrations folder inside it, layout, glob of its up files)
CORPUS_PROJECTS = (
    ("Mission-Prerna__nl-hasura-migrations", "migrations/default", "hasura", "*/up.sql"),
    ("openmeterio__openmeter", "tools/migrate/migrations", "golang-migrate", "*.up.sql"),
    ("bionic-gpt__bionic-gpt", "crates/db/migrations", "dbmate", "*.sql"),
    (
        "triggerdotdev__trigger.dev",
        "internal-packages/database/prisma/migrations",
        "prisma",
        "*/migration.sql",
    ),
    (
        "triggerdotdev__trigger.dev",
        "internal-packages/run-ops-database/prisma/migrations",
        "prisma",
        "*/migration.sql",
    ),
)

SQUAWK_DANGER = frozenset(
    {
        "adding-field-with-default",
        "adding-foreign-key-constraint",
        "adding-not-nullable-field",
        "adding-primary-key-constraint",
        "adding-required-field",
        "adding-serial-primary-key-field",
        "ban-alter-domain-with-add-constraint",
        "ban-concurrent-index-creation-in-transaction",
        "ban-create-domain-with-constraint",
        "ban-drop-column",
        "ban-drop-constraint",
        "ban-drop-database",
        "ban-drop-function",
        "ban-drop-not-null",
        "ban-drop-schema",
        "ban-drop-sequence",
        "ban-drop-table",
        "ban-drop-type",
        "ban-drop-view",
        "ban-truncate-cascade",
        "changing-column-type",
        "constraint-missing-not-valid",
        "disallowed-unique-constraint",
        "renaming-column",
        "renaming-object",
        "renaming-table",
        "require-concurrent-index-creation",
        "require-concurrent-index-deletion",
        "transaction-nesting",
    }
)


@dataclass(frozen=True)
class Target:
    """One migrations folder to lint and its up files (for squawk)."""

    folder: Path
    layout: str
    up_files: tuple[Path, ...]


@dataclass
class Sample:
    """One timed scenario: wall seconds per run, peak RSS in MB per run, and its last outputs."""

    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    outputs: list[bytes] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def add(self, wall: float, cpu: float, peak_mb: float) -> None:
        self.times.append(wall)
        self.cpu.append(cpu)
        self.peak_mb.append(peak_mb)


def run(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, float, int, bytes]:
    """Run `cmd` to completion; return (wall seconds, CPU seconds, peak RSS MB, exit code, stdout).

    CPU seconds are user + system time of the child and of every descendant it waited for
    (forked workers included), from the child's `wait4` rusage.

    Peak RSS comes from `/usr/bin/time -f %M` when present: a child's own `ru_maxrss`
    also counts the pages it shared with this (large) Python process before exec.
    """
    timer = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([*timer, *cmd], stdout=out, stderr=err, cwd=cwd, env=CHILD_ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        peak_kb = usage.ru_maxrss
        if timer:
            last = err.read().decode(errors="replace").strip().splitlines()[-1:]
            peak_kb = int(last[0]) if last and last[0].isdigit() else peak_kb
        cpu = usage.ru_utime + usage.ru_stime
        return wall, cpu, peak_kb / 1024, proc.returncode, out.read()


def guard_cmd() -> list[str]:
    """The installed console script next to this interpreter, else `python -m guard`."""
    script = Path(sys.executable).with_name("migration-guard")
    return [str(script)] if script.exists() else [sys.executable, "-m", "guard"]


#: squawk judged under our runner's defaults (Postgres 15, each migration in one transaction), so both
#: tools answer the same question; `scripts/compare_squawk.py` compares them statement by statement.
SQUAWK_FLAGS = ("--pg-version", "15", "--assume-in-transaction")


def squawk_cmd() -> list[str] | None:
    found = Path(sys.executable).with_name("squawk")
    if found.exists():
        return [str(found)]
    which = shutil.which("squawk")
    return [which] if which else None


def corpus_targets(corpus: Path) -> list[Target]:
    targets = []
    for project, sub, layout, pattern in CORPUS_PROJECTS:
        folder = corpus / project / sub
        if folder.is_dir():
            targets.append(Target(folder, layout, tuple(sorted(folder.glob(pattern)))))
    return targets


# --- generated corpus ---------------------------------------------------------------------------------

_UP_SHAPES = (
    "CREATE TABLE {t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());",
    "ALTER TABLE {t} ADD COLUMN {c} text;",
    "CREATE INDEX {t}_{c}_idx ON {t} ({c});",
    "CREATE INDEX CONCURRENTLY {t}_{c}_idx ON {t} ({c});",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_fk FOREIGN KEY ({c}) REFERENCES users (id);",
    "ALTER TABLE {t} ALTER COLUMN {c} TYPE bigint;",
    "ALTER TABLE {t} DROP COLUMN {c};",
    "ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;",
    "UPDATE {t} SET {c} = 'x' WHERE {c} IS NULL;",
    "COMMENT ON TABLE {t} IS 'generated table {t}';",
    "CREATE OR REPLACE FUNCTION {t}_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$;",
    "DROP TABLE IF EXISTS {t}_old;",
)


def generate_corpus(root: Path, count: int, seed: int = 8) -> Target:
    """`count` varied golang-migrate migrations (with downs) under `root`; some are data-only."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, count + 1):
        t, c = f"t{rng.randrange(200)}", f"c{rng.randrange(50)}"
        if n % 97 == 0:  # a data load: thousands of rows, no DDL
            rows = ",\n".join(f"({i}, 'name {i}', '{{\"k\": {i}}}')" for i in range(3000))
            up = f"INSERT INTO {t} (id, name, doc) VALUES\n{rows};\n"
        else:
            up = "\n".join(rng.choice(_UP_SHAPES).format(t=t, c=c) for _ in range(rng.randrange(1, 6)))
        (root / f"{n:06d}_change_{n}.up.sql").write_text(up + "\n", encoding="utf-8")
        (root / f"{n:06d}_change_{n}.down.sql").write_text(
            f"DROP TABLE IF EXISTS {t}_new;\n", encoding="utf-8"
        )
    return Target(root, "golang-migrate", tuple(sorted(root.glob("*.up.sql"))))


# --- counting -----------------------------------------------------------------------------------------


def guard_dangerous(outputs: list[bytes]) -> tuple[int, int]:
    """(findings, distinct (file, line) at error severity) of migration-guard JSON reports."""
    total, danger = 0, set()
    for raw in outputs:
        doc = json.loads(raw)
        total += len(doc["findings"])
        danger |= {(f["file"], f["line"]) for f in doc["findings"] if f["severity"] == "error"}
    return total, len(danger)


def squawk_dangerous(raw: bytes) -> tuple[int, int]:
    """(findings, distinct (file, line) of lock/destructive rules) of a squawk JSON report."""
    doc = json.loads(raw or b"[]")
    danger = {(f["file"], f["line"]) for f in doc if f.get("rule_name") in SQUAWK_DANGER}
    return len(doc), len(danger)


# --- the benchmark ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="alternating runs per scenario (median)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="the shared corpus folder")
    parser.add_argument("--generate", action="store_true", help="use a generated corpus even if one exists")
    parser.add_argument("--jobs", default="0", help="--jobs passed to migration-guard lint")
    parser.add_argument(
        "--cpu", action="store_true", help="also show median CPU time (user + system) of each scenario"
    )
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-lint-"))
    try:
        return _bench(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _bench(args: argparse.Namespace, work: Path) -> int:
    guard = guard_cmd()
    squawk = squawk_cmd()
    if args.generate or not args.corpus.is_dir():
        targets = [generate_corpus(work / "generated", 1600)]
        corpus_name = "generated (1,600 migrations)"
    else:
        targets = corpus_targets(args.corpus)
        corpus_name = str(args.corpus)
    up_files = [str(p) for t in targets for p in t.up_files]
    cache = work / "cache"

    def lint(target: Target, *extra: str) -> list[str]:
        return [*guard, "lint", str(target.folder), "--layout", target.layout, "--format", "json", *extra]

    def full_lint(sample: Sample, warm: bool) -> None:
        # One process for every folder (several PATHs, each in its own detected layout),
        # as squawk gets one process for every up file.
        if not warm:
            shutil.rmtree(cache, ignore_errors=True)
        cmd = [*guard, "lint", *(str(t.folder) for t in targets), "--format", "json"]
        w, c, p, code, out = run([*cmd, "--cache-dir", str(cache), "--jobs", args.jobs])
        if code not in (0, 1):
            raise SystemExit(f"migration-guard failed with exit {code}")
        sample.add(w, c, p)
        sample.outputs = [out]

    # The CI gate: a warm 1,000-migration repository, then one migration added.
    gate_repo = generate_corpus(work / "gate", 1000, seed=1)
    gate_cache = work / "gate-cache"
    run(lint(gate_repo, "--cache-dir", str(gate_cache)))
    one = work / "one"
    one.mkdir()
    (one / "000001_add_column.up.sql").write_text("ALTER TABLE users ADD COLUMN nickname text;\n")
    (one / "000001_add_column.down.sql").write_text("ALTER TABLE users DROP COLUMN nickname;\n")
    one_target = Target(one, "golang-migrate", ())

    samples: dict[str, Sample] = {k: Sample() for k in ("squawk", "cold", "warm", "version", "one", "gate")}
    # One untimed round: bytecode compiled, files in the page cache, for both tools alike.
    if squawk:
        run([*squawk, *SQUAWK_FLAGS, "--reporter", "json", *up_files])
    full_lint(Sample(), warm=False)
    run(lint(one_target, "--no-cache"))
    for i in range(args.runs):
        if squawk:
            w, c, p, _code, out = run([*squawk, *SQUAWK_FLAGS, "--reporter", "json", *up_files])
            samples["squawk"].add(w, c, p)
            samples["squawk"].outputs = [out]
        full_lint(samples["cold"], warm=False)
        full_lint(samples["warm"], warm=True)
        w, c, p, _code, _o = run([*guard, "--version"])
        samples["version"].add(w, c, p)
        w, c, p, _code, _o = run(lint(one_target, "--no-cache"))
        samples["one"].add(w, c, p)
        new = gate_repo.folder / f"{999000 + i:06d}_gate_{i}.up.sql"
        new.write_text("CREATE INDEX users_email_idx ON users (email);\n")
        new.with_name(new.name.replace(".up.", ".down.")).write_text("DROP INDEX users_email_idx;\n")
        w, c, p, _code, _o = run(lint(gate_repo, "--cache-dir", str(gate_cache)))
        samples["gate"].add(w, c, p)

    migrations = sum(len(t.up_files) for t in targets)
    print(
        f"corpus: {corpus_name}: {len(targets)} folders, {migrations} up files; {args.runs} alternating runs"
    )
    print(f"python: {sys.version.split()[0]}; cores: {os.cpu_count()}; migration-guard --jobs {args.jobs}")
    print()
    cpu_head = f" {'cpu':>9}" if args.cpu else ""
    print(f"{'scenario':44} {'median':>9} {'min':>9} {'peak MB':>8}{cpu_head}")
    rows = [
        ("squawk, all up files (one process)", "squawk"),
        ("migration-guard lint, cold (no cache)", "cold"),
        ("migration-guard lint, warm (cache, unchanged)", "warm"),
        ("migration-guard --version", "version"),
        ("migration-guard lint, one small migration", "one"),
        ("CI gate: 1,000 cached + 1 new migration", "gate"),
    ]
    for label, key in rows:
        s = samples[key]
        if s.times:
            cpu = f" {statistics.median(s.cpu) * 1000:7.0f}ms" if args.cpu else ""
            print(
                f"{label:44} {s.median * 1000:8.0f}ms {min(s.times) * 1000:8.0f}ms {max(s.peak_mb):8.1f}{cpu}"
            )
    print()
    total, danger = guard_dangerous(samples["cold"].outputs)
    print(f"migration-guard: {total} findings, {danger} dangerous statements (error severity)")
    if samples["squawk"].times:
        sq_total, sq_danger = squawk_dangerous(samples["squawk"].outputs[0])
        print(
            f"squawk:          {sq_total} findings, {sq_danger} dangerous statements (lock/destructive rules)"
        )
        base = samples["squawk"].median
        print()
        print(f"ratio cold / squawk: {samples['cold'].median / base:.2f}  (target <= 1.0)")
        print(f"ratio warm / squawk: {samples['warm'].median / base:.2f}  (target <= 0.3)")
    else:
        print("squawk not installed (pip install squawk-cli): no ratios")
    return 0


if __name__ == "__main__":
    sys.exit(main())
