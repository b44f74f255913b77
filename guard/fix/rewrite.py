"""Rewrite a migration's own files: replace offending statements line by line, add directives,
and put the sections back into a dbmate file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from guard.fix.layout import dbmate_text
from guard.model import Migration
from guard.sql.safe_sql import no_transaction_directive
from guard.statement import Statement


@dataclass(frozen=True)
class Replacement:
    """Lines `first..last` (1-based, of the file) of the up section become `text` (no newline at the end)."""

    first: int
    last: int
    text: str


def shares_a_line(stmt: Statement, statements: Sequence[Statement]) -> bool:
    """True when another statement starts or ends on one of `stmt`'s lines (line edits would cut it)."""
    return any(
        o.index != stmt.index and not (o.end_line < stmt.line or o.line > stmt.end_line) for o in statements
    )


def replacement(stmt: Statement, statements: Sequence[str], comment: str) -> Replacement:
    """The lines that take `stmt`'s place: a comment saying what `fix` did, then the statements."""
    body = [f"-- {comment}"] + [s.rstrip().rstrip(";") + ";" for s in statements]
    return Replacement(stmt.line, stmt.end_line, "\n".join(body))


def edit_section(
    section: str, first_line: int, edits: Sequence[Replacement], prepend: Sequence[str] = ()
) -> str:
    """`section` (starting at file line `first_line`) with `edits` applied and `prepend` lines on top."""
    lines = section.split("\n")
    for edit in sorted(edits, key=lambda e: e.first, reverse=True):
        a, b = edit.first - first_line, edit.last - first_line
        lines[a : b + 1] = edit.text.split("\n")
    return "\n".join([*prepend, *lines])


def up_prepend(up: str, *, no_transaction: bool, timeouts: Sequence[str]) -> list[str]:
    """Lines to put on top of an up section: the no-transaction directive (when missing) and timeouts."""
    out: list[str] = []
    if no_transaction and no_transaction_directive() not in up:
        out.append(no_transaction_directive())
    return out + [t.rstrip(";") + ";" for t in timeouts]


def source_files(m: Migration, up: str, down: str | None, *, no_transaction: bool) -> list[tuple[str, str]]:
    """(path, new text) of the fixed migration's own files; `down` None keeps the down as it is."""
    if m.layout == "dbmate":
        text = m.up_path.read_text(encoding="utf-8")
        prefix = "".join(line + "\n" for line in text.split("\n")[: m.up_line - 2])
        old_down = m.down_sql if m.down_sql is not None else None
        return [
            (
                str(m.up_path),
                dbmate_text(
                    up, down if down is not None else old_down, no_transaction=no_transaction, prefix=prefix
                ),
            )
        ]
    out = [(str(m.up_path), up)]
    if down is not None and m.down_path is not None:
        out.append((str(m.down_path), down))
    return out
