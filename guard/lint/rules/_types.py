"""A column's type just before a statement, for the destructive and rewrite rules: what the
earlier migrations left (`guard.lint.schema_index`), then what this file's earlier statements
declared (`guard.lint.facts.column_types.TypesSoFar`, read forward once per file).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from guard.lint.facts.column_types import TypesSoFar, type_before_statement

if TYPE_CHECKING:
    from guard.lint.context import FileContext
    from guard.parsing import Statement
    from guard.sql.types import TypeSpec


def file_type_before(ctx: FileContext, stmt: Statement, table: str, column: str) -> TypeSpec | None:
    """The column's type just before `stmt`: earlier migrations in version order, then this file."""
    spec = ctx.schema.column_type_before(ctx.migration, table, column)
    statements = ctx.schema.statements(ctx.migration)[0]
    if ctx.types_so_far is None or ctx.types_so_far.statements is not statements:
        ctx.types_so_far = TypesSoFar(statements)
    return type_before_statement(statements, stmt, table, column, spec, ctx.types_so_far)
