"""GitLab Code Quality report (`--format gitlab`): the artifact of `artifacts:reports:codequality`.

A JSON array of issues, the subset of the Code Climate spec GitLab reads: `description`,
`check_name`, `fingerprint`, `severity` (info, minor, major, critical, blocker) and
`location.path` / `location.lines.begin` relative to the repository root. Errors are
`critical` (they block the merge), warnings `minor`, infos `info`.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from guard.model import Severity
from guard.report.fingerprint import fingerprints
from guard.report.github import repo_path
from guard.report.json import write_json

if TYPE_CHECKING:
    from guard.lint.engine import LintResult

_SEVERITY = {Severity.ERROR: "critical", Severity.WARNING: "minor", Severity.INFO: "info"}


def as_issues(result: LintResult, root: Path | None = None) -> list[dict[str, Any]]:
    """The report as a list of Code Quality issues, in file and line order."""
    ordered = sorted(result.findings, key=lambda f: (f.file, f.line, f.rule))
    issues = []
    for finding, digest in fingerprints(ordered, root):
        begin = max(finding.line, 1)
        end = max(finding.end_line if finding.end_line is not None else begin, begin)
        issues.append(
            {
                "type": "issue",
                "check_name": finding.rule,
                "description": finding.message + (f" (fix: {finding.fix})" if finding.fix else ""),
                "categories": ["Bug Risk"],
                "fingerprint": digest,
                "severity": _SEVERITY[finding.severity],
                "location": {"path": repo_path(finding.file, root), "lines": {"begin": begin, "end": end}},
            }
        )
    return issues


def render(result: LintResult, stream: IO[str], root: Path | None = None, **_: object) -> None:
    """Write the Code Quality report (JSON array, newline-terminated; indented on a terminal)."""
    write_json(as_issues(result, root), stream, ascii_only=False)
