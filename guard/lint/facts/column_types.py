"""Column types as migrations declare them: the (table, column) -> type events of each
`CREATE TABLE` / `ALTER TABLE` statement, a migration's resulting column types, and the
types a file declared so far as the lint walks it.

Facts, not judgments: the lint context, the schema index and the rules read them here
(types themselves are `guard.sql.types`; what a type change costs is the rules' call).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from guard.sql.types import TypeSpec, parse_type, type_tokens
from guard.tokens import IDENT, PUNCT, WORD, Token, read_qualified_name, split_on

if TYPE_CHECKING:
    from guard.parsing import Statement


def _column_defs(tokens: tuple[Token, ...]) -> Iterable[tuple[str, tuple[Token, ...]]]:
    """(column, type tokens) of `CREATE TABLE t (...)` column definitions."""
    open_at = next((i for i, t in enumerate(tokens) if t.kind == PUNCT and t.text == "("), None)
    if open_at is None:
        return
    for part in split_on(tokens[open_at + 1 :], ","):
        first = part[0]
        if first.upper in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE", "LIKE"):
            continue
        if first.is_name() and len(part) > 1:
            yield first.name, type_tokens(part[1:])


@lru_cache(maxsize=4096)
def column_types(sql: str) -> dict[tuple[str, str], TypeSpec]:
    """Every (table, column) -> type that `sql` declares or changes, last one wins.

    Pure and cached by text: a type-change check looks up the column in each
    earlier migration, and each migration is read once per process.
    """
    from guard.parsing import split_statements

    return column_types_of(split_statements(sql)[0])


def column_types_of(statements: Iterable[Statement]) -> dict[tuple[str, str], TypeSpec]:
    """`column_types` of statements already split (the lint's own, so they are tokenized once)."""
    found: dict[tuple[str, str], TypeSpec] = {}
    for stmt in statements:
        for key, spec in column_type_events(stmt):
            if spec is not None:
                found[key] = spec
            else:
                found.pop(key, None)
    return found


def column_type_events(stmt: Statement) -> tuple[tuple[tuple[str, str], TypeSpec | None], ...]:
    """What one statement declares, in order: ((table, column), type) for each column a `CREATE
    TABLE` or `ALTER TABLE ... ADD / ALTER TYPE` declares, type None when an `ALTER` gives a type
    that cannot be read (the column's type is then unknown). Read once per statement."""
    if stmt.head not in ("CREATE", "ALTER") or "TABLE" not in stmt.lead[:4]:
        return ()
    return stmt.derived("types.column_events", _column_type_events)


def _column_type_events(stmt: Statement) -> tuple[tuple[tuple[str, str], TypeSpec | None], ...]:
    toks = stmt.tokens
    at = next(i for i, t in enumerate(toks) if t.upper == "TABLE") + 1
    while at < len(toks) and toks[at].upper in ("IF", "NOT", "EXISTS", "ONLY"):
        at += 1
    parts, at = read_qualified_name(toks, at)
    if not parts:
        return ()
    table = parts[-1].name
    events: list[tuple[tuple[str, str], TypeSpec | None]] = []
    if stmt.head == "CREATE":
        if at >= len(toks) or toks[at].text != "(":
            return ()  # CREATE TABLE ... AS / PARTITION OF / OF type: no column list here
        for column, ttoks in _column_defs(toks[at:]):
            spec = parse_type(ttoks)
            if spec is not None:
                events.append(((table, column), spec))
        return tuple(events)
    for action in split_on(toks[at:], ","):
        column, ttoks = _action_type(action)
        if column:
            events.append(((table, column), parse_type(ttoks)))
    return tuple(events)


def _action_type(action: tuple[Token, ...]) -> tuple[str, tuple[Token, ...]]:
    """(column, type tokens) for `ADD [COLUMN] c type` and `ALTER [COLUMN] c [SET DATA] TYPE type`."""
    words = [t.upper for t in action]
    i = 1
    if words[:1] == ["ADD"]:
        if words[1:2] == ["COLUMN"]:
            i = 2
        if words[i : i + 3] == ["IF", "NOT", "EXISTS"]:
            i += 3
        if i < len(action) and action[i].is_name() and words[i] not in ("CONSTRAINT", "PRIMARY", "UNIQUE"):
            return action[i].name, type_tokens(action[i + 1 :])
    elif words[:1] == ["ALTER"]:
        if words[1:2] == ["COLUMN"]:
            i = 2
        if i < len(action) and action[i].kind in (WORD, IDENT):
            rest = words[i + 1 :]
            j = i + 1
            if rest[:3] == ["SET", "DATA", "TYPE"]:
                j += 3
            elif rest[:1] == ["TYPE"]:
                j += 1
            else:
                return "", ()
            return action[i].name, type_tokens(action[j:])
    return "", ()


class TypesSoFar:
    """The column types a file's statements declare, read forward once as the lint walks the file.

    `before(stmt)` folds the `column_type_events` of the statements preceding `stmt`
    onto those it already folded, so asking about each statement of a file in order
    costs one pass over the file, not one pass per question.
    """

    def __init__(self, statements: Sequence[Statement]) -> None:
        self.statements = statements
        self._next = 0
        #: (table, column) -> the last type declared so far (None: the last change cannot be read).
        self._last: dict[tuple[str, str], TypeSpec | None] = {}

    def before(self, stmt: Statement) -> dict[tuple[str, str], TypeSpec | None]:
        """The last type each column got from the statements before `stmt` (do not mutate)."""
        statements = self.statements
        if self._next and statements[self._next - 1].index >= stmt.index:
            self._next, self._last = 0, {}  # asked about an earlier statement: fold again
        while self._next < len(statements) and statements[self._next].index < stmt.index:
            for key, declared in column_type_events(statements[self._next]):
                self._last[key] = declared
            self._next += 1
        return self._last
