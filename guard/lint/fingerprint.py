"""A finding's statement, fingerprinted so that reformatting or moving it keeps its identity.

The lint baseline (see `guard.lint.baseline`) recognises an accepted finding by its
migration, its rule and this fingerprint, never by line number. The statement is read as
tokens (comments and whitespace dropped) and written back in one canonical spelling:
bare words in lower case (Postgres folds unquoted names and keywords alike), quoted
names, strings and numbers exactly as they are, single spaces between tokens.
So `ALTER TABLE Users\n  DROP COLUMN x -- old` and `alter table users drop column x`
share a fingerprint, while `"Users"` (a different table) or `'a'` vs `'b'` do not.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from guard.tokens import IDENT, STRING, WORD, tokenize

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from guard.parsing import Statement
    from guard.tokens import Token

#: Hex digits kept of the sha256 (64 bits: no collision among a project's findings).
FINGERPRINT_CHARS = 16


def normalize_statement(text: str) -> str:
    """The canonical spelling of one statement (see the module doc)."""
    return normalize_tokens(tokenize(text))


def normalize_tokens(tokens: Iterable[Token]) -> str:
    """`normalize_statement` of a statement already read into tokens."""
    return " ".join(
        t.text.lower() if t.kind == WORD else t.shown() if t.kind in (IDENT, STRING) else t.text
        for t in tokens
    )


def fingerprint_text(normalized: str) -> str:
    """The fingerprint of an already normalized statement."""
    return hashlib.sha256(normalized.encode("utf-8", "surrogatepass")).hexdigest()[:FINGERPRINT_CHARS]


def statement_fingerprint(stmt: Statement) -> str:
    """The fingerprint of `stmt`, computed once per statement (several rules may flag it)."""
    # `tokens` is cached on the statement: most flagged statements were read into tokens by a rule.
    return stmt.derived("baseline-fingerprint", lambda s: fingerprint_text(normalize_tokens(s.tokens)))


def statement_at(statements: Sequence[Statement], line: int) -> Statement | None:
    """The statement spanning `line` (for file-scope findings that point at one), or None."""
    for stmt in statements:
        if stmt.line <= line <= stmt.end_line:
            return stmt
        if stmt.line > line:
            break
    return None
