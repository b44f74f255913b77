"""What only migration-guard may change: its own schema (`history_schema`: history and audit)
and the environment marker table (`marker_table`). A migration that writes either is refused,
by lint (rules that cannot be suppressed or disabled) and by the runner before anything runs.

A statement touches a protected object when:

- it names it (bare or quoted, schema-qualified or not) and is not a plain read:
  anything but `SELECT` without `INTO`, `WITH` without a data-modifying part, `TABLE`,
  `VALUES`, `SHOW`. DDL naming it (`CREATE VIEW ... AS SELECT ... FROM migration_guard.audit`,
  `GRANT`, `SET search_path = migration_guard`, `ALTER TABLE t SET SCHEMA migration_guard`)
  counts: each ties the object to the application or changes what it means;
- or a string in it (a `DO` body, a function body, an `EXECUTE`d text, a `set_config`
  argument) mentions the name, unless that string reads as a read-only query (it says
  SELECT and none of the words that change something): dynamic SQL cannot be proven to
  leave the object alone. Names built by concatenation escape this check; the audit
  trail's triggers and the marker check of the next run still stand behind it.

Pure functions of the statement text and the settings; both the rules and the runner call them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from guard.tokens import IDENT, STRING, WORD, tokenize

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.model import Migration
    from guard.parsing import Statement

SCHEMA, MARKER = "schema", "marker"
#: The rules built on this module: no directive, setting or baseline silences them
#: (their records say `suppressible=False`; a test holds the two in step).
LOCKED_RULES = frozenset({"avoid-touching-guard-schema", "avoid-writing-env-marker"})
_READ_HEADS = frozenset({"SELECT", "WITH", "TABLE", "VALUES", "SHOW"})
_MODIFYING = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "INTO"})
#: Words that make a string mentioning a protected name more than a read-only query.
_WRITE_WORDS = frozenset(
    {
        "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "DROP", "ALTER", "CREATE", "GRANT", "REVOKE",
        "COPY", "COMMENT", "SECURITY", "REINDEX", "VACUUM", "CLUSTER", "LOCK", "SET", "RESET", "RENAME",
        "EXECUTE", "CALL", "IMPORT", "REFRESH", "DISCARD",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Touch:
    """One statement touching a protected object."""

    kind: str  # SCHEMA | MARKER
    name: str
    line: int
    how: str

    def describe(self) -> str:
        """`<what> <how>`, for findings and refusals."""
        what = (
            f"migration-guard's own schema {self.name}"
            if self.kind == SCHEMA
            else f"the environment marker table {self.name}"
        )
        return f"{self.how} {what}"


def _targets(settings: Settings) -> tuple[tuple[str, str, str], ...]:
    """(kind, name, name in lower case) of each protected object."""
    return _targets_of(settings.history_schema, settings.marker_table)


@cache
def _targets_of(schema: str, marker: str) -> tuple[tuple[str, str, str], ...]:
    return ((SCHEMA, schema, schema.lower()), (MARKER, marker, marker.lower()))


def statement_touches(stmt: Statement, settings: Settings) -> list[Touch]:
    """Protected objects `stmt` touches (empty for almost every statement: one text scan each,
    shared by both protected rules through the statement's memo)."""
    key = f"protected:{settings.history_schema}:{settings.marker_table}"
    return stmt.derived(key, lambda s: _scan(s, settings))


def _scan(stmt: Statement, settings: Settings) -> list[Touch]:
    text = stmt.text.lower()  # one C pass; a case-insensitive regex search is ~10x slower
    wanted = [(kind, name, low) for kind, name, low in _targets(settings) if low in text]
    if not wanted:
        return []
    tokens = stmt.tokens
    words = {t.upper for t in tokens if t.kind == WORD}
    head = stmt.head
    read = head in _READ_HEADS and not (words & _MODIFYING)
    out: list[Touch] = []
    for kind, name, lowered in wanted:
        if not read and any(t.kind in (WORD, IDENT) and t.name == name for t in tokens):
            out.append(Touch(kind, name, stmt.line, f"{head or 'this'} statement changes or depends on"))
            continue
        for t in tokens:
            if t.kind == STRING and lowered in t.text.lower() and not _read_only_text(t.text):
                out.append(Touch(kind, name, stmt.line, "dynamic SQL or a string setting names"))
                break
    return out


def _read_only_text(text: str) -> bool:
    """True when a string reads as a read-only query: it says SELECT and nothing that writes."""
    words = set(_words(text))
    return "SELECT" in words and not (words & _WRITE_WORDS)


def _words(text: str) -> Iterator[str]:
    """Every word of `text`, strings inside it included (a DO body's EXECUTEd text)."""
    for t in tokenize(text):
        if t.kind == WORD:
            yield t.upper
        elif t.kind == STRING:
            yield from _words(t.text)


def migration_touches(migration: Migration, settings: Settings, direction: str = "up") -> list[Touch]:
    """Every protected-object touch in one migration's up (or down) SQL."""
    from guard.parsing import split_statements

    if direction == "up":
        sql, first = migration.up_sql, migration.up_line
    else:
        sql, first = migration.down_sql or "", migration.down_line
    lowered = sql.lower()
    if not any(low in lowered for _, _, low in _targets(settings)):
        return []
    statements, _ = split_statements(sql, first)
    return [t for stmt in statements for t in statement_touches(stmt, settings)]


def refuse_touches(migrations: Iterable[Migration], settings: Settings, direction: str = "up") -> None:
    """Raise `SafetyError` when any of `migrations` touches a protected object (the runner's check,
    which no setting or directive turns off)."""
    from guard.errors import SafetyError

    for m in migrations:
        found = migration_touches(m, settings, direction)
        if found:
            path = m.up_path if direction == "up" else (m.down_path or m.up_path)
            where = ", ".join(f"{path}:{t.line}: {t.describe()}" for t in found[:3])
            raise SafetyError(
                f"refusing to run {m.id} ({direction}): {where}",
                "only migration-guard writes its own schema, and only `migration-guard marker init` "
                "changes the marker; remove the statement from the migration",
            )
