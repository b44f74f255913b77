"""The rows an `INSERT` writes, read from sqlglot's tree only when asked (`inserted_rows`):
`migration-guard down` deletes inserted literal rows; the linter never reads them, so a data
file of 100,000 inserts is never parsed for them."""

from __future__ import annotations

from sqlglot import exp

from guard.sql import facts as f
from guard.sql.read_tree import Unmapped, name_of


def _sql(node: exp.Expression) -> str:
    return node.sql(dialect="postgres")


def inserted_rows(fact: f.Insert) -> f.InsertRows | None:
    """What the statement behind `fact` inserts (parsed from the text the fact keeps), None when it
    cannot be read: a `COPY`, an insert from a `SELECT` sqlglot reads as another statement, no text."""
    if not fact.source:
        return None
    from guard.statement import Statement

    return insert_rows(Statement(fact.source, 0, 0, 0).ast)


def insert_rows(tree: exp.Expression | None) -> f.InsertRows | None:
    """What an `INSERT` writes (its columns, and its `VALUES` rows as SQL), None for other trees."""
    if not isinstance(tree, exp.Insert):
        return None
    schema, source = tree.this, tree.expression
    target = schema.this if isinstance(schema, exp.Schema) else schema
    try:
        table = name_of(target)
    except Unmapped:
        table = f.Name("", _sql(target)) if isinstance(target, exp.Expression) else f.NO_NAME
    columns = tuple(_sql(c) for c in schema.expressions) if isinstance(schema, exp.Schema) else ()
    values: tuple[tuple[str, ...], ...] | None = None
    literal = False
    if isinstance(source, exp.Values):
        rows = [row.expressions if isinstance(row, exp.Tuple) else [row] for row in source.expressions]
        values = tuple(tuple(_sql(c) for c in cells) for cells in rows)
        literal = all(len(cells) == len(columns) and all(map(_is_literal, cells)) for cells in rows)
    return f.InsertRows(table, columns, values, literal, tree.args.get("conflict") is not None)


def _is_literal(node: exp.Expression) -> bool:
    if isinstance(node, exp.Literal | exp.Null | exp.Boolean | exp.ByteString):
        return True
    if isinstance(node, exp.Neg):
        return isinstance(node.this, exp.Literal)
    if isinstance(node, exp.Cast):
        return _is_literal(node.this)
    return False
