"""Renames: columns, tables (and `SET SCHEMA`), schemas and enum values.

Renames are instant in Postgres, but the release still running during a deploy uses
the old name until the deploy finishes, so every query naming it fails in that window.
The safe path is expand -> migrate -> contract, or a view that keeps the old name.
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext
from guard.lint.registry import rule
from guard.lint.rules import _shapes
from guard.lint.rules._destructive import ACCESS_EXCLUSIVE, FAMILY, is_contract_step, table_actions
from guard.model import Hit, Severity
from guard.parsing import Statement


@rule(
    id="avoid-rename-column",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("ALTER",),
    lock=ACCESS_EXCLUSIVE,
    summary="Renaming a column breaks every query of the release still running.",
    why="""
        Renames are instant in Postgres, but the previous release still uses the old name until the
        deploy finishes; every query naming it fails in that window (and after a code rollback).
    """,
    fix="""
        1. Expand: add the new column, keep both in sync (trigger or dual writes), backfill in batches.
        2. Ship code that reads the new column.
        3. Contract: drop the old column in a later migration marked `-- guard: contract <expand>`.
    """,
    bad="ALTER TABLE users RENAME COLUMN email TO email_address;",
    good="ALTER TABLE users ADD COLUMN email_address text;",
)
def avoid_rename_column(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    table, actions = table_actions(stmt, ctx, ("rename-column",))
    for a in actions:
        yield Hit(
            f"renames column {table}.{a.shown_column} to {a.new_name}: the running release still uses the old name",
            f"1. Expand: ALTER TABLE {table} ADD COLUMN {a.new_name} <same type>; keep it in sync with"
            f" {a.shown_column} (trigger or dual writes) and backfill it in batches.\n"
            f"2. Ship code that reads {a.new_name}.\n"
            f"3. Contract, in a later migration marked `-- guard: contract <expand version>`:"
            f" ALTER TABLE {table} DROP COLUMN {a.shown_column};",
        )


@rule(
    id="avoid-rename-table",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("ALTER",),
    lock=ACCESS_EXCLUSIVE,
    summary="Renaming a table (or moving it to another schema) breaks the release still using the old name.",
    why="""
        The previous release queries the table by its old name until the deploy finishes; every one of
        those queries fails in that window. `SET SCHEMA` changes the qualified name the same way.
    """,
    fix="""
        Rename and leave a view with the old name in the same migration, so both names work:
        `ALTER TABLE old RENAME TO new; CREATE VIEW old AS SELECT * FROM new;`
        then drop the view in a later contract migration once no release uses the old name.
    """,
    bad="ALTER TABLE orders RENAME TO purchases;",
    good="CREATE TABLE purchases (id bigint PRIMARY KEY);",
)
def avoid_rename_table(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    table, actions = table_actions(stmt, ctx, ("rename-table", "set-schema"))
    for a in actions:
        new = a.new_name if a.kind == "rename-table" else f"{a.new_name}.{table.split('.')[-1]}"
        yield Hit(
            f"renames table {table} to {new}: the running release still queries {table}",
            f"1. In one migration: ALTER TABLE {table} RENAME TO {new.split('.')[-1]};"
            f" CREATE VIEW {table} AS SELECT * FROM {new};\n"
            f"   (a simple view is updatable, so the old release keeps reading and writing).\n"
            f"2. Ship code that uses {new}.\n"
            f"3. Contract, in a later migration marked `-- guard: contract <that version>`: DROP VIEW {table};",
        )


@rule(
    id="avoid-rename-schema",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("ALTER",),
    summary="Renaming a schema breaks every qualified name the running release uses.",
    why="Every query, function and search_path entry naming the old schema fails until all code moves.",
    fix="Create the new schema and move objects over in steps; retire the old one in a contract migration.",
    bad="ALTER SCHEMA billing RENAME TO payments;",
    good="CREATE SCHEMA payments;",
)
def avoid_rename_schema(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    found = _shapes.read_alter_rename(stmt.tokens, "SCHEMA")
    if found is None or is_contract_step(ctx) or ctx.is_new("schema", found[0].key):
        return
    name, new = found
    yield Hit(
        f"renames schema {name.shown} to {new}: every qualified name in the running release breaks",
        f"Create schema {new}, move objects to it over several deploys, then drop {name.shown} in a"
        " contract migration.",
    )


@rule(
    id="avoid-rename-enum-value",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("ALTER",),
    summary="Renaming an enum value breaks code and rows written with the old label.",
    why="""
        The running release writes and compares the old label; after the rename, writes with it fail
        (`invalid input value for enum`) and comparisons silently stop matching.
    """,
    fix="""
        1. Expand: ALTER TYPE ... ADD VALUE 'new' (own migration).
        2. Ship code that writes the new label and reads both; UPDATE rows in batches.
        3. Stop using the old label; removing it needs a new type (contract).
    """,
    bad="ALTER TYPE order_status RENAME VALUE 'shipped' TO 'dispatched';",
    good="ALTER TYPE order_status ADD VALUE 'dispatched' AFTER 'shipped';",
)
def avoid_rename_enum_value(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    found = _shapes.read_enum_value_rename(stmt.tokens)
    if found is None or is_contract_step(ctx) or ctx.is_new("type", found[0].key):
        return
    name, old, new = found
    yield Hit(
        f"renames value {old} of enum {name.shown} to {new}: the running release still writes {old}",
        f"1. ALTER TYPE {name.shown} ADD VALUE {new}; (own migration)\n"
        f"2. Ship code that writes {new} and accepts both; UPDATE rows from {old} to {new} in batches.\n"
        f"3. Leave {old} unused (removing a value needs a new type, in a contract migration).",
    )
