"""A Postgres or libpq error as the one line every message of the tool is.

Postgres reports a primary message and, apart, DETAIL, HINT and CONTEXT; libpq's own
messages span lines too (`server closed the connection unexpectedly\n\tThis probably
means...`). Printed raw they break the one-line format of errors, reports and audit
rows, so they are joined here: `primary | DETAIL: ... | HINT: ...`.
"""

from __future__ import annotations

from guard.textsafe import one_line


def pg_message(exc: BaseException) -> str:
    """`exc`'s primary message with its DETAIL and HINT (when Postgres sent them), on one line."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if not primary:
        return one_line(str(exc))
    parts = [primary]
    detail = getattr(diag, "message_detail", None)
    hint = getattr(diag, "message_hint", None)
    if detail:
        parts.append(f"DETAIL: {detail}")
    if hint:
        parts.append(f"HINT: {hint}")
    return one_line("\n".join(parts))
