"""SARIF 2.1.0 output for GitHub code scanning and other SARIF viewers.

One run with `tool.driver` carrying every rule's metadata from the registry
(summary, why, fix, bad and good SQL as help text and Markdown, default level)
and one result per finding. Locations are URIs relative to the repository root
(`uriBaseId: %SRCROOT%`), as code scanning expects; regions give start and end
lines only. Notices (skipped change-set rules, what was fetched) become
`toolExecutionNotifications` so they are not lost.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from guard import __version__
from guard.model import Finding, Rule, Severity
from guard.report.fingerprint import fingerprints
from guard.report.github import repo_path
from guard.report.json import write_json
from guard.report.ruledoc import rule_markdown, rule_text
from guard.textsafe import safe_block, safe_line

if TYPE_CHECKING:
    from guard.lint.engine import LintResult

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
#: Our own fingerprint key (line-independent, see guard.report.fingerprint), versioned as SARIF advises.
FINGERPRINT_KEY = "migrationGuardFinding/v1"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    """A SARIF `reportingDescriptor` rendered from one rule record."""
    # The same renderings as `explain` and docs/rules.md, so all three always agree.
    text = rule_text(rule)
    markdown = rule_markdown(rule)
    tags = [rule.family]
    if rule.lock and "locking" not in tags:  # SARIF tags are a set: duplicates are invalid
        tags.append("locking")
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.why.split())},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"tags": tags},
    }
    if rule.lock:
        descriptor["properties"]["lock"] = rule.lock
    return descriptor


def _uri(file: str, root: Path | None) -> str:
    return quote(repo_path(file, root), safe="/")


def result_object(finding: Finding, rule_index: int | None, root: Path | None) -> dict[str, Any]:
    """A SARIF `result` for one finding."""
    start = max(finding.line, 1)
    end = max(finding.end_line if finding.end_line is not None else start, start)
    text = "\n".join(safe_block(finding.message + (f"\nfix: {finding.fix}" if finding.fix else "")))
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "level": _LEVEL[finding.severity],
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(finding.file, root), "uriBaseId": SRCROOT},
                    "region": {"startLine": start, "endLine": end},
                }
            }
        ],
    }
    if rule_index is not None:
        result["ruleIndex"] = rule_index
    properties: dict[str, Any] = {}
    if finding.migration:
        properties["migration"] = finding.migration
    if finding.lock:
        properties["lock"] = finding.lock
    if properties:
        result["properties"] = properties
    return result


def as_document(result: LintResult, root: Path | None = None) -> dict[str, Any]:
    """The SARIF log as a dict (one run)."""
    from guard.lint.registry import all_rules

    rules = list(all_rules().values())
    index = {r.id: i for i, r in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "migration-guard",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [rule_descriptor(r) for r in rules],
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": [
            {**result_object(f, index.get(f.rule), root), "partialFingerprints": {FINGERPRINT_KEY: digest}}
            for f, digest in fingerprints(
                sorted(result.findings, key=lambda f: (f.file, f.line, f.rule)), root
            )
        ],
        "invocations": [
            {
                "executionSuccessful": True,
                "exitCode": result.exit_code,
                "toolExecutionNotifications": [
                    {"message": {"text": safe_line(n)}, "level": "note"} for n in result.notices
                ],
            }
        ],
    }
    if root is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": root.resolve().as_uri() + "/"}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(result: LintResult, stream: IO[str], root: Path | None = None, **_: object) -> None:
    """Write the SARIF log (JSON, newline-terminated; indented on a terminal)."""
    write_json(as_document(result, root), stream, ascii_only=False)
