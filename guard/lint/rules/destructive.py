"""Destructive single-step changes: drops, renames, type changes, truncates, unbounded writes.

Each of these breaks the application version still running during a deploy (it
reads the old name, column or type) or loses data outright. The safe path is
expand -> migrate -> contract, each in its own deploy; a migration marked
`-- guard: contract <expand version>` naming an earlier migration is that
contract step and may drop, rename and retype. Objects created earlier in the
same file are new and unseen, so changing them is always fine.

Checks read `Statement.tokens` (see `_shapes`), so statements sqlglot only
parsed as `exp.Command`, or misread, are judged like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from guard.lint.context import FileContext, contract_target
from guard.lint.registry import rule
from guard.lint.rules import _shapes
from guard.lint.rules._types import TypeSpec, current_column_type, is_binary_compatible, parse_type
from guard.model import Hit, Severity
from guard.parsing import Statement, split_statements
from guard.tokens import PUNCT, Token, read_qualified_name, show_name

FAMILY = "destructive"
ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"


def is_contract_step(ctx: FileContext) -> bool:
    """True when this file is the declared contract step of an existing, earlier expand migration."""
    return contract_target(ctx) is not None


def _contract_hint(ctx: FileContext) -> str:
    return (
        f"or, if the expand step already shipped, mark this migration `-- guard: contract <expand version>`"
        f" (this is {ctx.migration.version})"
    )


# --- drops -------------------------------------------------------------------------------------------


def _drop_check(
    kinds: frozenset[str], fix: Callable[[str, FileContext], str]
) -> Callable[..., Iterator[Hit]]:
    """A check for `DROP <kind>` of one of `kinds`, skipping objects created in this file."""

    def check(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
        if is_contract_step(ctx):
            return
        drop = _shapes.read_drop(stmt.tokens)
        if drop is None or drop.kind not in kinds:
            return
        names = [n for n in drop.names if not ctx.is_new(drop.kind, n.key)]
        if not names and drop.names:
            return
        shown = ", ".join(n.shown for n in names) or "?"
        cascade = " with CASCADE, which also drops everything that depends on it" if drop.cascade else ""
        yield Hit(f"DROP {drop.keyword} {shown}{cascade}: {_LOSS[drop.kind]}", fix(shown, ctx))

    return check


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
}


def _retire_fix(what: str) -> Callable[[str, FileContext], str]:
    def fix(shown: str, ctx: FileContext) -> str:
        return (
            f"1. Ship application code that no longer uses {what} {shown}.\n"
            f"2. Once no running release uses it, drop it in its own migration,\n"
            f"   {_contract_hint(ctx)},\n"
            f"   or `-- guard: ignore <rule> reason: ...` when nothing has used it for a release."
        )

    return fix


@rule(
    id="avoid-drop-table",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("DROP",),
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
    good="CREATE TABLE events_archive (id bigint PRIMARY KEY);",
)
def avoid_drop_table(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"table"}), _retire_fix("table"))(stmt, ctx)


@rule(
    id="avoid-drop-schema",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("DROP",),
    lock=ACCESS_EXCLUSIVE,
    summary="Dropping a schema removes every table, view and function in it.",
    why="""
        DROP SCHEMA (and with CASCADE, everything inside it) deletes data and objects the running
        release may still use; nothing short of a backup restore brings them back.
    """,
    fix="Move users off the schema first; drop it in a later contract migration.",
    bad="DROP SCHEMA reporting CASCADE;",
    good="CREATE SCHEMA reporting;",
)
def avoid_drop_schema(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"schema"}), _retire_fix("schema"))(stmt, ctx)


@rule(
    id="avoid-drop-database",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("DROP",),
    summary="A migration must never drop a database.",
    why="DROP DATABASE deletes every schema and row in it; it has no place in an application migration.",
    fix="Remove the statement; retire databases by hand, with a backup, outside the migration flow.",
    bad="DROP DATABASE analytics;",
    good="CREATE TABLE analytics_events (id bigint PRIMARY KEY);",
)
def avoid_drop_database(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"database"}), _retire_fix("database"))(stmt, ctx)


@rule(
    id="avoid-drop-type",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("DROP",),
    summary="Dropping a type or domain breaks columns, casts and functions that use it.",
    why="""
        Postgres refuses DROP TYPE while columns use it, and with CASCADE drops those columns, and
        their data, too. Application code that casts to the type (`'x'::mood`) fails.
    """,
    fix="Move every column and function off the type first; drop it in a later contract migration.",
    bad="DROP TYPE mood;",
    good="CREATE TYPE mood AS ENUM ('happy', 'sad');",
)
def avoid_drop_type(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"type", "domain"}), _retire_fix("type"))(stmt, ctx)


@rule(
    id="avoid-drop-view",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("DROP",),
    lock=ACCESS_EXCLUSIVE,
    summary="Dropping a view or materialized view breaks the release still querying it.",
    why="""
        The previous release keeps querying the view during the deploy; a materialized view also loses
        its stored rows, which can take long to rebuild.
    """,
    fix="Ship code that no longer queries the view; drop it in a later contract migration.",
    bad="DROP MATERIALIZED VIEW daily_totals;",
    good="CREATE VIEW active_users AS SELECT 1 AS id;",
)
def avoid_drop_view(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"view"}), _retire_fix("view"))(stmt, ctx)


@rule(
    id="avoid-drop-function",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("DROP",),
    summary="Dropping a function or procedure breaks callers: the running release, triggers, defaults.",
    why="""
        Functions are called by application code, triggers, column defaults and other functions; any of
        them fails with "function does not exist" once it is dropped.
    """,
    fix="Remove every caller first (code, triggers, defaults); drop it in a later contract migration.",
    bad="DROP FUNCTION normalize_email(text);",
    good="CREATE FUNCTION normalize_email(e text) RETURNS text LANGUAGE sql AS $$ SELECT lower(e) $$;",
)
def avoid_drop_function(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"function", "procedure"}), _retire_fix("function"))(stmt, ctx)


@rule(
    id="avoid-drop-sequence",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("DROP",),
    summary="Dropping a sequence breaks inserts whose default calls nextval() on it.",
    why="Column defaults and code that call nextval() on the sequence fail as soon as it is gone.",
    fix="Move defaults off the sequence (e.g. to an identity column) first; drop it in a later contract migration.",
    bad="DROP SEQUENCE order_number_seq;",
    good="CREATE SEQUENCE order_number_seq;",
)
def avoid_drop_sequence(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _drop_check(frozenset({"sequence"}), _retire_fix("sequence"))(stmt, ctx)


# --- ALTER TABLE actions -----------------------------------------------------------------------------


def _table_actions(
    stmt: Statement, ctx: FileContext, kinds: tuple[str, ...]
) -> tuple[str, list[_shapes.Action]]:
    """(table as written, its actions of `kinds`) unless the table is new or this is a contract step."""
    if is_contract_step(ctx):
        return "", []
    if stmt.lead[:2] != ("ALTER", "TABLE"):
        return "", []  # ALTER TYPE, ALTER FUNCTION, ...: no need to tokenize
    # Four rules read the same action list: read it once per statement.
    alter = stmt.derived("shapes.alter_table", lambda s: _shapes.read_alter_table(s.tokens))
    if alter is None or ctx.is_new_table(alter.table.key):
        return "", []
    return alter.table.shown, [a for a in alter.actions if a.kind in kinds]


@rule(
    id="avoid-drop-column",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("ALTER",),
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
    good="ALTER TABLE users ADD COLUMN nickname text;",
)
def avoid_drop_column(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    table, actions = _table_actions(stmt, ctx, ("drop-column",))
    if not actions:
        return
    cols = ", ".join(a.shown_column for a in actions)
    yield Hit(
        f"drops column {cols} of {table}: the running release still reads it and its data is lost",
        f"1. Ship code that no longer reads or writes {table}.{actions[0].shown_column}"
        " (e.g. mark it ignored in the ORM).\n"
        f"2. Then drop it in its own migration: ALTER TABLE {table} DROP COLUMN {actions[0].shown_column};\n"
        f"   {_contract_hint(ctx)}.",
    )


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
    table, actions = _table_actions(stmt, ctx, ("rename-column",))
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
    table, actions = _table_actions(stmt, ctx, ("rename-table", "set-schema"))
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
    id="avoid-column-type-change",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("ALTER",),
    lock=ACCESS_EXCLUSIVE,
    summary="Changing a column's type in one step breaks readers that expect the old type.",
    why="""
        Code, casts, views and clients of the running release expect the old type; a narrowing or
        converting change can also fail on existing rows or silently change values. (The table rewrite
        and its lock are the `rewrites` family's concern; binary-compatible widenings such as
        varchar(50) -> varchar(100) or varchar -> text are not flagged.)
    """,
    fix="""
        1. Expand: add a new column with the new type; keep it in sync and backfill in batches.
        2. Ship code that reads the new column.
        3. Contract: drop the old column in a later migration marked `-- guard: contract <expand>`.
    """,
    bad="ALTER TABLE orders ALTER COLUMN total TYPE integer;",
    good="ALTER TABLE orders ADD COLUMN total_cents bigint;",
)
def avoid_column_type_change(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    table, actions = _table_actions(stmt, ctx, ("type-change",))
    for a in actions:
        new = parse_type(a.type_tokens)
        old = _old_type(stmt, ctx, table, a.column) if new is not None else None
        if old is not None and new is not None and not a.using and is_binary_compatible(old, new):
            continue
        was = f" from {old}" if old is not None else ""
        to = new if new is not None else " ".join(t.shown() for t in a.type_tokens)
        col, tmp = a.shown_column, f"{a.column}_new"
        yield Hit(
            f"changes the type of {table}.{col}{was} to {to}: readers of the running release expect the old type",
            f"1. Expand: ALTER TABLE {table} ADD COLUMN {tmp} {to}; keep it in sync with {col}"
            f" (trigger or dual writes) and backfill it in batches.\n"
            f"2. Ship code that reads {tmp}.\n"
            f"3. Contract, in a later migration marked `-- guard: contract <expand version>`:"
            f" ALTER TABLE {table} DROP COLUMN {col}; (then rename with a view, or keep the new name)",
        )


def _old_type(stmt: Statement, ctx: FileContext, table: str, column: str) -> TypeSpec | None:
    """The column's type before `stmt`: earlier migrations, then earlier statements of this file."""
    key = table.split(".")[-1].strip('"') if '"' in table else table.split(".")[-1].lower()
    spec = ctx.schema.column_type_before(ctx.migration, key, column)
    before = [s.text for s in split_statements(ctx.migration.up_sql)[0] if s.index < stmt.index]
    return current_column_type([";\n".join(before)], key, column, spec)


