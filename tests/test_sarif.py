"""SARIF output: valid against the OASIS SARIF 2.1.0 schema, with rule metadata from the registry
and locations relative to the repository root (what GitHub code scanning needs)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from git_helpers import add_migration, commit_all, gate, isolate_git, make_repo

from guard.lint.engine import LintResult
from guard.lint.registry import all_rules
from guard.model import Finding, Severity
from guard.report.sarif import as_document, render

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the test extras")
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


def validate(doc: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def sample_result() -> LintResult:
    return LintResult(
        findings=[
            Finding(
                rule="unanalysed-statement",
                severity=Severity.WARNING,
                file="db/migrations/2024_a b/up.sql",
                line=3,
                end_line=7,
                message='could not analyse "CREATE STATISTICS", 100% sure: no rule judged it\nsecond line',
                fix="review it",
                migration="2024_a b",
                lock="SHARE",
            ),
            Finding(
                rule="avoid-changing-merged-migration",
                severity=Severity.ERROR,
                file="db/migrations/2023_x/up.sql",
                line=1,
                message="edited",
            ),
            Finding(
                rule="not-a-registered-rule", severity=Severity.INFO, file="x.sql", line=0, message="odd"
            ),
        ],
        migrations=2,
        notices=["compared with origin/main"],
    )


def test_the_document_is_valid_sarif_2_1_0() -> None:
    validate(as_document(sample_result(), root=Path.cwd()))


def test_an_empty_result_is_valid_sarif() -> None:
    doc = as_document(LintResult(findings=[], migrations=0))
    validate(doc)
    assert doc["runs"][0]["results"] == []


def test_the_schema_rejects_what_it_should() -> None:
    # the vendored schema is not a rubber stamp: a level outside the enum and a line 0 fail
    doc = as_document(sample_result())
    doc["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft4Validator)
    doc = as_document(sample_result())
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft4Validator)


def test_driver_carries_every_rule_with_its_metadata() -> None:
    driver = as_document(sample_result())["runs"][0]["tool"]["driver"]
    assert driver["name"] == "migration-guard"
    # No page to point at until the project publishes one: a made-up URL would send users nowhere.
    assert "informationUri" not in driver
    ids = [r["id"] for r in driver["rules"]]
    assert ids == list(all_rules())
    rule = all_rules()["avoid-changing-merged-migration"]
    desc = next(r for r in driver["rules"] if r["id"] == rule.id)
    assert desc["shortDescription"]["text"] == rule.summary
    assert desc["defaultConfiguration"]["level"] == "error"
    assert " ".join(rule.fix.split()) in " ".join(desc["help"]["text"].split())
    assert "### Why is this bad?" in desc["help"]["markdown"]
    assert desc["properties"]["tags"] == ["changeset"]


def test_results_point_at_the_file_and_lines() -> None:
    doc = as_document(sample_result(), root=Path.cwd())
    results = {r["ruleId"]: r for r in doc["runs"][0]["results"]}
    r = results["unanalysed-statement"]
    assert r["level"] == "warning"
    loc = r["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "db/migrations/2024_a%20b/up.sql", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 3, "endLine": 7}
    assert r["message"]["text"].endswith("\nfix: review it")
    assert r["properties"] == {"migration": "2024_a b", "lock": "SHARE"}
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert rules[r["ruleIndex"]]["id"] == "unanalysed-statement"
    # a finding of an unknown rule still validates (no ruleIndex), and line 0 is clamped to 1
    odd = results["not-a-registered-rule"]
    assert "ruleIndex" not in odd and odd["level"] == "note"
    assert odd["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_notices_become_tool_notifications() -> None:
    inv = as_document(sample_result())["runs"][0]["invocations"][0]
    assert inv["toolExecutionNotifications"][0]["message"]["text"] == "compared with origin/main"
    assert inv["exitCode"] == 1


def test_render_writes_json() -> None:
    out = io.StringIO()
    render(sample_result(), out)
    validate(json.loads(out.getvalue()))


def test_cli_sarif_uses_paths_relative_to_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(monkeypatch, tmp_path)
    repo = make_repo(tmp_path)
    (repo / "migrations/20240101000001_t1/up.sql").write_text("CREATE TABLE t1 (id int);\n")
    add_migration(repo, "20240201000000", "stats", "CREATE STATISTICS s1 (dependencies) ON a, b FROM t1;\n")
    commit_all(repo, "edit + new")
    result = gate(repo, "--base", "main", "--format", "sarif", "-o", str(tmp_path / "out.sarif"))
    assert result.exit_code == 1, result.output
    doc = json.loads((tmp_path / "out.sarif").read_text())
    validate(doc)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]
    }
    assert uris == {"migrations/20240101000001_t1/up.sql", "migrations/20240201000000_stats/up.sql"}
    assert doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
