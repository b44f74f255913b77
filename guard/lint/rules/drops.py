"""Drops: tables, schemas, databases, types, views, functions, sequences and columns.

Each breaks the application version still running during a deploy (it still reads
the object) and loses data outright. The safe path is expand -> migrate -> contract:
the drop ships in the contract step (`-- guard: contract <expand version>`), after
the code that used the object is gone. Objects created earlier in the same file are
new and unseen, so dropping them is fine.

Checks read the statement model (`guard.sql.facts`: `Drop`, and `AlterTable`'s `DropColumn`),
so every spelling either reader understands is judged the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from guard.lint.context import FileContext
from guard.lint.registry import rule
from guard.lint.rules._destructive import (
    ACCESS_EXCLUSIVE,
    FAMILY,
    contract_hint,
    is_contract_step,
    table_actions,
)
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql import facts as f
from guard.sql import safe_sql as sql


def _drop_check(
    kinds: frozenset[str], fix: Callable[[str, FileContext], str]
) -> Callable[..., Iterator[Hit]]:
    """A check for `DROP <kind>` of one of `kinds`, skipping objects created in this file."""

    def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
        if is_contract_step(ctx):
            return
        drop = stmt.fact
        if not isinstance(drop, f.Drop) or drop.object_kind not in kinds:
            return
        kind = _CREATED_AS.get(drop.object_kind, drop.object_kind)
        names = [n for n in drop.names if not ctx.is_new(kind, n.key)]
        if not names and drop.names:
            return
        shown = ", ".join(n.shown for n in names) or "?"
        cascade = " with CASCADE, which also drops everything that depends on it" if drop.cascade else ""
        yield Hit(f"DROP {drop.keyword} {shown}{cascade}: {_LOSS[kind]}", fix(shown, ctx))

    return check


#: The kind a dropped object was created as (`CREATE MATERIALIZED VIEW` is remembered as a view).
_CREATED_AS = {"materialized view": "view"}

_LOSS = {
    "table": "its rows are gone and the running release still queries it",
    "schema": "every object in it is gone and the running release still uses them",
    "database": "every table in it is gone",
    "type": "columns, casts and functions using it break",
    "domain": "columns and casts using it break",
    "view": "the running release still queries it",
    "function": "the running release, triggers or defaults still call it",
    "procedure": "the running release still calls it",
    "sequence": "defaults and code that call nextval() on it start failing",
    "extension": "its types, functions and operators are gone, and code, defaults and indexes using them break",
    "owned": "every table, view, function and sequence the role owns is gone, with its data",
}


def _retire_fix(what: str) -> Callable[[str, FileContext], str]:
    def fix(shown: str, ctx: FileContext) -> str:
        return (
            f"1. Ship application code that no longer uses {what} {shown}.\n"
            f"2. Once no running release uses it, drop it in its own migration,\n"
            f"   {contract_hint(ctx)},\n"
            f"   or `-- guard: ignore <rule> reason: ...` when nothing has used it for a release."
        )

    return fix


@rule(
    id="avoid-drop-table",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.Drop,),
    lock=ACCESS_EXCLUSIVE,
    summary="Dropping a table in one step loses its data and breaks the release still reading it.",
    why="""
        DROP TABLE takes an ACCESS EXCLUSIVE lock and deletes every row. During a deploy the previous
        release is still running and still queries the table, so it fails until the deploy finishes,
        and a rollback of the code cannot bring the data back.
    """,
    fix="""
        1. Ship code that no longer reads or writes the table.
        2. In a later migration (the contract step), drop it, marked `-- guard: contract <version>`.
    """,
    bad="DROP TABLE legacy_events;",
    good="-- guard: contract 20240101090000\nDROP TABLE legacy_events;",
)
def avoid_drop_table(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"table"}), _retire_fix("table"))(stmt, ctx)


@rule(
    id="avoid-drop-schema",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.Drop,),
    lock=ACCESS_EXCLUSIVE,
    summary="Dropping a schema (or `DROP OWNED BY` a role) removes every table, view and function in it.",
    why="""
        DROP SCHEMA (and with CASCADE, everything inside it) deletes data and objects the running
        release may still use; nothing short of a backup restore brings them back. `DROP OWNED BY`
        does the same to every object a role owns, without naming any of them.
    """,
    fix="Move users off the schema first; drop it in a later contract migration.",
    bad="DROP SCHEMA reporting CASCADE;",
    good="-- guard: contract 20240101090000\nDROP SCHEMA reporting CASCADE;",
)
def avoid_drop_schema(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"schema"}), _retire_fix("schema"))(stmt, ctx)
    yield from _drop_check(frozenset({"owned"}), _retire_fix("the objects owned by role"))(stmt, ctx)


@rule(
    id="avoid-drop-database",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.Drop,),
    summary="A migration must never drop a database.",
    why="DROP DATABASE deletes every schema and row in it; it has no place in an application migration.",
    fix="Remove the statement; retire databases by hand, with a backup, outside the migration flow.",
    bad="DROP DATABASE analytics;",
    good="-- guard: contract 20240101090000\nDROP DATABASE analytics;",
)
def avoid_drop_database(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"database"}), _retire_fix("database"))(stmt, ctx)


@rule(
    id="avoid-drop-type",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.Drop,),
    summary="Dropping a type, domain or extension breaks columns, casts and functions that use it.",
    why="""
        Postgres refuses DROP TYPE while columns use it, and with CASCADE drops those columns, and
        their data, too. Application code that casts to the type (`'x'::mood`) fails. DROP EXTENSION
        removes the extension's types and functions the same way (`gen_random_uuid`, `citext`).
    """,
    fix="Move every column and function off the type first; drop it in a later contract migration.",
    bad="DROP TYPE mood;",
    good="-- guard: contract 20240101090000\nDROP TYPE mood;",
)
def avoid_drop_type(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"type", "domain"}), _retire_fix("type"))(stmt, ctx)
    yield from _drop_check(frozenset({"extension"}), _retire_fix("extension"))(stmt, ctx)


@rule(
    id="avoid-drop-view",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.Drop,),
    lock=ACCESS_EXCLUSIVE,
    summary="Dropping a view or materialized view breaks the release still querying it.",
    why="""
        The previous release keeps querying the view during the deploy; a materialized view also loses
        its stored rows, which can take long to rebuild.
    """,
    fix="Ship code that no longer queries the view; drop it in a later contract migration.",
    bad="DROP MATERIALIZED VIEW daily_totals;",
    good="-- guard: contract 20240101090000\nDROP MATERIALIZED VIEW daily_totals;",
)
def avoid_drop_view(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"view", "materialized view"}), _retire_fix("view"))(stmt, ctx)


@rule(
    id="avoid-drop-function",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.Drop,),
    summary="Dropping a function or procedure breaks callers: the running release, triggers, defaults.",
    why="""
        Functions are called by application code, triggers, column defaults and other functions; any of
        them fails with "function does not exist" once it is dropped.
    """,
    fix="Remove every caller first (code, triggers, defaults); drop it in a later contract migration.",
    bad="DROP FUNCTION normalize_email(text);",
    good="-- guard: contract 20240101090000\nDROP FUNCTION normalize_email(text);",
)
def avoid_drop_function(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"function", "procedure"}), _retire_fix("function"))(stmt, ctx)


@rule(
    id="avoid-drop-sequence",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.Drop,),
    summary="Dropping a sequence breaks inserts whose default calls nextval() on it.",
    why="Column defaults and code that call nextval() on the sequence fail as soon as it is gone.",
    fix="Move defaults off the sequence (e.g. to an identity column) first; drop it in a later contract migration.",
    bad="DROP SEQUENCE order_number_seq;",
    good="-- guard: contract 20240101090000\nDROP SEQUENCE order_number_seq;",
)
def avoid_drop_sequence(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"sequence"}), _retire_fix("sequence"))(stmt, ctx)


@rule(
    id="avoid-drop-column",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.AlterTable,),
    lock=ACCESS_EXCLUSIVE,
    summary="Dropping a column in one step breaks the release still reading it and loses its data.",
    why="""
        The running release selects and inserts the column (ORMs list every column they know), so its
        queries fail from the moment the column is gone until the new release is everywhere. The
        column's data is lost; a code rollback cannot bring it back.
    """,
    fix="""
        1. Ship code that no longer reads or writes the column (tell the ORM to ignore it).
        2. In a later migration, drop it, marked `-- guard: contract <version>`.
    """,
    bad="ALTER TABLE users DROP COLUMN legacy_flag;",
    good="-- guard: contract 20240101090000\nALTER TABLE users DROP COLUMN legacy_flag;",
)
def avoid_drop_column(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    table, actions = table_actions(stmt, ctx, f.DropColumn)
    if not actions:
        return
    cols = ", ".join(a.column.shown for a in actions)
    first = actions[0].column
    yield Hit(
        f"drops column {cols} of {table.shown}: the running release still reads it and its data is lost",
        f"1. Ship code that no longer reads or writes {table.shown}.{first.shown}"
        " (e.g. mark it ignored in the ORM).\n"
        f"2. Then drop it in its own migration: {sql.drop_column(table.shown, first.shown, parse=False)}\n"
        f"   {contract_hint(ctx)}.",
    )
