"""Small migration trees written to disk, and what discovery made of them, for the layout tests."""

from __future__ import annotations

from pathlib import Path

from guard.layouts import Discovery


def make(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative path -> content) under `root` and return `root`."""
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_bytes(content.encode("utf-8"))
    return root


def ids(d: Discovery) -> list[str]:
    return [m.id for m in d.migrations]


def rules(d: Discovery) -> list[str]:
    return sorted(f.rule for f in d.findings)
