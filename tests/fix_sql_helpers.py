"""Checks that suggested fixes are SQL that parses (helper for rule and corpus tests).

The linter writes fixes without sqlglot (`guard.sql.safe_sql`, `parse=False`); these helpers
are the check, run by the tests instead of at lint time.
"""

from __future__ import annotations

import logging
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

#: Words a fix statement starts with.
_HEADS = r"(?:ALTER|CREATE|DROP|REINDEX|SET|LOCK|UPDATE|SELECT|COMMENT|VALIDATE|DELETE|INSERT)"
#: A statement in a fix: from a SQL keyword to `;`, the keyword at a line start, in backticks or
#: after `: `, `; ` or `, then ` (how the rules' steps lead into their SQL).
_STATEMENT = re.compile(rf"(?:^|(?<=: )|(?<=; )|(?<=`)|(?<=, then ))({_HEADS}\b[^;`\n]*;)", re.MULTILINE)
#: A template a user completes (`DEFAULT <constant>`), not SQL.
_PLACEHOLDER = re.compile(r"<[a-z][a-z ]*>")
_ID = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_NAME = rf"{_ID}(?:\.{_ID})?"
#: The statements sqlglot keeps as a raw command (it does not model them), in the exact shapes
#: Postgres accepts; anything else sqlglot does not structure fails the check.
COMMAND_FORMS = tuple(
    re.compile(form + r"\s*;?", re.IGNORECASE)
    for form in (
        rf"ALTER TABLE {_NAME} VALIDATE CONSTRAINT {_ID}",
        rf"ALTER TABLE {_NAME} ADD (?:CONSTRAINT {_ID} )?(?:UNIQUE|PRIMARY KEY) USING INDEX {_ID}",
        rf"ALTER DOMAIN {_NAME} VALIDATE CONSTRAINT {_ID}",
        rf"ALTER DOMAIN {_NAME} ADD CONSTRAINT {_ID} CHECK \(.+\)(?: NOT VALID)?",
        rf"REINDEX (?:INDEX|TABLE|SCHEMA|DATABASE) (?:CONCURRENTLY )?{_NAME}",
        rf"LOCK TABLE {_NAME} IN [A-Z ]+ MODE",
    )
)

logging.getLogger("sqlglot").setLevel(logging.CRITICAL)


def statements(fix: str) -> list[str]:
    """Every SQL statement written in a finding's fix text, templates with `<placeholders>` left out."""
    return [s for s in _STATEMENT.findall(fix) if not _PLACEHOLDER.search(s.replace("<>", ""))]


def parses(sql: str) -> bool:
    """True when every statement of `sql` parses with sqlglot (postgres dialect)."""
    try:
        return all(tree is not None for tree in sqlglot.parse(sql, read="postgres"))
    except SqlglotError:
        return False


def structured(statement: str) -> bool:
    """True when sqlglot reads `statement` as one structured statement, or as a raw command of
    one of the `COMMAND_FORMS` it does not model."""
    try:
        trees = [t for t in sqlglot.parse(statement, read="postgres") if t is not None]
    except SqlglotError:
        return False
    if len(trees) != 1:
        return False
    if not isinstance(trees[0], exp.Command):
        return True
    return any(form.fullmatch(" ".join(statement.split())) for form in COMMAND_FORMS)
