#!/usr/bin/env python3
"""Compare migration-guard's dangerous-statement findings with squawk's, statement by statement.

Usage:
    .venv/bin/python scripts/compare_squawk.py [--corpus ../shared/corpus] [--examples 3]
                                               [--squawk-defaults] [--json out.json]

Both tools lint the up migrations of the four corpus projects (each in its own
layout: Hasura, golang-migrate, dbmate, Prisma). migration-guard runs once over
every folder (`lint --no-cache --format json PATH...`); squawk runs once over
the same up files (`--reporter json`). dbmate files hold both directions:
squawk reads the whole file, so its findings after `-- migrate:down` are dropped.

Findings are compared per *statement* (file, first line of the statement): a
squawk finding's line (0-based, pointing inside the statement) and ours (the
statement's first line) both map to the statement that contains them.

Assumptions are matched to our runner's defaults: Postgres 15 (`--pg-version
15`) and each migration in one transaction (`--assume-in-transaction`, which is
also what lets squawk exempt tables created earlier in the same file).
`--squawk-defaults` runs squawk with its own defaults instead (no transaction,
its latest Postgres), which is what `scripts/bench_lint.py` counts.

What counts as dangerous:
- squawk: the rules in `SQUAWK_DANGER` (locks, rewrites, scans, destructive or
  client-breaking changes). Its style and hygiene rules (`prefer-robust-stmts`,
  `prefer-text-field`, `prefer-bigint-*`, `prefer-identity`,
  `prefer-timestamp-tz`, `ban-char-field`, `identifier-too-long`,
  `require-enum-value-ordering`) and the timeout rules (`require-lock-timeout`,
  `require-statement-timeout`: our runner sets both itself, so
  `require-timeouts` is off by default) are not.
- migration-guard: findings at `error` severity of the statement rules (every
  family but discovery, reversibility, changeset and verification, whose
  findings are about files and history, not statements).

`SQUAWK_TO_OURS` names the rules of ours that answer each squawk rule;
`KEPT_DIFFERENCES` explains, with the count printed next to it, each class of
statement squawk flags that we deliberately do not.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
sys.path.insert(0, str(REPO))

#: (project folder, migrations folder inside it, glob of its up files, whether files hold both directions)
CORPUS_PROJECTS = (
    ("Mission-Prerna__nl-hasura-migrations", "migrations/default", "*/up.sql", False),
    ("openmeterio__openmeter", "tools/migrate/migrations", "*.up.sql", False),
    ("bionic-gpt__bionic-gpt", "crates/db/migrations", "*.sql", True),
    ("triggerdotdev__trigger.dev", "internal-packages/database/prisma/migrations", "*/migration.sql", False),
    (
        "triggerdotdev__trigger.dev",
        "internal-packages/run-ops-database/prisma/migrations",
        "*/migration.sql",
        False,
    ),
)

#: squawk rule -> our rules that flag the same danger (empty: a danger we do not treat as an error).
SQUAWK_TO_OURS: dict[str, tuple[str, ...]] = {
    "adding-field-with-default": ("avoid-volatile-default",),
    "adding-foreign-key-constraint": ("require-not-valid-constraint",),
    "adding-not-nullable-field": ("avoid-set-not-null",),
    "adding-primary-key-constraint": ("require-unique-index-first",),
    "adding-required-field": ("require-default-for-not-null",),
    "adding-serial-primary-key-field": ("avoid-volatile-default", "require-unique-index-first"),
    "ban-alter-domain-with-add-constraint": ("require-not-valid-domain-constraint",),
    "ban-concurrent-index-creation-in-transaction": ("concurrent-in-transaction",),
    "ban-create-domain-with-constraint": (),
    "ban-drop-column": ("avoid-drop-column",),
    "ban-drop-constraint": (),
    "ban-drop-database": ("avoid-drop-database",),
    "ban-drop-default": (),
    "ban-drop-function": ("avoid-drop-function",),
    "ban-drop-not-null": (),
    "ban-drop-schema": ("avoid-drop-schema",),
    "ban-drop-sequence": ("avoid-drop-sequence",),
    "ban-drop-table": ("avoid-drop-table",),
    "ban-drop-type": ("avoid-drop-type",),
    "ban-drop-view": ("avoid-drop-view",),
    "ban-set-schema": ("avoid-rename-table",),
    "ban-truncate-cascade": ("avoid-truncate",),
    "changing-column-type": ("avoid-column-type-change", "avoid-type-change-rewrite"),
    "constraint-missing-not-valid": ("require-not-valid-constraint",),
    "disallowed-unique-constraint": ("require-unique-index-first",),
    "renaming-column": ("avoid-rename-column",),
    "renaming-object": ("avoid-rename-table",),
    "renaming-table": ("avoid-rename-table",),
    "require-concurrent-index-creation": ("require-concurrent-index",),
    "require-concurrent-index-deletion": ("require-concurrent-index-drop",),
    "transaction-nesting": ("nested-transaction", "uncommitted-transaction"),
}
SQUAWK_DANGER = frozenset(SQUAWK_TO_OURS)

#: squawk "danger" rules whose statements we judge safe as a matter of policy (see KEPT_DIFFERENCES).
POLICY_DIFFERENCES = frozenset(
    {
        "ban-drop-constraint",
        "ban-drop-not-null",
        "ban-drop-default",
        "transaction-nesting",
        "ban-create-domain-with-constraint",
    }
)

#: Families whose findings are about files or history rather than one statement's danger.
NOT_STATEMENT_FAMILIES = frozenset({"discovery", "reversibility", "changeset", "verification"})

#: squawk rule -> why the statements of it that we do not flag are not dangers for us
#: (checked statement by statement on the corpus; the script prints the count next to each).
KEPT_DIFFERENCES: dict[str, str] = {
    "ban-drop-constraint": (
        "policy: dropping a constraint loosens the schema, which the running release tolerates; "
        "it is instant (brief ACCESS EXCLUSIVE, no scan) and loses no data"
    ),
    "ban-drop-not-null": (
        "policy: DROP NOT NULL is an expand step (metadata only, no scan); the running release "
        "keeps writing values"
    ),
    "ban-drop-default": (
        "policy: DROP DEFAULT is metadata only, no lock held long and no data lost; inserts that "
        "rely on the default are an application change, not a migration danger"
    ),
    "transaction-nesting": (
        "policy: squawk assumes the tool wraps every file; our runner does not wrap a file that "
        "has its own BEGIN/COMMIT, so its BEGIN does not nest (squawk also flags the COMMIT)"
    ),
    "ban-create-domain-with-constraint": "policy: a new domain has no columns yet, nothing to scan",
    "renaming-object": (
        "squawk over-reports: ALTER INDEX ... RENAME (clients never name an index; SHARE UPDATE "
        "EXCLUSIVE on 12+), swaps that give the old name to the replacement in the same transaction "
        "(Prisma's enum swap, a materialized-view swap), and objects created earlier in the same file"
    ),
    "changing-column-type": (
        "squawk over-reports: binary-compatible changes (varchar -> varchar, varchar(3) -> varchar) "
        "neither rewrite the table nor change what readers see"
    ),
    "adding-foreign-key-constraint": (
        "squawk over-reports: the table was created earlier in the same file (squawk loses track of "
        "it after the file's own COMMIT)"
    ),
    "constraint-missing-not-valid": (
        "squawk over-reports: the table was created earlier in the same file (squawk loses track of "
        "it after the file's own COMMIT)"
    ),
    "ban-drop-sequence": "squawk over-reports: the sequence was created earlier in the same file",
    "ban-drop-table": "squawk over-reports: a temporary table created earlier in the same file",
}


@dataclass
class FileInfo:
    """One up file: its statements' (first line, last line, first line of text) and its up region."""

    path: Path
    spans: list[tuple[int, int, str]]
    down_line: int | None = None

    def statement_at(self, line: int) -> int | None:
        """The first line of the statement that contains `line` (1-based), if any."""
        if self.down_line is not None and line >= self.down_line:
            return None
        for start, end, _ in self.spans:
            if start <= line <= end:
                return start
        return None

    def text_at(self, start: int) -> str:
        for s, _, text in self.spans:
            if s == start:
                return text
        return ""


