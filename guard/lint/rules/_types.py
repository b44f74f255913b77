"""Column types shared by the destructive and rewrite rules: normalising a type, finding a
column's current type in earlier migrations, and deciding whether a type change is a
binary-compatible widening (no rewrite, readers unaffected).

Postgres skips the table rewrite, and existing readers keep working, when the new
type is binary coercible from the old and no `USING` clause recomputes values:
`varchar(n)` to a longer `varchar` / `varchar` / `text`, `text` to unbounded
`varchar`, `numeric(p,s)` to `numeric(p2>=p, s)` or unbounded `numeric`,
`varbit(n)` to a longer `varbit`, `cidr` to `inet`, and raising or removing the
fractional-seconds precision of `timestamp`, `timestamptz`, `time`, `timetz` and
`interval` (their typmod support functions skip the rewrite when no value can change).
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


def type_before_statement(
    statements: Sequence[Statement], stmt: Statement, table: str, column: str, spec: TypeSpec | None
) -> TypeSpec | None:
    """The column's type just before `stmt`, from the statements of its file that precede it,
    starting from `spec` (what the earlier migrations left); `spec` when none declares it.

    Reads each statement's `column_type_events` (memoized), not a re-split of the file.
    """
    key = (table, column)
    last: TypeSpec | None = None
    for s in statements:
        if s.index >= stmt.index:
            break
        for k, declared in column_type_events(s):
            if k == key:
                last = declared
    # None: never declared here, or its last change has a type that cannot be read.
    return spec if last is None else last
