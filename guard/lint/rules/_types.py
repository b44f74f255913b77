"""A column's type just before a statement, for the destructive and rewrite rules: what the
earlier migrations left (`guard.lint.schema_index`), then what this file's earlier statements
declared (`guard.lint.facts.column_types.TypesSoFar`, read forward once per file).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from guard.lint.facts.column_types import TypesSoFar

if TYPE_CHECKING:
    from guard.lint.context import FileContext
    from guard.parsing import Statement
    from guard.sql.types import TypeSpec


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


def file_type_before(ctx: FileContext, stmt: Statement, table: str, column: str) -> TypeSpec | None:
    """The column's type just before `stmt`: earlier migrations in version order, then this file."""
    spec = ctx.schema.column_type_before(ctx.migration, table, column)
    statements = ctx.schema.statements(ctx.migration)[0]
    if ctx.types_so_far is None or ctx.types_so_far.statements is not statements:
        ctx.types_so_far = TypesSoFar(statements)
    return type_before_statement(statements, stmt, table, column, spec, ctx.types_so_far)