# --- other renames -----------------------------------------------------------------------------------


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


# --- data loss ---------------------------------------------------------------------------------------


@rule(
    id="avoid-truncate",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("TRUNCATE",),
    lock=ACCESS_EXCLUSIVE,
    summary="TRUNCATE in a migration deletes every row, under an ACCESS EXCLUSIVE lock.",
    why="""
        TRUNCATE removes all rows at once and cannot be undone by a down migration; it also waits for
        and blocks every reader and writer of the table.
    """,
    fix="Delete the rows you mean with a bounded DELETE ... WHERE, in batches, outside the schema migration.",
    bad="TRUNCATE audit_log;",
    good="DELETE FROM audit_log WHERE created_at < now() - interval '90 days';",
)
def avoid_truncate(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    names = [n for n in _shapes.read_truncate(stmt.tokens) if not ctx.is_new_table(n.key)]
    if names:
        shown = ", ".join(n.shown for n in names)
        yield Hit(
            f"TRUNCATE {shown} deletes every row and cannot be rolled back by a down migration",
            f"Delete only the rows you mean, in batches: DELETE FROM {names[0].shown} WHERE <condition>;",
        )


@rule(
    id="require-where-clause",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("DELETE", "UPDATE", "WITH"),
    summary="DELETE or UPDATE without WHERE touches every row of the table.",
    why="""
        An unbounded DELETE loses every row; an unbounded UPDATE overwrites every row and locks all of
        them until the migration commits, blocking the application's writes.
    """,
    fix="Add the WHERE clause you mean; for a real full-table backfill, batch it by primary key.",
    bad="DELETE FROM sessions;",
    good="DELETE FROM sessions WHERE expires_at < now();",
)
def require_where_clause(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    verb, table, has_where = _top_level_write(stmt)
    if not verb or has_where or ctx.is_new_table(table[-1].name if table else ""):
        return
    shown = show_name(table)
    yield Hit(
        f"{verb} on {shown} has no WHERE clause: it touches every row",
        f"Add the condition you mean, e.g. {verb} {'FROM ' if verb == 'DELETE' else ''}{shown}"
        f" {'SET ... ' if verb == 'UPDATE' else ''}WHERE <condition>; batch full-table backfills by primary key.",
    )


def _top_level_write(stmt: Statement) -> tuple[str, list[Token], bool]:
    """(DELETE|UPDATE, target name parts, whether a WHERE follows at the same depth)."""
    toks, depth = stmt.tokens, 0
    verb, has_where = "", False
    table: list[Token] = []
    for i, t in enumerate(toks):
        if t.kind == PUNCT and t.text == "(":
            depth += 1
        elif t.kind == PUNCT and t.text == ")":
            depth -= 1
        elif depth == 0 and not verb and t.upper in ("DELETE", "UPDATE"):
            verb = t.upper
            j = i + 1
            while j < len(toks) and toks[j].upper in ("FROM", "ONLY"):
                j += 1
            table, _ = read_qualified_name(toks, j)
        elif depth == 0 and verb and t.upper == "WHERE":
            has_where = True
    return verb, table, has_where


@rule(
    id="avoid-destructive-dynamic-sql",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("DO",),
    summary="A DO block that drops, renames, retypes or truncates, directly or through EXECUTE.",
    why="""
        Dynamic SQL hides destructive changes from review and from every other rule; a DO block runs
        immediately, with the same effects as the plain statement.
    """,
    fix="Write the change as plain SQL so it can be reviewed and checked, and follow expand -> contract.",
    bad="DO $$ BEGIN EXECUTE 'DROP TABLE ' || quote_ident('legacy_events'); END $$;",
    good="DO $$ BEGIN RAISE NOTICE 'hello'; END $$;",
)
def avoid_destructive_dynamic_sql(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    if is_contract_step(ctx):
        return
    found: list[str] = []
    for t in stmt.tokens[1:]:
        if t.kind == "string":
            found += [h for h in _shapes.dynamic_hazards(t.text) if h not in found]
    if found:
        yield Hit(
            f"DO block runs {', '.join(found)} (directly or through EXECUTE); destructive changes hide here",
            "Write the statements as plain SQL in the migration so each is reviewed and checked,"
            f" {_contract_hint(ctx)}.",
        )


# --- the contract directive ---------------------------------------------------------------------------


@rule(
    id="contract-needs-earlier-expand",
    severity=Severity.ERROR,
    family=FAMILY,
    scope="file",
    summary="`-- guard: contract <version>` must name an existing, earlier expand migration.",
    why="""
        The contract directive lets a migration drop, rename and retype because its expand step
        shipped before it. Naming a version that does not exist, or one that is not earlier, would
        unlock destructive changes with no expand step behind them.
    """,
    fix="Name the version of the expand migration this one completes; it must sort before this migration.",
    bad="-- guard: contract 29990101000000\nALTER TABLE users ADD COLUMN nickname text;",
    good="CREATE TABLE t (id bigint PRIMARY KEY);",
)
def contract_needs_earlier_expand(statements: list[Statement], ctx: FileContext) -> Iterator[Hit]:
    from guard.model import version_key

    version = ctx.directives.contract
    if version is None or contract_target(ctx) is not None:
        return
    mine = ctx.migration.version
    if version_key(version) >= ctx.migration.version_key:
        problem = f"is not earlier than this migration ({mine})"
    else:
        problem = "matches no migration"
    earlier = [m.version for m in ctx.schema.earlier(ctx.migration)]
    hint = (
        f"; the latest earlier migration is {max(earlier, key=lambda v: version_key(v))}" if earlier else ""
    )
    yield Hit(
        f"`guard: contract {version}` {problem}, so this migration's destructive changes are not accepted",
        f"Name the version of the expand migration this one completes{hint}.",
        line=ctx.directives.contract_line,
    )
