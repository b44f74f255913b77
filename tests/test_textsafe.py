"""Paths, ids and names from outside the tool cannot inject a line, a workflow command or an escape
sequence into any output format (issue 16 #14). Checked on the rendered text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from guard.cli import cli
from guard.model import Finding, Severity
from guard.textsafe import one_line, safe_block, safe_line

EVIL = "x\n::error file=evil.sql,line=1::INJECTED\x1b[2J\x1b]0;title\x07\u202eRTL\r##[error]legacy"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain/path/up.sql", "plain/path/up.sql"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("\x00\x07\x7f\x9b", "\\x00\\x07\\x7f\\x9b"),
        ("line\u2028sep\u202eevil\u2066", "line\\u2028sep\\u202eevil\\u2066"),
        ("::error file=a::b", "\\x3a:error file=a::b"),
        ("  ::warning::x", "  \\x3a:warning::x"),
        ("a ##[error]b", "a #\\x23[error]b"),
        ("naïve ünïcode ✓ 表", "naïve ünïcode ✓ 表"),
    ],
)
def test_safe_line(text: str, expected: str) -> None:
    assert safe_line(text) == expected


def test_safe_block_and_one_line() -> None:
    assert safe_block("SELECT 1;\n::error::x\r\n\x1b[2J") == ["SELECT 1;", "\\x3a:error::x", "\\x1b[2J"]
    pg = "insert or update violates foreign key\nDETAIL:  Key (id)=(1) is not present.\nHINT:  add it first\n"
    assert (
        one_line(pg)
        == "insert or update violates foreign key | DETAIL: Key (id)=(1) is not present. | HINT: add it first"
    )


def _assert_safe_text(output: str) -> None:
    """No line a CI runner would read as a command, no escape sequence, no stray carriage return."""
    for line in output.splitlines():
        assert not line.lstrip().startswith("::"), line
        assert "##[" not in line, line
    assert "\x1b" not in output and "\r" not in output and "\u202e" not in output and "\x07" not in output


@pytest.fixture
def evil_folder(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> Iterator[Path]:
    """A migrations folder whose migration folder name carries a newline, a workflow command and escapes."""
    clean_env.chdir(tmp_path)
    root = tmp_path / "migrations"
    mig = root / f"20240101000000_{EVIL.replace('/', '_')}"
    mig.mkdir(parents=True)
    (mig / "up.sql").write_text("ALTER TABLE users DROP COLUMN email;\n")
    (mig / "down.sql").write_text("ALTER TABLE users ADD COLUMN email text;\n")
    yield root


def test_lint_text_escapes_paths(evil_folder: Path) -> None:
    result = CliRunner().invoke(cli, ["lint", str(evil_folder), "--no-cache"], env={"NO_COLOR": "1"})
    assert result.exit_code == 1, result.output
    assert "INJECTED" in result.stdout and "x\\n::error file=evil.sql" in result.stdout
    _assert_safe_text(result.stdout + result.stderr)


def test_lint_github_annotations_stay_one_per_finding(evil_folder: Path) -> None:
    result = CliRunner().invoke(cli, ["lint", str(evil_folder), "--format", "github", "--no-cache"])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith(("::error file=", "::warning file=", "::notice ")) for line in lines)
    assert not [line for line in lines if line.startswith("::error file=evil.sql")]
    assert "\x1b" not in result.stdout and "\r" not in result.stdout


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_formats_stay_parseable_and_escape_messages(evil_folder: Path, fmt: str) -> None:
    result = CliRunner().invoke(cli, ["lint", str(evil_folder), "--format", fmt, "--no-cache"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert "\x1b" not in result.stdout  # the JSON encoder escapes controls as \u001b
    if fmt == "sarif":
        uris = [
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in doc["runs"][0]["results"]
        ]
        assert uris and all("\n" not in u and "\x1b" not in u for u in uris)
        texts = [r["message"]["text"] for r in doc["runs"][0]["results"]]
        assert all("\x1b" not in t for t in texts)


def test_lint_without_no_cache_flag_still_escapes(evil_folder: Path) -> None:
    first = CliRunner().invoke(cli, ["lint", str(evil_folder)], env={"NO_COLOR": "1"})
    again = CliRunner().invoke(cli, ["lint", str(evil_folder)], env={"NO_COLOR": "1"})  # replayed from cache
    for result in (first, again):
        assert result.exit_code == 1, result.output
        _assert_safe_text(result.stdout + result.stderr)


def test_verify_text_report_escapes_ids_and_paths() -> None:
    import io

    from guard.report.verify import render_text
    from guard.verify import Outcome, VerifyResult

    finding = Finding(
        rule="down-does-not-restore",
        severity=Severity.ERROR,
        file=f"db/{EVIL}/down.sql",
        line=1,
        message=f"table {EVIL} differs",
        fix=f'DROP TABLE "{EVIL}";\nSELECT 1;',
        migration=f"1_{EVIL}",
    )
    result = VerifyResult(
        outcomes=[Outcome(f"1_{EVIL}", "failed")], findings=[finding], notices=[EVIL], server=EVIL
    )
    out = io.StringIO()
    render_text(result, out, 1.0)
    _assert_safe_text(out.getvalue())
    assert "INJECTED" in out.getvalue()


@pytest.mark.db
def test_runner_output_escapes_migration_ids(
    fresh_db: str, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    from guard.config import Settings
    from guard.db.connect import connect
    from guard.db.marker import init_marker

    clean_env.chdir(tmp_path)
    with connect(fresh_db) as conn:
        init_marker(conn, Settings(), "dev")
    root = tmp_path / "migrations"
    mig = root / f"20240101000000_{EVIL.replace('/', '_')}"
    mig.mkdir(parents=True)
    (mig / "up.sql").write_text("CREATE TABLE t (id int);\n")
    (mig / "down.sql").write_text("DROP TABLE t;\n")
    env = {"DATABASE_URL": fresh_db, "NO_COLOR": "1"}
    for args in (
        ["status", str(root)],
        ["migrate", str(root)],
        ["status", str(root)],
        ["rollback", str(root)],
    ):
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == 0, (args, result.output)
        assert "INJECTED" in result.stdout + result.stderr
        _assert_safe_text(result.stdout + result.stderr)
