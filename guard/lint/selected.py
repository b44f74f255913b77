"""`lint --only`: findings for the migrations whose files were given (the pre-commit hook's
staged files), linted in the context of their whole migrations folder.

Every migration of the folder is read, so earlier ones still tell the rules which tables
exist and what a column's type was; only the migrations that own a given file (its up or
its down file: a down file given alone selects its migration) are linted and reported.
A draft migration sitting untracked in the folder therefore never blocks a commit that
does not include it. Given files outside the folder are named in a notice, not linted.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.lint.cache import LintCache
    from guard.lint.engine import LintResult


def lint_selected(
    folder: Path, settings: Settings, files: Sequence[Path], *, cache: LintCache | None = None
) -> LintResult:
    """Lint the migrations of `folder` that own one of `files`, with the others as context."""
    from guard.layouts import discover
    from guard.lint.engine import lint_migrations

    root = folder.resolve()
    inside: set[Path] = set()
    outside: list[str] = []
    for f in files:
        resolved = f.resolve()
        if root in resolved.parents:
            inside.add(resolved)
        else:
            outside.append(f.as_posix())
    discovery = discover(folder, settings.layout, exclude=settings.exclude)
    ids = {
        m.id
        for m in discovery.migrations
        if any(p is not None and p.resolve() in inside for p in (m.up_path, m.down_path))
    }
    extra = [
        f for f in discovery.findings if f.migration in ids or (f.file and Path(f.file).resolve() in inside)
    ]
    result = lint_migrations(
        discovery.migrations, settings, extra_findings=extra, only=ids, layout=discovery.layout, cache=cache
    )
    if outside:
        shown = ", ".join(outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
        result.notices.append(f"{len(outside)} given file(s) outside {folder.as_posix()} not linted: {shown}")
    return result
