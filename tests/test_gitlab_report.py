"""GitLab Code Quality output: valid against the documented format, stable fingerprints, and SARIF's
partialFingerprints from the same identities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from guard.cli import cli
from guard.lint.engine import LintResult
from guard.model import Finding, Severity
from guard.report.gitlab import as_issues
from guard.report.sarif import FINGERPRINT_KEY, as_document

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the test extras")
SCHEMA = json.loads((Path(__file__).parent / "data" / "gitlab-codequality-schema.json").read_text())


def finding(
    line: int, message: str = "index built without CONCURRENTLY", rule: str = "require-concurrent-index"
) -> Finding:
    return Finding(
        rule, Severity.ERROR, "db/1_a/up.sql", line, message, fix="use CONCURRENTLY", migration="1_a"
    )


def test_issues_are_valid_and_carry_severity_path_and_lines() -> None:
    result = LintResult(
        findings=[finding(3), Finding("prefer-text", Severity.WARNING, "db/1_a/up.sql", 0, "varchar")],
        migrations=1,
    )
    issues = as_issues(result, root=Path.cwd())
    errors = list(jsonschema.Draft7Validator(SCHEMA).iter_errors(issues))
    assert not errors, [e.message for e in errors]
    assert [i["severity"] for i in issues] == ["minor", "critical"]  # file order, then line
    assert issues[1]["location"] == {"path": "db/1_a/up.sql", "lines": {"begin": 3, "end": 3}}
    assert issues[0]["location"]["lines"]["begin"] == 1  # line 0 (whole file) is clamped to 1
    assert issues[1]["check_name"] == "require-concurrent-index"
    assert "fix: use CONCURRENTLY" in issues[1]["description"]


def test_fingerprints_ignore_line_moves_but_tell_twins_apart() -> None:
    before = as_issues(LintResult(findings=[finding(3), finding(9)], migrations=1))
    after = as_issues(LintResult(findings=[finding(5), finding(12)], migrations=1))  # a comment added above
    assert [i["fingerprint"] for i in before] == [i["fingerprint"] for i in after]
    assert len({i["fingerprint"] for i in before}) == 2
    other = as_issues(LintResult(findings=[finding(3, message="another table")], migrations=1))
    assert other[0]["fingerprint"] != before[0]["fingerprint"]


def test_sarif_results_carry_the_same_identities() -> None:
    result = LintResult(findings=[finding(3), finding(9)], migrations=1)
    sarif = as_document(result)["runs"][0]["results"]
    assert [r["partialFingerprints"][FINGERPRINT_KEY] for r in sarif] == [
        i["fingerprint"] for i in as_issues(result)
    ]


def test_lint_writes_a_gitlab_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "migrations" / "20240101000000_idx"
    folder.mkdir(parents=True)
    (folder / "up.sql").write_text("CREATE INDEX users_email_idx ON users (email);\n")
    (folder / "down.sql").write_text("DROP INDEX users_email_idx;\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = CliRunner().invoke(cli, ["lint", "migrations", "--format", "gitlab", "--no-cache"])
    assert result.exit_code == 1, result.output
    issues = json.loads(result.stdout)
    assert not list(jsonschema.Draft7Validator(SCHEMA).iter_errors(issues))
    assert any(i["check_name"] == "require-concurrent-index" for i in issues)
    assert all(not i["location"]["path"].startswith("/") for i in issues)


def test_text_report_ends_with_counts_per_rule_and_statistics_prints_only_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for version, sql in (
        ("20240101000000_a", "CREATE INDEX a_idx ON users (a);\nCREATE INDEX b_idx ON users (b);\n"),
        ("20240102000000_b", "ALTER TABLE users DROP COLUMN c;\n"),
    ):
        folder = tmp_path / "migrations" / version
        folder.mkdir(parents=True)
        (folder / "up.sql").write_text(sql)
        (folder / "down.sql").write_text("SELECT 1;\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    full = CliRunner().invoke(cli, ["lint", "migrations", "--no-cache"]).stdout
    assert "by rule:\n" in full
    block = full[full.index("by rule:\n") :]
    assert "  2  error    require-concurrent-index\n" in block
    stats = CliRunner().invoke(cli, ["lint", "migrations", "--no-cache", "--statistics"])
    assert stats.exit_code == 1
    assert stats.stdout.startswith("by rule:\n") or "note:" in stats.stdout.splitlines()[0]
    assert "  2  error    require-concurrent-index\n" in stats.stdout
    assert "a_idx" not in stats.stdout  # no individual findings
    assert stats.stdout.rstrip().endswith(full.rstrip().splitlines()[-1])
    misuse = CliRunner().invoke(cli, ["lint", "migrations", "--statistics", "--format", "json"])
    assert misuse.exit_code == 2
