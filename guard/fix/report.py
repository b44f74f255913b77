"""Render a fix plan: a unified diff of the files it writes, a summary, or the JSON document."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from guard.fix.model import FixPlan


def _shown(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path.resolve()) if rel.startswith("..") else rel


def unified_diff(plan: FixPlan) -> str:
    """Every change as a unified diff (`/dev/null` for new files), in plan order."""
    out: list[str] = []
    for change in plan.changes:
        name = _shown(change.path)
        before = (change.before or "").splitlines(keepends=True)
        after = change.after.splitlines(keepends=True)
        old = "/dev/null" if change.before is None else f"a/{name}"
        out.extend(difflib.unified_diff(before, after, old, f"b/{name}"))
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
    return "".join(out)


def summary(plan: FixPlan, *, written: bool) -> str:
    """What was (or would be) fixed, the files, and each finding left with its reason."""
    lines: list[str] = []
    verb = "fixed" if written else "would fix"
    lines.append(
        f"{verb} {len(plan.fixed)} finding{'s' if len(plan.fixed) != 1 else ''}"
        f" ({sum(1 for c in plan.changes if c.before is None)} new files,"
        f" {sum(1 for c in plan.changes if c.before is not None)} changed)"
    )
    for mid, rule, line, note in plan.fixed:
        lines.append(f"  {mid}:{line}  {rule}: {note}")
    if plan.unfixable:
        lines.append(f"cannot fix {len(plan.unfixable)} automatically:")
        for u in plan.unfixable:
            lines.append(f"  {u.file}:{u.line}  {u.rule}: {u.reason}")
    for notice in plan.notices:
        lines.append(f"note: {notice}")
    if plan.changes and not written:
        lines.append("run again with --write to write these files")
    return "\n".join(lines) + "\n"


def as_json(plan: FixPlan, *, written: bool) -> dict[str, Any]:
    """The `--format json` document of a fix run."""
    return {
        "layout": plan.layout,
        "written": written,
        "files": [
            {"path": _shown(c.path), "status": "new" if c.before is None else "changed", "text": c.after}
            for c in plan.changes
        ],
        "fixed": [{"migration": m, "rule": r, "line": n, "fix": note} for m, r, n, note in plan.fixed],
        "unfixable": [
            {"migration": u.migration, "rule": u.rule, "file": u.file, "line": u.line, "reason": u.reason}
            for u in plan.unfixable
        ],
        "notices": plan.notices,
    }
