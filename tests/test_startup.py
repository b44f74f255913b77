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
