"""JSON output: a documented, versioned schema (docs/json-schema.md).

Shape: `{"schema_version": 1, "tool": {...}, "findings": [...], "summary": {...}}`.

Indented only for a person at a terminal: the standard library encodes an indented
document in pure Python (several times slower than its C encoder on a large report),
and a program reading the output does not care about whitespace.
"""

from __future__ import annotations

import json
from typing import IO, TYPE_CHECKING, Any

from guard import __version__

if TYPE_CHECKING:
    from guard.lint.engine import LintResult

SCHEMA_VERSION = 1


def as_document(result: LintResult) -> dict[str, Any]:
    """The JSON document as a dict."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "migration-guard", "version": __version__},
        "findings": [f.as_dict() for f in result.findings],
        "notices": list(result.notices),
        "summary": result.summary(),
    }


def render(result: LintResult, stream: IO[str], **_: object) -> None:
    """Write the JSON document, one object, newline-terminated (indented on a terminal)."""
    write_json(as_document(result), stream)


def write_json(document: object, stream: IO[str], *, ascii_only: bool = True) -> None:
    """Write `document` as JSON and a newline: indented only on a terminal, in one write (the
    JSON, SARIF and GitLab reports). `ascii_only` False keeps non-ASCII characters as they are."""
    isatty = getattr(stream, "isatty", None)
    indent = 2 if isatty is not None and isatty() else None
    # One write of the whole text: json.dump issues thousands of small writes.
    text = json.dumps(document, indent=indent, ensure_ascii=ascii_only, check_circular=False)
    stream.write(text + "\n")
