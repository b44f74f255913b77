"""Drizzle's journal (`meta/_journal.json`): which file (tag) drizzle-orm applied at which `when`.

drizzle-orm records a migration in `drizzle.__drizzle_migrations` under the journal's
`when` of its file, so reading another tool's Drizzle history needs this map.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from guard.errors import InputError


def read_drizzle_journal(folders: Iterable[Path]) -> dict[str, int]:
    """`tag -> when` from the `meta/_journal.json` of each folder that has one (empty when none does)."""
    out: dict[str, int] = {}
    for folder in sorted(set(folders)):
        path = folder / "meta" / "_journal.json"
        if not path.is_file():
            continue
        try:
            entries = json.loads(path.read_text(encoding="utf-8")).get("entries", [])
            out.update({str(e["tag"]): int(e["when"]) for e in entries})
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(
                f"{path}: not a readable Drizzle journal ({exc.__class__.__name__}: {exc})",
                "restore meta/_journal.json as drizzle-kit wrote it",
            ) from None
    return out
