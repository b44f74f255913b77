"""SQL for suggested fixes, generated with sqlglot from the model's names, never glued from text.

A fix is written as a template statement whose placeholders are identifiers spelled `__x__`;
`render` parses it (postgres dialect), puts each placeholder's name or type in place as a
sqlglot node, and generates the statement, so what a fix shows always parses.
"""

from __future__ import annotations

import sqlglot
import sqlglot.errors
from sqlglot import exp

from guard.sql.facts import Name


def render(template: str, **parts: Name | str) -> str:
    """`template` with `__key__` placeholders replaced: a `Name` as a table (where the template
    has a table) or an identifier, a `str` as a type. Ends with `;`. Raises ValueError for a
    template sqlglot only reads as a command (its parts could not be put in place)."""

    def put(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and _key(node.name) in parts and not node.args.get("db"):
            value = parts[_key(node.name)]
            if isinstance(value, Name):
                return exp.to_table(value.shown, dialect="postgres")
        if isinstance(node, exp.Identifier) and _key(node.this) in parts:
            value = parts[_key(node.this)]
            if isinstance(value, Name):
                return exp.parse_identifier(value.shown, dialect="postgres")
        if isinstance(node, exp.DataType) and isinstance(node.args.get("kind"), exp.Identifier):
            spelled = parts.get(_key(node.args["kind"].this))
            if isinstance(spelled, str):
                return exp.DataType.build(spelled, dialect="postgres")
        return node

    tree = sqlglot.parse_one(template, dialect="postgres")
    if isinstance(tree, exp.Command):
        raise ValueError(f"sqlglot does not structure {template!r}")
    return tree.transform(put).sql(dialect="postgres") + ";"


def name_of_key(key: str) -> Name:
    """A `Name` for a name Postgres stores as `key`, quoted when it would not read back as written."""
    plain = key.isidentifier() and key == key.lower() and key.isascii()
    return Name(key, key if plain else '"' + key.replace('"', '""') + '"')


def _key(placeholder: str) -> str:
    return placeholder[2:-2] if placeholder.startswith("__") and placeholder.endswith("__") else ""


def add_column(table: Name, column: Name, type_sql: str) -> str:
    """`ALTER TABLE t ADD COLUMN c <type>;`, or words when sqlglot cannot build the type's spelling."""
    try:
        return render("ALTER TABLE __t__ ADD COLUMN __c__ __ty__", t=table, c=column, ty=type_sql)
    except (ValueError, sqlglot.errors.SqlglotError):
        return f"add column {column.shown} of type {type_sql} to {table.shown};"
