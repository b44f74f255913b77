"""Start-up cost by design: `--version` and `--help` must load neither sqlglot nor psycopg.

Checked through `sys.modules` in a fresh interpreter, not by timing, so the
test cannot flake on a busy machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


PROBE = """
import json, sys
from guard.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="migration-guard", standalone_mode=False)
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sqlglot", "sqlglotc", "psycopg", "psycopg_binary"})
print("\\n" + json.dumps(heavy))
"""


def _heavy_modules(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "args",
    [("--version",), ("--help",), ("lint", "--help"), ("rules", "--help")],
    ids=lambda a: " ".join(a),
)
def test_light_commands_import_neither_sqlglot_nor_psycopg(args: tuple[str, ...]) -> None:
    assert _heavy_modules(*args) == []


def test_probe_does_see_heavy_imports() -> None:
    # The probe itself must be able to fail: with sqlglot imported first, it reports it.
    done = subprocess.run(
        [sys.executable, "-c", "import sqlglot\n" + PROBE, "--version"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "sqlglot" in json.loads(done.stdout.strip().splitlines()[-1])


WARM_PROBE = """
import json, sys
import guard.lint.folder_cache
guard.lint.folder_cache.RACY_SECONDS = 0.0  # the test's files are seconds old
from guard.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="migration-guard", standalone_mode=False)
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlglot", "psycopg") or m.startswith(
    ("guard.lint.rules", "guard.parsing", "guard.layouts", "guard.lint.engine")))
print("\\n" + json.dumps(loaded))
"""


def test_lint_never_imports_psycopg_and_a_cached_run_loads_no_rules(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_users.up.sql").write_text("CREATE TABLE users (id bigint PRIMARY KEY);\n")
    (folder / "1_users.down.sql").write_text("DROP TABLE users;\n")
    args = ["lint", str(folder), "--cache-dir", str(tmp_path / "cache"), "--format", "json"]

    def loaded() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", WARM_PROBE, *args], cwd=REPO, capture_output=True, text=True, timeout=60
        )
        return list(json.loads(done.stdout.strip().splitlines()[-1]))

    cold = loaded()
    assert not [m for m in cold if m.startswith("psycopg")]
    assert "guard.parsing" in cold  # the probe sees what a lint loads
    assert list((tmp_path / "cache").glob("folder-*.json"))
    assert loaded() == []  # answered from the folder snapshot: no rules, parser, layouts or engine
