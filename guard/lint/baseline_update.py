"""`migration-guard baseline`: lint a migrations folder and (re)write its baseline file.

The findings are linted raw (no baseline applied, the findings cache used), each entry
shows the start of its normalized statement for reviewers, and the file is written only
when its text changes (atomically: a reader sees the old file or the new one).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from guard.errors import InputError
from guard.lint.baseline import Entry, baseline_path, entries_for, folder_field, load, render
from guard.lint.protected import LOCKED_RULES

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.model import Finding, Migration
    from guard.parsing import Statement


@dataclass(frozen=True)
class BaselineUpdate:
    """What `update_baseline` found: the file, today's entries and how they differ from the file's."""

    path: Path
    entries: list[Entry]
    migrations: int
    #: Findings accepted now that the file did not accept (per key, the count above the old one).
    added: int
    #: Findings the file accepted that no longer occur.
    removed: int
    changed: bool
    written: bool

    @property
    def findings(self) -> int:
        """How many findings the baseline accepts."""
        return sum(e.count for e in self.entries)


def update_baseline(
    folder: Path, settings: Settings, *, check: bool = False, jobs: int | None = 0
) -> BaselineUpdate:
    """Lint `folder` and write its baseline (unless `check`: then only compare with the file).

    Refuses (InputError) to overwrite a baseline written for another migrations folder.
    """
    from guard.layouts import discover
    from guard.lint.cache import open_cache
    from guard.lint.engine import lint_migrations

    if not folder.is_dir():
        raise InputError(f"{folder}: a baseline is written for a migrations folder", "pass the folder")
    path = baseline_path(settings, folder)
    old = load(path)
    if old is not None and not old.covers(folder):
        raise InputError(
            f"{path} is the baseline of another migrations folder ({old.folder})",
            "set `baseline` in this project's config to a file of its own",
        )
    discovery = discover(folder, settings.layout, exclude=settings.exclude)
    result = lint_migrations(
        discovery.migrations,
        settings,
        extra_findings=discovery.findings,
        layout=discovery.layout,
        cache=open_cache(settings, folder),
        jobs=jobs,
    )
    accepted = [f for f in result.findings if f.rule not in LOCKED_RULES]  # never baselined
    entries = entries_for(accepted, folder, _Statements(discovery.migrations))
    text = render(entries, folder_field(path, folder))
    before = {k: e.count for k, e in old.entries.items()} if old is not None else {}
    now = {e.key: e.count for e in entries}
    added = sum(max(0, n - before.get(k, 0)) for k, n in now.items())
    removed = sum(max(0, n - now.get(k, 0)) for k, n in before.items())
    try:
        current = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = None
    changed = current != text
    written = changed and not check
    if written:
        _write_atomic(path, text)
    return BaselineUpdate(path, entries, len(discovery.migrations), added, removed, changed, written)


class _Statements:
    """The normalized text of a finding's statement (each migration split once)."""

    def __init__(self, migrations: list[Migration]) -> None:
        self.by_id = {m.id: m for m in migrations}
        self.split: dict[str, list[Statement]] = {}

    def __call__(self, finding: Finding) -> str:
        from guard.lint.fingerprint import normalize_statement, statement_at
        from guard.parsing import split_statements

        m = self.by_id.get(finding.migration or "")
        if m is None:
            return ""
        if m.id not in self.split:
            self.split[m.id] = split_statements(m.up_sql, m.up_line)[0]
        stmt = statement_at(self.split[m.id], finding.line)
        return normalize_statement(stmt.text) if stmt is not None else ""


def _write_atomic(path: Path, text: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=".migration-guard-baseline-", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the lint baseline: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # a committed file, not mkstemp's private 0600
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise InputError(f"{path}: cannot write the lint baseline: {exc.strerror}") from None
