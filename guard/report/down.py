"""Rendering of `down` results: the JSON document and the text report (drafts, then a summary)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from guard.textsafe import safe_line

if TYPE_CHECKING:
    from guard.down.result import DownResult, Draft

_LABELS = {"verified": "verified", "irreversible": "IRREVERSIBLE", "refused": "REFUSED"}


def _shown(path: Path | None) -> str | None:
    from guard.paths import display_path

    return display_path(path) if path is not None else None


def as_document(result: DownResult, *, write: bool) -> dict[str, Any]:
    """The JSON output of `down`."""
    from guard import __version__

    return {
        "schema_version": 1,
        "tool": {"name": "migration-guard", "version": __version__, "command": "down"},
        "server": result.server,
        "write": write,
        "drafts": [d.as_dict(_shown(d.target)) for d in result.drafts],
        "notices": list(result.notices),
        "summary": result.summary(),
        "seconds": round(result.seconds, 3),
    }


def render_text(result: DownResult, stream: IO[str], *, write: bool) -> None:
    """Each draft (its status, where it goes, why, and its SQL unless written), then the summary."""
    stream.write(f"down on {safe_line(result.server)}\n")
    for d in result.drafts:
        stream.write(_draft_lines(d, write=write))
    for notice in result.notices:
        stream.write(f"note: {safe_line(notice)}\n")
    c = result.summary()
    stream.write(
        f"\n{c['needed']} migration(s) needed a down: {c['drafted']} drafted ({c['verified']} verified, "
        f"{c['irreversible']} declared irreversible), {c['refused']} refused"
        + (f"; {c['written']} written" if write else "; nothing written (pass --write to write them)")
        + f"  ({result.seconds:.1f}s)\n"
    )


def _draft_lines(d: Draft, *, write: bool) -> str:
    where = _shown(d.target)
    head = f"  {_LABELS[d.status]:12} {safe_line(d.id)}  ({safe_line(d.need)})"
    lines = [head + "\n"]
    if d.status == "refused":
        lines.append(f"      reason: {safe_line(d.reason)}\n")
        return "".join(lines)
    action = "wrote" if d.written else ("would write" if not write else "not written")
    lines.append(f"      {action} {safe_line(where or '?')} ({d.method})\n")
    for reason in d.irreversible:
        lines.append(f"      irreversible: {safe_line(reason)}\n")
    if not d.written:
        lines.extend(f"      | {safe_line(line)}\n" for line in d.sql.rstrip("\n").splitlines())
    return "".join(lines)
