"""SQL about columns for suggested fixes (`ADD COLUMN`, `SET DEFAULT`, `DROP COLUMN`), generated
from the statement model with sqlglot (postgres dialect), never glued from tokens.

Each function returns one statement ending in `;`, or None when sqlglot cannot build it (a
type or default it does not read): the caller then describes the step in words.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from guard.sql.facts import Name

_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")


def identifier(name: str) -> exp.Identifier:
    """An identifier for the key `name` (what Postgres resolves), quoted when it must be."""
    return exp.to_identifier(name, quoted=_PLAIN.fullmatch(name) is None)


def _table(table: Name) -> exp.Table | None:
    try:
        return exp.to_table(table.shown, dialect="postgres")
    except SqlglotError:
        return None


def _alter(table: Name, action: exp.Expression) -> str | None:
    target = _table(table)
    if target is None:
        return None
    return exp.Alter(this=target, kind="TABLE", actions=[action]).sql("postgres") + ";"


def add_column(table: Name, column: str, type_sql: str) -> str | None:
    """`ALTER TABLE table ADD COLUMN column type_sql;` (`column` is a key)."""
    try:
        kind = exp.DataType.build(type_sql, dialect="postgres", udt=True)
    except (SqlglotError, ValueError):
        return None
    return _alter(table, exp.ColumnDef(this=identifier(column), kind=kind))


def set_default(table: Name, column: str, default_sql: str) -> str | None:
    """`ALTER TABLE table ALTER COLUMN column SET DEFAULT default_sql;`."""
    try:
        default = sqlglot.parse_one(default_sql, dialect="postgres")
    except SqlglotError:
        return None
    return _alter(table, exp.AlterColumn(this=identifier(column), default=default))


def drop_column(table: Name, column: str) -> str | None:
    """`ALTER TABLE table DROP COLUMN column;`."""
    return _alter(table, exp.Drop(tables=[exp.column(identifier(column))], kind="COLUMN"))