@dataclass
class Statement:
    """What each tool said about one statement."""

    ours: set[str] = field(default_factory=set)
    ours_warn: set[str] = field(default_factory=set)
    squawk: set[str] = field(default_factory=set)
    squawk_style: set[str] = field(default_factory=set)


_DOWN = re.compile(r"^\s*--\s*migrate:down\b", re.M | re.I)


def up_files(corpus: Path) -> tuple[list[Path], list[tuple[Path, bool]]]:
    """(migrations folders, (up file, holds both directions)) of the corpus projects present."""
    folders, files = [], []
    for project, sub, pattern, both in CORPUS_PROJECTS:
        folder = corpus / project / sub
        if folder.is_dir():
            folders.append(folder)
            files.extend((p, both) for p in sorted(folder.glob(pattern)))
    return folders, files


def file_info(path: Path, both_directions: bool) -> FileInfo:
    from guard.parsing import split_statements

    text = path.read_text(encoding="utf-8-sig", errors="replace")
    statements, _ = split_statements(text)
    spans = [(s.line, s.end_line, s.text.strip().splitlines()[0][:110]) for s in statements]
    down = None
    if both_directions:
        found = _DOWN.search(text)
        if found:
            down = text.count("\n", 0, found.start()) + 1
    return FileInfo(path.resolve(), spans, down)


