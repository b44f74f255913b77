"""The command line: help on every command, exit codes, text and JSON output, and arbitrary input
that must end in findings or a clean exit 2, never a traceback."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard.cli import COMMANDS, cli

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "guard" / "schemas" / "lint-report.json"


def write_hasura(root: Path, up: str, down: str | None = "SELECT pg_sleep(0);") -> Path:
    folder = root / "migrations" / "20240101000000_change"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "up.sql").write_text(up, encoding="utf-8")
    if down is not None:
        (folder / "down.sql").write_text("DROP TABLE IF EXISTS undo_me;", encoding="utf-8")
    return root / "migrations"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name: str) -> None:
    module_name = COMMANDS[name][0].split(":")[0]
    if importlib.util.find_spec(module_name) is None:
        pytest.skip(f"{module_name} is not written yet")
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    command = cli.get_command(None, name)  # type: ignore[arg-type]
    assert command is not None and (command.help or "").strip(), f"`{name}` has no help text"
    assert "Usage:" in result.output
    for param in command.params:
        if param.param_type_name == "option":
            assert getattr(param, "help", None), f"`{name} {param.opts[0]}` has no help"


def test_top_level_help_and_version() -> None:
    assert CliRunner().invoke(cli, ["--help"]).exit_code == 0
    out = CliRunner().invoke(cli, ["--version"])
    assert out.exit_code == 0 and out.output.startswith("migration-guard ")


def test_lint_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    clean = write_hasura(tmp_path / "a", "CREATE TABLE t (id bigint PRIMARY KEY);")
    assert runner.invoke(cli, ["lint", str(clean)]).exit_code == 0
    bad = write_hasura(tmp_path / "b", "DROP TABLE users;")
    assert runner.invoke(cli, ["lint", str(bad)]).exit_code == 1
    missing = runner.invoke(cli, ["lint", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such file" in missing.output and "Traceback" not in missing.output
    assert runner.invoke(cli, ["lint", str(bad), "--format", "yaml"]).exit_code == 2


def test_lint_warning_fail_level(tmp_path: Path) -> None:
    folder = write_hasura(tmp_path, "CREATE STATISTICS s1 (dependencies) ON a, b FROM t1;")
    assert CliRunner().invoke(cli, ["lint", str(folder)]).exit_code == 0
    assert CliRunner().invoke(cli, ["lint", str(folder), "--fail-on", "warning"]).exit_code == 1


def test_json_output_matches_the_documented_schema(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    folder = write_hasura(tmp_path, "-- note\nALTER TABLE users DROP COLUMN legacy;\nDROP TABLE a;\n")
    out = CliRunner().invoke(cli, ["lint", str(folder), "--format", "json"])
    assert out.exit_code == 1
    doc = json.loads(out.output)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    assert doc["schema_version"] == 1
    assert {(f["rule"], f["line"]) for f in doc["findings"]} == {
        ("avoid-drop-column", 2),
        ("avoid-drop-table", 3),
    }
    assert doc["summary"]["errors"] == 2 and doc["summary"]["exit_code"] == 1
    assert "schema_version" in (REPO / "docs" / "json-schema.md").read_text()


def test_json_is_not_corrupted_by_sqlglot_logging(tmp_path: Path) -> None:
    folder = write_hasura(tmp_path, "CREATE STATISTICS s1 ON a FROM t1;\nSELECT * FROM t WHERE x = ANY(;\n")
    out = CliRunner().invoke(cli, ["lint", str(folder), "--format", "json"])
    doc = json.loads(out.output)
    assert all(f["rule"] == "unanalysed-statement" for f in doc["findings"])


def test_text_output_groups_by_file_without_colour(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from guard.config import Settings
    from guard.lint.engine import lint_path
    from guard.report import render

    folder = write_hasura(tmp_path, "DROP TABLE a;\n")
    result = lint_path(folder, Settings())
    stream = io.StringIO()
    render(result, "text", stream)
    text = stream.getvalue()
    assert "\033[" not in text
    assert ":1  error   avoid-drop-table" in text and "fix: " in text
    assert text.rstrip().endswith("(failed; fail level: error)")

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    tty = Tty()
    render(result, "text", tty)
    assert "\033[31m" in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    tty = Tty()
    render(result, "text", tty)
    assert "\033[" not in tty.getvalue()


SQLISH = st.sampled_from(
    [
        "DROP TABLE x;",
        "ALTER TABLE t DROP",
        "'",
        '"',
        "$$",
        "$a$",
        "E'\\'",
        "--",
        "/*",
        "*/",
        ";",
        "\x00",
        "\ufeff",
        "\r\n",
        "DO $$ BEGIN EXECUTE '",
        "CREATE",
        "(",
        ")",
        ",",
        "RENAME",
        "TO",
        "-- guard: ignore",
        "-- guard: contract",
        "reason:",
        "COLUMN",
        "TYPE",
        "\\",
        "ñ",
        " ",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(SQLISH, st.text(max_size=12)), max_size=25).map("".join))
def test_arbitrary_text_gives_findings_or_clean_exit_2(tmp_path: Path, sql: str) -> None:
    folder = tmp_path / "h"
    target = folder / "migrations" / "20240101000000_x"
    target.mkdir(parents=True, exist_ok=True)
    (target / "up.sql").write_text(sql, encoding="utf-8", errors="surrogatepass")
    (target / "down.sql").write_text("DROP TABLE IF EXISTS x;", encoding="utf-8")
    out = CliRunner().invoke(cli, ["lint", str(folder / "migrations"), "--format", "json"])
    assert out.exception is None or isinstance(out.exception, SystemExit), repr(out.exception)
    assert out.exit_code in (0, 1, 2)
    if out.exit_code in (0, 1):
        json.loads(out.stdout)
    else:
        assert "Traceback" not in out.output


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_engine_never_crashes_on_arbitrary_text(sql: str) -> None:
    from guard.config import Settings
    from guard.lint.engine import lint_migration
    from guard.model import Migration

    m = Migration(
        version="1",
        name="x",
        layout="hasura",
        up_path=Path("m/up.sql"),
        up_sql=sql,
        down_path=Path("m/down.sql"),
        down_sql=sql,
    )
    for f in lint_migration(m, Settings(), [m]):
        assert f.line >= 1 and f.message
