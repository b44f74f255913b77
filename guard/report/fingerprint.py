"""Stable identities of findings for CI systems that track issues across runs.

GitLab Code Quality (`fingerprint`) and SARIF viewers (`partialFingerprints`) match a
finding of this run with the same finding of an earlier one to say "new" or "fixed".
Line numbers are left out on purpose: a migration gaining a comment above a finding
must not turn it into a new one. The flagged statement is identified by the same
normalized fingerprint the lint baseline uses (`guard.lint.fingerprint`), falling back
to the message for findings about a file rather than a statement. Identical findings
in one file are told apart by their order of occurrence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from guard.model import Finding
from guard.report.github import repo_path


def fingerprints(findings: Iterable[Finding], root: Path | None) -> Iterator[tuple[Finding, str]]:
    """Each finding with a hex digest of its rule, repository path, migration, statement and occurrence."""
    seen: dict[tuple[str, ...], int] = {}
    for finding in findings:
        statement = finding.fingerprint or finding.message
        key = (finding.rule, repo_path(finding.file, root), finding.migration or "", statement)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        digest = hashlib.sha256("\0".join((*key, str(occurrence))).encode()).hexdigest()
        yield finding, digest