def run_guard(folders: list[Path]) -> list[dict]:
    script = Path(sys.executable).with_name("migration-guard")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "guard"]
    cmd += ["lint", "--no-cache", "--format", "json", *map(str, folders)]
    proc = subprocess.run(cmd, capture_output=True, cwd=REPO, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"migration-guard exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return json.loads(proc.stdout)["findings"]


def run_squawk(files: list[Path], defaults: bool) -> list[dict]:
    squawk = Path(sys.executable).with_name("squawk")
    exe = str(squawk) if squawk.exists() else shutil.which("squawk")
    if not exe:
        raise SystemExit("squawk is not installed (pip install squawk-cli)")
    flags = [] if defaults else ["--pg-version", "15", "--assume-in-transaction"]
    proc = subprocess.run(
        [exe, "--reporter", "json", *flags, *map(str, files)], capture_output=True, check=False
    )
    return json.loads(proc.stdout or b"[]")


def collect(corpus: Path, defaults: bool) -> tuple[dict[tuple[Path, int], Statement], dict[Path, FileInfo]]:
    """Every statement either tool flagged, keyed by (file, first line)."""
    from guard.lint.registry import all_rules

    rules = all_rules()
    folders, files = up_files(corpus)
    infos = {p.resolve(): file_info(p, both) for p, both in files}
    stmts: dict[tuple[Path, int], Statement] = defaultdict(Statement)

    for f in run_guard(folders):
        path = (REPO / f["file"]).resolve()
        info = infos.get(path)
        rule = rules.get(f["rule"])
        if info is None or rule is None or rule.family in NOT_STATEMENT_FAMILIES:
            continue
        start = info.statement_at(f["line"])
        if start is None:
            continue
        target = stmts[(path, start)]
        (target.ours if f["severity"] == "error" else target.ours_warn).add(f["rule"])

    for f in run_squawk([p for p, _ in files], defaults):
        path = Path(f["file"]).resolve()
        info = infos.get(path)
        if info is None:
            continue
        start = info.statement_at(f["line"] + 1)  # squawk lines are 0-based
        if start is None:
            continue
        target = stmts[(path, start)]
        (target.squawk if f["rule_name"] in SQUAWK_DANGER else target.squawk_style).add(f["rule_name"])
    return stmts, infos


def report(stmts: dict[tuple[Path, int], Statement], infos: dict[Path, FileInfo], examples: int) -> dict:
    """Print the confusion tables; return the same figures as a dict."""
    ours_danger = {k for k, s in stmts.items() if s.ours}
    squawk_danger = {k for k, s in stmts.items() if s.squawk}

    def where(key: tuple[Path, int]) -> str:
        path, line = key
        short = str(path).split("/corpus/", 1)[-1]
        return f"{short}:{line}: {infos[path].text_at(line)}"

    squawk_real = {k for k in squawk_danger if stmts[k].squawk - POLICY_DIFFERENCES}
    print(f"dangerous statements: migration-guard {len(ours_danger)}, squawk {len(squawk_danger)}")
    print(
        f"  both {len(ours_danger & squawk_danger)}, squawk only {len(squawk_danger - ours_danger)}, "
        f"migration-guard only {len(ours_danger - squawk_danger)}"
    )
    print(
        f"squawk without the policy rules ({', '.join(sorted(POLICY_DIFFERENCES))}): {len(squawk_real)}; "
        f"we flag {len(squawk_real & ours_danger)}, miss {len(squawk_real - ours_danger)}"
    )
    print()
    print("Statements squawk flags, by squawk rule:")
    print(f"{'squawk rule':42} {'stmts':>6} {'we flag':>8} {'missed':>7}  our rules on them")
    figures: dict = {
        "ours": len(ours_danger),
        "squawk": len(squawk_danger),
        "squawk_without_policy": len(squawk_real),
        "squawk_without_policy_missed": len(squawk_real - ours_danger),
        "by_squawk_rule": {},
    }
    missed_examples: dict[str, list[str]] = {}
    for rule in sorted({r for s in stmts.values() for r in s.squawk}):
        keys = [k for k, s in stmts.items() if rule in s.squawk]
        hit = [k for k in keys if stmts[k].ours]
        missed = [k for k in keys if not stmts[k].ours]
        ours = Counter(r for k in hit for r in stmts[k].ours)
        shown = ", ".join(f"{r} {n}" for r, n in ours.most_common(4))
        print(f"{rule:42} {len(keys):6} {len(hit):8} {len(missed):7}  {shown}")
        figures["by_squawk_rule"][rule] = {
            "statements": len(keys),
            "flagged": len(hit),
            "missed": len(missed),
        }
        if missed:
            warned = Counter(r for k in missed for r in stmts[k].ours_warn)
            missed_examples[rule] = [where(k) for k in missed[:examples]]
            if warned:
                missed_examples[rule].insert(
                    0, "(warnings: " + ", ".join(f"{r} {n}" for r, n in warned.items()) + ")"
                )
    if missed_examples:
        print()
        print("Missed, with examples and the reason when it is a kept difference:")
        for rule, lines in missed_examples.items():
            n = figures["by_squawk_rule"][rule]["missed"]
            reason = KEPT_DIFFERENCES.get(rule, "NOT EXPLAINED: investigate")
            print(f"- {rule}: {n} statements: {reason}")
            for line in lines:
                print(f"    {line}")
    print()
    print("Statements only migration-guard flags, by our rule (squawk's non-danger rules on them):")
    only = ours_danger - squawk_danger
    figures["ours_only"] = {}
    for rule in sorted({r for k in only for r in stmts[k].ours}):
        keys = [k for k in only if rule in stmts[k].ours]
        style = Counter(r for k in keys for r in stmts[k].squawk_style)
        shown = ", ".join(f"{r} {n}" for r, n in style.most_common(3))
        print(f"  {rule:40} {len(keys):6}  {shown}")
        figures["ours_only"][rule] = len(keys)
        for k in sorted(keys)[:examples]:
            print(f"      {where(k)}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--examples", type=int, default=3, help="example statements per class")
    parser.add_argument(
        "--squawk-defaults", action="store_true", help="run squawk with its defaults (no transaction)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    stmts, infos = collect(args.corpus, args.squawk_defaults)
    figures = report(stmts, infos, args.examples)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
