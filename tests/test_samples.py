"""sample_migrations/: the safe app passes every check; each unsafe migration fires exactly what it marks.

Marker convention in `sample_migrations/unsafe/*/up.sql` (any family may add samples):

- `-- expect: rule-a[, rule-b]` on the line just before the line a finding must point at.
  Several marker lines stacked directly above one line all apply to it.
- `-- expect-file: rule` anywhere: the rule must fire for this migration (up or down file),
  for file-level findings such as a missing down migration.
- `-- expect-verify: rule[, rule]` in the leading comment block of up.sql or down.sql is for
  `migration-guard verify` (run with `sample_migrations/unsafe-data.sql` loaded after the
  baseline): exactly these verify rules must fire for that migration. Migrations whose up
  Postgres refuses (`up-fails`) sit last, since verify stops at the first up that fails.

Every error-level finding must be expected, and every expectation must be met, for lint and verify alike.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from guard.config import Settings
from guard.lint.engine import lint_path
from guard.model import Severity
from guard.paths import display_path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_migrations"
APP = SAMPLES / "app"
UNSAFE = SAMPLES / "unsafe"
UNSAFE_DATA = SAMPLES / "unsafe-data.sql"
#: The migration after which UNSAFE_DATA loads (its tables exist from then on).
UNSAFE_DATA_AFTER = "20240201090000"
_VERIFY_MARKER = re.compile(r"^--\s*expect-verify\s*:\s*(?P<rules>[a-z0-9, -]+?)\s*$")
_MARKER = re.compile(r"^\s*--\s*expect(?P<file>-file)?\s*:\s*(?P<rules>[a-z0-9, -]+?)\s*$")


def read_expectations(root: Path) -> tuple[set[tuple[str, int, str]], set[tuple[str, str]]]:
    """(file, line, rule) expected at a line, and (migration folder, rule) expected anywhere."""
    at_line: set[tuple[str, int, str]] = set()
    anywhere: set[tuple[str, str]] = set()
    for up in sorted(root.glob("*/up.sql")):
        lines = up.read_text(encoding="utf-8").splitlines()
        pending: list[str] = []
        for number, text in enumerate(lines, start=1):
            m = _MARKER.match(text)
            if m and m.group("file"):
                anywhere.update((up.parent.name, r) for r in _ids(m.group("rules")))
                continue
            if m:
                pending += _ids(m.group("rules"))
                continue
            at_line.update((display_path(up), number, r) for r in pending)
            pending = []
        assert not pending, f"{up}: `-- expect:` marker at the end of the file points at nothing"
    return at_line, anywhere


def _ids(text: str) -> list[str]:
    return [r for r in re.split(r"[,\s]+", text) if r]


def test_app_passes_every_check() -> None:
    result = lint_path(APP, Settings())
    assert result.migrations >= 8
    assert result.layout == "hasura"
    assert [(f.file, f.line, f.rule, f.message) for f in result.findings] == []
    assert result.exit_code == 0


def test_app_uses_the_patterns_it_demonstrates() -> None:
    ups = {p.parent.name: p.read_text() for p in APP.glob("*/up.sql")}
    text = "\n".join(ups.values())
    assert "NOT VALID" in text and "VALIDATE CONSTRAINT" in text
    assert "CREATE TYPE" in text and "CREATE TRIGGER" in text
    for name, sql in ups.items():
        if "CONCURRENTLY" in sql:
            assert "-- guard: no-transaction" in sql, name
    contracts = [re.search(r"guard: contract (\d+)", sql) for sql in ups.values()]
    versions = {n.split("_")[0] for n in ups}
    assert any(c and c.group(1) in versions for c in contracts)
    assert all((APP / name / "down.sql").is_file() for name in ups)


def test_unsafe_samples_fire_exactly_what_they_mark() -> None:
    at_line, anywhere = read_expectations(UNSAFE)
    assert at_line, "no `-- expect:` markers found"
    result = lint_path(UNSAFE, Settings())
    blocking = [f for f in result.findings if f.severity >= Severity.ERROR]
    found_at = {(f.file, f.line, f.rule) for f in blocking}
    by_migration: dict[str, set[str]] = defaultdict(set)
    for f in blocking:
        by_migration[Path(f.file).parent.name].add(f.rule)

    missing = sorted(at_line - found_at)
    missing_anywhere = sorted((m, r) for m, r in anywhere if r not in by_migration[m])
    unexpected = sorted(
        (f.file, f.line, f.rule)
        for f in blocking
        if (f.file, f.line, f.rule) not in at_line and (Path(f.file).parent.name, f.rule) not in anywhere
    )
    assert missing == [], f"expected findings that did not fire: {missing}"
    assert missing_anywhere == [], f"expected file-level findings that did not fire: {missing_anywhere}"
    assert unexpected == [], f"findings no marker expects: {unexpected}"
    assert result.exit_code == 1


def test_every_blocking_rule_of_these_families_has_an_unsafe_sample() -> None:
    from guard.lint.registry import all_rules

    at_line, anywhere = read_expectations(UNSAFE)
    sampled = {r for _, _, r in at_line} | {r for _, r in anywhere}
    mine = [
        r.id
        for r in all_rules().values()
        if r.family in ("destructive", "reversibility") and r.severity >= Severity.ERROR
    ]
    assert mine and sorted(set(mine) - sampled) == []


def read_verify_expectations(root: Path) -> dict[str, set[str]]:
    """Migration folder -> the verify rules its `-- expect-verify:` markers declare (up.sql and down.sql).

    Markers must sit in the file's leading comment block; one anywhere else is a mistake, not a marker.
    """
    out: dict[str, set[str]] = {}
    for path in sorted([*root.glob("*/up.sql"), *root.glob("*/down.sql")]):
        leading = True
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            leading = leading and (not text.strip() or text.lstrip().startswith("--"))
            if "expect-verify" not in text:
                continue
            m = _VERIFY_MARKER.match(text)
            assert m and leading, f"{path}:{number}: `-- expect-verify:` belongs in the leading comment block"
            out.setdefault(path.parent.name, set()).update(_ids(m.group("rules")))
    return out


def test_verify_markers_are_read_from_the_top_of_either_file() -> None:
    expected = read_verify_expectations(UNSAFE)
    rules = set().union(*expected.values())
    assert rules == {
        "down-missing",
        "down-does-not-restore",
        "reapply-up-fails",
        "down-loses-data",
        "up-fails",
    }
    assert not (UNSAFE / "20240219090000_audit_log_without_down" / "down.sql").exists()
    assert expected["20240219090000_audit_log_without_down"] == {"down-missing"}


def test_migrations_postgres_refuses_sit_last() -> None:
    expected = read_verify_expectations(UNSAFE)
    names = sorted(p.name for p in UNSAFE.iterdir() if p.is_dir())
    failing = [n for n in names if "up-fails" in expected.get(n, set())]
    assert failing and names[-len(failing) :] == failing, "up-fails samples must have the highest versions"
    assert all(expected[n] == {"up-fails"} for n in failing)


@pytest.mark.db
def test_unsafe_verify_reports_exactly_what_the_markers_declare(pg_server) -> None:
    """verify with the sample data: every migration is reached up to the first expected `up-fails`,
    and the (migration, verify rule) pairs are exactly the ones the markers declare."""
    from guard.cli import cli

    expected = read_verify_expectations(UNSAFE)
    argv = ["verify", str(UNSAFE), "--shadow", "url", "--shadow-url", pg_server.admin_url, "--format", "json"]
    argv += ["--data", str(UNSAFE_DATA), "--data-after", UNSAFE_DATA_AFTER]
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    doc = json.loads(result.stdout)
    assert result.exit_code == 1, result.output

    statuses = {m["id"]: m["status"] for m in doc["migrations"]}
    names = sorted(p.name for p in UNSAFE.iterdir() if p.is_dir())
    assert list(statuses) == names
    first_failing_up = next(n for n in names if "up-fails" in expected.get(n, set()))
    reached = names[: names.index(first_failing_up) + 1]
    not_reached = [n for n in names if statuses[n] == "not-reached"]
    assert not_reached == names[len(reached) :]
    assert all(expected[n] == {"up-fails"} for n in not_reached), "only up-fails samples may go unverified"

    found = {(f["migration"], f["rule"]) for f in doc["findings"]}
    declared = {(n, rule) for n in reached for rule in expected.get(n, set())}
    assert sorted(found - declared) == [], "verify findings no marker declares"
    assert sorted(declared - found) == [], "declared verify findings that did not fire"
    assert {n for n in reached if statuses[n] == "ok"} == {n for n in reached if n not in expected}


@pytest.mark.slow
def test_demo_script_passes() -> None:
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo")], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "demo: OK" in proc.stdout


def test_cli_exit_codes_on_samples() -> None:
    app = subprocess.run(
        [sys.executable, "-m", "guard", "lint", str(APP)], capture_output=True, text=True, check=False
    )
    unsafe = subprocess.run(
        [sys.executable, "-m", "guard", "lint", str(UNSAFE)], capture_output=True, text=True, check=False
    )
    assert (app.returncode, unsafe.returncode) == (0, 1), app.stdout + unsafe.stdout
