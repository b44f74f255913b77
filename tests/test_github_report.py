"""GitHub Actions output: annotation escaping (checked against the runner's unescaping rules),
no column on any span, the job summary, and what `lint` prints under GITHUB_ACTIONS=true."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from git_helpers import add_migration, commit_all, gate, isolate_git, make_repo
from hypothesis import given
from hypothesis import strategies as st

from guard.lint.engine import LintResult
from guard.model import Finding, Severity
from guard.report.github import (
    annotation,
    escape_data,
    escape_property,
    publish_to_actions,
    render,
    summary_markdown,
)

_ANNOTATION = re.compile(r"^::(?P<cmd>error|warning|notice) (?P<props>[^:]*)::(?P<data>.*)$")


def runner_unescape_data(text: str) -> str:
    """What the Actions runner does to a command's data (ActionCommand.UnescapeData)."""
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def runner_unescape_property(text: str) -> str:
    """What the runner does to a property value (ActionCommand.UnescapeProperty)."""
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """Split an annotation the way the runner does: properties on `,`, key=value on the first `=`."""
    m = _ANNOTATION.match(line)
    assert m, line
    props = {}
    for part in m.group("props").split(","):
        key, _, value = part.partition("=")
        props[key] = runner_unescape_property(value)
    return m.group("cmd"), props, runner_unescape_data(m.group("data"))


@given(st.text())
def test_data_escaping_round_trips_and_stays_on_one_line(text: str) -> None:
    escaped = escape_data(text)
    assert "\n" not in escaped and "\r" not in escaped
    assert runner_unescape_data(escaped) == text


@given(st.text())
def test_property_escaping_round_trips_without_separators(text: str) -> None:
    escaped = escape_property(text)
    assert not set(escaped) & {",", ":", "\n", "\r"}
    assert runner_unescape_property(escaped) == text


def finding(**kw: object) -> Finding:
    base: dict[str, object] = {
        "rule": "avoid-drop-column",
        "severity": Severity.ERROR,
        "file": "db/migrations/20240101_a,b:c/up.sql",
        "line": 4,
        "end_line": 9,
        "message": "drops column users.email: 100% of reads break\r\nnext line",
        "fix": "expand, migrate, contract",
    }
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


def test_annotation_fields_survive_the_runner() -> None:
    cmd, props, data = parse(annotation(finding()))
    assert cmd == "error"
    assert props == {
        "file": "db/migrations/20240101_a,b:c/up.sql",
        "line": "4",
        "endLine": "9",
        "title": "migration-guard avoid-drop-column",
    }
    assert data == "drops column users.email: 100% of reads break\nnext line\nfix: expand, migrate, contract"


@pytest.mark.parametrize(
    ("severity", "command"),
    [(Severity.ERROR, "error"), (Severity.WARNING, "warning"), (Severity.INFO, "notice")],
)
def test_severity_maps_to_the_command(severity: Severity, command: str) -> None:
    assert annotation(finding(severity=severity)).startswith(f"::{command} ")


def test_no_column_is_ever_given_and_single_lines_have_no_end_line() -> None:
    multi = annotation(finding(line=4, end_line=9))
    single = annotation(finding(line=4, end_line=4))
    for line in (multi, single):
        assert "col=" not in line and "endColumn=" not in line
    assert "endLine=9" in multi
    assert "endLine" not in single


def test_paths_are_made_relative_to_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = tmp_path / "service"
    sub.mkdir()
    monkeypatch.chdir(sub)
    _, props, _ = parse(annotation(finding(file="migrations/1_a/up.sql"), root=tmp_path))
    assert props["file"] == "service/migrations/1_a/up.sql"


def result_with(findings: list[Finding], notices: list[str] | None = None) -> LintResult:
    return LintResult(findings=findings, migrations=3, notices=notices or [])


def test_render_prints_annotations_only() -> None:
    out = io.StringIO()
    render(result_with([finding(), finding(severity=Severity.WARNING, line=1)], ["base is origin/main"]), out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "::notice title=migration-guard::base is origin/main"
    assert all(_ANNOTATION.match(line) for line in lines)
    assert len(lines) == 3


def test_summary_is_markdown_with_escaped_cells() -> None:
    md = summary_markdown(
        result_with([finding(message="a | b <script>\nsecond ```line```")], ["compared with origin/main"])
    )
    assert md.startswith("## migration-guard: ❌ failed")
    assert "> compared with origin/main" in md
    row = next(line for line in md.splitlines() if line.startswith("| ❌"))
    assert "a \\| b &lt;script&gt;" in row
    assert row.count(" | ") == 3  # four cells: the message's pipe is escaped
    assert "````text" in md  # a fence longer than the message's own backticks
    assert summary_markdown(result_with([])).count("No findings.") == 1


def test_publish_sends_annotations_to_stderr_when_stdout_carries_json(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    publish_to_actions(
        result_with([finding()]),
        fmt="json",
        report_on_stdout=True,
        summary_file=str(summary),
        stdout=out,
        stderr=err,
    )
    assert out.getvalue() == ""
    assert err.getvalue().startswith("::error ")
    assert summary.read_text().startswith("earlier step\n## migration-guard")  # appended, not replaced


def test_publish_with_github_format_on_stdout_does_not_repeat_annotations() -> None:
    out, err = io.StringIO(), io.StringIO()
    publish_to_actions(
        result_with([finding()]),
        fmt="github",
        report_on_stdout=True,
        summary_file=None,
        stdout=out,
        stderr=err,
    )
    assert out.getvalue() == err.getvalue() == ""


def test_lint_under_github_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(monkeypatch, tmp_path)
    repo = make_repo(tmp_path)
    (repo / "migrations/20240101000001_t1/up.sql").write_text("CREATE TABLE t1 (id int);\n")
    add_migration(repo, "20240201000000", "orders")
    commit_all(repo, "edit")
    summary = tmp_path / "step-summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}

    result = gate(repo, "--base", "main", "--format", "json", env=env)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)  # stdout stays parseable JSON
    assert doc["findings"][0]["rule"] == "avoid-changing-merged-migration"
    annotations = [line for line in result.stderr.splitlines() if line.startswith("::")]
    assert any(
        line.startswith("::error file=migrations/20240101000001_t1/up.sql,line=1,") for line in annotations
    )
    assert "avoid-changing-merged-migration" in summary.read_text()

    text = gate(repo, "--base", "main", env=env)
    assert "::error file=migrations/20240101000001_t1/up.sql" in text.stdout
    assert summary.read_text().count("## migration-guard") == 2

    plain = gate(repo, "--base", "main", env={"GITHUB_ACTIONS": "false"})
    assert "::error" not in plain.output
