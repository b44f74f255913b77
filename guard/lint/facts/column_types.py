"""Column types as migrations declare them: the (table, column) -> type events of each
`CREATE TABLE` / `ALTER TABLE` statement, a migration's resulting column types, the types a
file declared so far as the lint walks it, and a column's type just before a statement
(`type_before_statement`, which the rules and `fix` share).

Read from each statement's fact (`Statement.fact`), never from its tokens. Also what a type
change does (`type_change_kind`): the one predicate the data-loss and rewrite rules share, so
a type change is reported once (types themselves are `guard.sql.types`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from guard.sql import facts as f
from guard.sql.types import TypeSpec, is_binary_compatible

if TYPE_CHECKING:
    from guard.parsing import Statement


def column_types_of(statements: Iterable[Statement]) -> dict[tuple[str, str], TypeSpec]:
    """Every (table, column) -> type that `statements` declare or change, last one wins."""
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
    that cannot be read (the column's type is then unknown). Read from the statement's fact."""
    # Only CREATE and ALTER can declare a column: other statements are not read into facts here
    # (a data file's inserts, or a MERGE sqlglot would parse, would be read for nothing).
    if stmt.head not in ("CREATE", "ALTER"):
        return ()
    return fact_type_events(stmt.fact)


def fact_type_events(fact: f.Fact) -> tuple[tuple[tuple[str, str], TypeSpec | None], ...]:
    """`column_type_events` of a statement's fact."""
    if isinstance(fact, f.CreateTable):
        table = fact.table.key
        return tuple(((table, c.name.key), c.type) for c in fact.columns if c.type is not None)
    if not isinstance(fact, f.AlterTable):
        return ()
    table = fact.table.key
    events: list[tuple[tuple[str, str], TypeSpec | None]] = []
    for action in fact.actions:
        if isinstance(action, f.AddColumn):
            events.append(((table, action.column.name.key), action.column.type))
        elif isinstance(action, f.AlterColumnType):
            events.append(((table, action.column.key), action.type))
    return tuple(events)


# ---- what a type change does -------------------------------------------------------------------

#: What changing a column's type does to the table and to its readers (`type_change_kind`).
FREE, REWRITE, BREAKING = "free", "rewrite", "breaking"

#: Integer and float widenings: every value fits and readers keep a number of the same kind.
_WIDER = {
    "smallint": frozenset({"integer", "bigint"}),
    "integer": frozenset({"bigint"}),
    "real": frozenset({"double precision"}),
}


def type_change_kind(old: TypeSpec | None, new: TypeSpec | None, using: bool) -> str:
    """What `ALTER COLUMN ... TYPE new [USING ...]` does to a column of type `old` (None: unknown).

    `FREE`: binary compatible, so no rewrite and every value and reader unchanged;
    `REWRITE`: a widening (`integer` to `bigint`, `real` to `double precision`, `numeric` to
    more digits on both sides of the point) that keeps every value and what readers get, but
    rewrites the table; `BREAKING`: anything else (a narrowing or converting change, a `USING`
    clause, or a type that is not known), which readers of the running release may not expect.
    """
    if old is None or new is None or using:
        return BREAKING
    old, new = _unserial(old), _unserial(new)
    if is_binary_compatible(old, new):
        return FREE
    if old.array == new.array and _widens(old, new):
        return REWRITE
    return BREAKING


def breaks_readers(old: TypeSpec | None, new: TypeSpec | None, using: bool) -> bool:
    """True when the type change may break readers of the running release (`type_change_kind`
    is `BREAKING`): the one predicate `avoid-column-type-change` and `avoid-type-change-rewrite`
    share, so a type change is reported once."""
    return type_change_kind(old, new, using) == BREAKING


#: A serial column is its integer type with a sequence default: `serial` to `bigint` widens it.
_SERIAL_BASE = {
    "smallserial": "smallint",
    "serial2": "smallint",
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
}


def _unserial(spec: TypeSpec) -> TypeSpec:
    base = _SERIAL_BASE.get(spec.name)
    return spec if base is None else TypeSpec(base, spec.params, spec.array)


def _widens(old: TypeSpec, new: TypeSpec) -> bool:
    if new.name in _WIDER.get(old.name, ()):
        return True
    if old.name == new.name == "numeric" and old.params and new.params:
        old_scale = old.params[1] if len(old.params) > 1 else 0
        new_scale = new.params[1] if len(new.params) > 1 else 0
        return new_scale >= old_scale and new.params[0] - new_scale >= old.params[0] - old_scale
    return False


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


def type_before_statement(
    statements: Sequence[Statement],
    stmt: Statement,
    table: str,
    column: str,
    spec: TypeSpec | None,
    so_far: TypesSoFar | None = None,
) -> TypeSpec | None:
    """The column's type just before `stmt`, from the statements of its file that precede it,
    starting from `spec` (what the earlier migrations left); `spec` when none declares it.

    `so_far` is the file's `TypesSoFar` over these `statements` (the lint keeps one per file, so
    asking about every statement in order reads the file once); without it the file is read here.
    """
    if so_far is None or so_far.statements is not statements:
        so_far = TypesSoFar(statements)
    last = so_far.before(stmt).get((table, column))
    # None: never declared here, or its last change has a type that cannot be read.
    return spec if last is None else last
