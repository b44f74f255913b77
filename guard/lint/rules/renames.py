"""Renames: columns, tables (and `SET SCHEMA`), schemas, enum values, and every other object the
application names (views, sequences, types, functions, ...).

Renames are instant in Postgres, but the release still running during a deploy uses
the old name until the deploy finishes, so every query naming it fails in that window.
The safe path is expand -> migrate -> contract, or a swap that gives the old name to
the replacement (a view) in the same transaction. Checks read the statement model
(`AlterTable`'s rename actions, `Rename`, and `AlterOther` for `SET SCHEMA`).
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext
from guard.lint.registry import rule
from guard.lint.rules._destructive import (
    ACCESS_EXCLUSIVE,
    FAMILY,
    is_contract_step,
    name_taken_again,
    namespace,
    table_actions,
)
from guard.lint.rules._types import file_type_before
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql import facts as f
from guard.sql import safe_sql as sql


@rule(
    id="avoid-rename-column",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.AlterTable,),
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
    table, actions = table_actions(stmt, ctx, f.RenameColumn)
    for a in actions:
        old, new = a.column, a.new
        spec = file_type_before(ctx, stmt, table.key, old.key)
        add = (
            sql.add_column(table.shown, new.shown, str(spec), parse=False)
            if spec is not None
            else f"add column {new.shown} to {table.shown} with the type of {old.shown};"
        )
        yield Hit(
            f"renames column {table.shown}.{old.shown} to {new.shown}: the running release still uses the old name",
            f"1. Expand: {add} keep it in sync with {old.shown} (trigger or dual writes) and backfill it"
            " in batches.\n"
            f"2. Ship code that reads {new.shown}.\n"
            f"3. Contract, in a later migration marked `-- guard: contract <expand version>`:"
            f" {sql.drop_column(table.shown, old.shown, parse=False)}",
        )


@rule(
    id="avoid-rename-table",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.AlterTable,),
    lock=ACCESS_EXCLUSIVE,
    summary="Renaming a table (or moving it to another schema) breaks the release still using the old name.",
    why="""
        The previous release queries the table by its old name until the deploy finishes; every one of
        those queries fails in that window. `SET SCHEMA` changes the qualified name the same way.
        A swap in one transaction (a view takes the old name before commit) keeps the name working
        and is not reported.
    """,
    fix="""
        Rename and leave a view with the old name in the same migration, so both names work:
        `ALTER TABLE old RENAME TO new; CREATE VIEW old AS SELECT * FROM new;`
        then drop the view in a later contract migration once no release uses the old name.
    """,
    bad="ALTER TABLE orders RENAME TO purchases;",
    good="ALTER TABLE orders RENAME TO purchases;\nCREATE VIEW orders AS SELECT * FROM purchases;",
)
def avoid_rename_table(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    table, actions = table_actions(stmt, ctx, f.RenameTable, f.SetSchema)
    for a in actions:
        if isinstance(a, f.RenameTable):
            new, change = a.new, sql.rename_table(table.shown, a.new.shown, parse=False)
        elif isinstance(a, f.SetSchema):
            schema = sql.ident(a.schema)
            new = f.Name(table.key, f"{schema}.{table.shown.split('.')[-1]}", a.schema)
            change = f"the move to schema {schema}, then"
        else:
            continue
        if name_taken_again(stmt, ctx, "table", table.key):
            continue  # a swap: the old name is given to a view (or table) before commit
        view = sql.create_view(table.shown, new.shown, parse=False)
        yield Hit(
            f"renames table {table.shown} to {new.shown}: the running release still queries {table.shown}",
            f"1. In one migration: {change} {view}\n"
            f"   (a simple view is updatable, so the old release keeps reading and writing).\n"
            f"2. Ship code that uses {new.shown}.\n"
            f"3. Contract, in a later migration marked `-- guard: contract <that version>`:"
            f" {sql.drop_view(table.shown, parse=False)}",
        )


@rule(
    id="avoid-rename-schema",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.Rename,),
    summary="Renaming a schema breaks every qualified name the running release uses.",
    why="Every query, function and search_path entry naming the old schema fails until all code moves.",
    fix="Create the new schema and move objects over in steps; retire the old one in a contract migration.",
    bad="ALTER SCHEMA billing RENAME TO payments;",
    good="-- guard: contract 20240101090000\nALTER SCHEMA billing RENAME TO payments;",
)
def avoid_rename_schema(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    fact = stmt.fact
    if not isinstance(fact, f.Rename) or fact.object_kind != "schema":
        return
    if is_contract_step(ctx) or ctx.is_new("schema", fact.name.key):
        return
    name, new = fact.name.shown, fact.new.shown
    yield Hit(
        f"renames schema {name} to {new}: every qualified name in the running release breaks",
        f"Create schema {new}, move objects to it over several deploys, then drop {name} in a"
        " contract migration.",
    )


@rule(
    id="avoid-rename-enum-value",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.Rename,),
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
    good="-- guard: contract 20240101090000\nALTER TYPE order_status RENAME VALUE 'shipped' TO 'dispatched';",
)
def avoid_rename_enum_value(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    fact = stmt.fact
    if not isinstance(fact, f.Rename) or fact.object_kind != "enum value" or fact.of is None:
        return
    if is_contract_step(ctx) or ctx.is_new("type", fact.of.key):
        return
    name, old, new = fact.of.shown, fact.name.shown, fact.new.shown
    yield Hit(
        f"renames value {old} of enum {name} to {new}: the running release still writes {old}",
        f"1. Expand: add the label {new} to {name} (`ALTER TYPE ... ADD VALUE`), in its own migration.\n"
        f"2. Ship code that writes {new} and accepts both; UPDATE rows from {old} to {new} in batches.\n"
        f"3. Leave {old} unused (removing a value needs a new type, in a contract migration).",
    )


# --- every other object the application names ---------------------------------------------------------

#: Renamed kinds the application never names (it queries tables, views and sequences, casts to types
#: and calls functions; it never names an index, trigger or policy), so their renames are not judged.
#: Schemas and enum values have rules of their own. Any other kind is judged: fail closed.
_NOT_NAMED_BY_THE_APPLICATION = frozenset(
    {
        "schema",
        "enum value",
        "index",
        "trigger",
        "event trigger",
        "constraint trigger",
        "policy",
        "rule",
        "statistics",
        "constraint",
        "publication",
        "subscription",
        "server",
        "foreign data wrapper",
        "user mapping",
        "language",
        "procedural language",
        "tablespace",
        "operator class",
        "operator family",
        "access method",
        "conversion",
        "extension",
    }
)

#: The kinds `FileContext.created_objects` remembers for each namespace (`CREATE MATERIALIZED VIEW`
#: is remembered as a view, `CREATE FOREIGN TABLE` as foreign).
_CREATED_AS = {
    "relation": ("view", "materialized view", "table", "sequence", "foreign"),
    "type": ("type", "domain"),
    "function": ("function", "procedure", "aggregate"),
}


def _created_here(ctx: FileContext, kind: str, key: str) -> bool:
    space = namespace(kind)
    return any(ctx.is_new(k, key) for k in _CREATED_AS.get(space, (kind.split()[0],)))


def _renamed_object(fact: f.Fact) -> tuple[str, f.Name, f.Name, f.Name | None, bool] | None:
    """(kind, name, new name or schema, the view or type a column belongs to, moved to a schema) of a
    rename or `SET SCHEMA` of an object the application names; None for anything else."""
    if isinstance(fact, f.Rename) and fact.object_kind not in _NOT_NAMED_BY_THE_APPLICATION:
        return fact.object_kind, fact.name, fact.new, fact.of, False
    if (
        isinstance(fact, f.AlterOther)
        and fact.words[:2] == ("SET", "SCHEMA")
        and len(fact.words) > 2
        and fact.object_kind not in _NOT_NAMED_BY_THE_APPLICATION
    ):
        schema = fact.words[2].lower()
        return fact.object_kind, fact.name, f.Name(schema, schema), None, True
    return None


@rule(
    id="avoid-rename-object",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.Rename, f.AlterOther),
    summary=(
        "Renaming a view, sequence, type, function or other object the application names breaks the"
        " release still using the old name."
    ),
    why="""
        The previous release queries views by name, calls nextval() on sequences by name (ORMs name
        them), casts to types by name (`'x'::order_status`) and calls functions by name until the deploy
        finishes; each of those fails once the name is gone. A view's columns and a type's attributes
        are named the same way. `SET SCHEMA` changes the qualified name the same way. A swap in one
        transaction (the old name is given to another object before commit) keeps the name working and
        is not reported; nor is an object created earlier in the same migration. Indexes, triggers,
        policies and other objects the application never names are not judged.
    """,
    fix="""
        Create the object under its new name next to the old one (a view or function can simply be
        created twice), move the code over, and drop the old name in a later contract migration.
    """,
    bad="ALTER MATERIALIZED VIEW daily_totals RENAME TO daily_totals_v1;",
    good=(
        "CREATE MATERIALIZED VIEW daily_totals_new AS SELECT 1 AS total;\n"
        "ALTER MATERIALIZED VIEW daily_totals RENAME TO daily_totals_old;\n"
        "ALTER MATERIALIZED VIEW daily_totals_new RENAME TO daily_totals;"
    ),
)
def avoid_rename_object(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    found = _renamed_object(stmt.fact)
    if found is None or is_contract_step(ctx):
        return
    kind, name, new, of, moved = found
    if of is not None:
        if _created_here(ctx, "view", of.key) or _created_here(ctx, "type", of.key):
            return
        yield Hit(
            f"renames {kind} {name.shown} of {of.shown} to {new.shown}:"
            f" the running release still uses {name.shown}",
            f"1. Recreate {of.shown} under a new name with {new.shown} next to {name.shown}"
            " (or add it beside the old one).\n"
            "2. Ship code that uses the new name.\n"
            f"3. Contract, in a later migration marked `-- guard: contract <that version>`: drop the old one.",
        )
        return
    if _created_here(ctx, kind, name.key) or name_taken_again(stmt, ctx, kind, name.key):
        return
    target = f"schema {new.shown}" if moved else new.shown
    verb = "moves" if moved else "renames"
    yield Hit(
        f"{verb} {kind} {name.shown} to {target}: the running release still uses {name.shown}",
        f"1. Create the {kind} as {new.shown + '.' + name.key if moved else new.shown} next to {name.shown}"
        f" (or swap: give {name.shown} to the replacement in the same migration).\n"
        f"2. Ship code that uses the new name.\n"
        f"3. Contract, in a later migration marked `-- guard: contract <that version>`: drop {name.shown}.",
    )
