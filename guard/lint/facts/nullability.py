"""Nullability facts of migrations, read from the statement model: `CHECK (col IS NOT NULL)`
constraints and their validation, the unique indexes `CREATE UNIQUE INDEX` declares, what a
statement says about a table's columns' nullability, and which tables a statement may tell about.

Read by the lint context and the schema index (below the rules), by the NOT NULL rules and by
`fix`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from guard.sql import facts as f

if TYPE_CHECKING:
    from guard.statement import Statement

#: An index column the model keeps as a plain name (an expression's SQL has parentheses,
#: operators or spaces).
_PLAIN = re.compile(r'[^\s()"+\-*/|<>=!~&,:\[\]\']+')


def not_null_check_actions(fact: f.Fact) -> Iterator[tuple[str, str, str, bool]]:
    """(table, constraint, column, validated) for `ADD [CONSTRAINT c] CHECK (col IS NOT NULL) [NOT VALID]`
    actions and (table, constraint, '', True) for `VALIDATE CONSTRAINT c`."""
    if not isinstance(fact, f.AlterTable):
        return
    table = fact.table.key
    for action in fact.actions:
        if isinstance(action, f.ValidateConstraint):
            yield table, action.name.key, "", True
        elif isinstance(action, f.AddConstraint):
            c = action.constraint
            if c.kind == f.CHECK and c.not_null_column:
                yield table, c.name.key if c.name else "", c.not_null_column, c.valid


def unique_index_def(fact: f.Fact) -> tuple[str, str, list[str | None]] | None:
    """(index name, table key, columns; None for an expression) of `CREATE UNIQUE INDEX name ON table (...)`."""
    if not isinstance(fact, f.CreateIndex) or not fact.unique or fact.name is None:
        return None
    columns: list[str | None] = [
        c if not fact.expressions or _PLAIN.fullmatch(c) else None for c in fact.columns
    ]
    return fact.name.key, fact.table.key, columns


def nullability(fact: f.Fact, table: str, known: dict[str, bool]) -> None:
    """Update `known` (column -> declared NOT NULL) with what `fact` declares about `table`."""
    if isinstance(fact, f.CreateTable) and fact.table.key == table:
        known.clear()
        for col in fact.columns:
            known[col.name.key] = col.not_null or col.primary_key
        for c in fact.constraints:
            if c.kind == f.PRIMARY_KEY:
                known.update(dict.fromkeys(c.columns, True))
        return
    if not isinstance(fact, f.AlterTable) or fact.table.key != table:
        return
    for action in fact.actions:
        if isinstance(action, f.AddColumn):
            known[action.column.name.key] = action.column.not_null or action.column.primary_key
        elif isinstance(action, f.SetNotNull | f.DropNotNull):
            known[action.column.key] = isinstance(action, f.SetNotNull)
        elif isinstance(action, f.AddConstraint):
            c = action.constraint
            if c.kind == f.PRIMARY_KEY and c.using_index is None:
                known.update(dict.fromkeys(c.columns, True))


def declared_nullability(statements: Iterable[Statement], table: str) -> dict[str, bool]:
    """Column -> declared NOT NULL for `table` after `statements` (in order); used by `fix`."""
    known: dict[str, bool] = {}
    for stmt in statements:
        nullability(stmt.fact, table, known)
    return known


def nullability_tables(fact: f.Fact) -> set[str]:
    """The tables whose nullability or unique indexes `fact` may tell about (what `nullability`
    and `unique_index_def` read): the schema index and the lint context file each statement
    under these."""
    if isinstance(fact, f.CreateTable | f.AlterTable):
        return {fact.table.key}
    unique = unique_index_def(fact)
    return {unique[1]} if unique is not None else set()
