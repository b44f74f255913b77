"""Data loss: type changes readers do not expect, TRUNCATE, unbounded DELETE/UPDATE, destructive
dynamic SQL, and the `guard: contract` directive that unlocks destructive changes.

Checks read the statement model (`guard.sql.facts`); the bodies of `DO` blocks and functions
are part of it, and functions with destructive bodies are remembered as the file is walked
(`FileContext.hazard_functions`), so calling one is judged like running its body.
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext, contract_target
from guard.lint.facts.column_types import breaks_readers
from guard.lint.facts.dynamic_sql import routine_hazards
from guard.lint.registry import rule
from guard.lint.rules._destructive import (
    ACCESS_EXCLUSIVE,
    FAMILY,
    contract_hint,
    is_contract_step,
    table_actions,
)
from guard.lint.rules._types import file_type_before
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql import facts as f
from guard.sql import safe_sql as sql


@rule(
    id="avoid-column-type-change",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.AlterTable,),
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
    table, actions = table_actions(stmt, ctx, f.AlterColumnType)
    for a in actions:
        new = a.type
        old = file_type_before(ctx, stmt, table.key, a.column.key) if new is not None else None
        if not breaks_readers(old, new, a.using is not None):
            continue
        was = f" from {old}" if old is not None else ""
        to = new if new is not None else a.type_sql
        col = a.column
        tmp = f.Name(f"{col.key}_new", sql.ident(f"{col.key}_new"))
        yield Hit(
            f"changes the type of {table.shown}.{col.shown}{was} to {to}: readers of the running release"
            " expect the old type",
            f"1. Expand: {sql.add_column(table.shown, tmp.shown, a.type_sql, parse=False)} keep it in sync with {col.shown}"
            f" (trigger or dual writes) and backfill it in batches.\n"
            f"2. Ship code that reads {tmp.shown}.\n"
            f"3. Contract, in a later migration marked `-- guard: contract <expand version>`:"
            f" {sql.drop_column(table.shown, col.shown, parse=False)}"
            " (keep the new name: renaming it back would break the release that reads it)",
        )


# --- data loss ---------------------------------------------------------------------------------------


@rule(
    id="avoid-truncate",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.Truncate,),
    lock=ACCESS_EXCLUSIVE,
    summary="TRUNCATE in a migration deletes every row, under an ACCESS EXCLUSIVE lock.",
    why="""
        TRUNCATE removes all rows at once and cannot be undone by a down migration; it also waits for
        and blocks every reader and writer of the table.
    """,
    fix="Delete the rows you mean with a bounded DELETE ... WHERE, in batches, outside the schema migration.",
    bad="TRUNCATE import_rows;",
    good=(
        "-- a table this migration creates is empty to everyone else\n"
        "CREATE TABLE import_rows (id bigint PRIMARY KEY);\n"
        "TRUNCATE import_rows;"
    ),
)
def avoid_truncate(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    fact = stmt.fact
    if not isinstance(fact, f.Truncate):
        return
    names = [n for n in fact.tables if not ctx.is_new_table(n.key)]
    if names:
        shown = ", ".join(n.shown for n in names)
        yield Hit(
            f"TRUNCATE {shown} deletes every row and cannot be rolled back by a down migration",
            f"Delete only the rows you mean, in batches: a DELETE FROM {names[0].shown} with a WHERE clause.",
        )


@rule(
    id="require-where-clause",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.Write, f.Insert),
    summary="DELETE or UPDATE without WHERE, or a MERGE that updates or deletes, touches every row of the table.",
    why="""
        An unbounded DELETE loses every row; an unbounded UPDATE overwrites every row and locks all of
        them until the migration commits, blocking the application's writes. A MERGE's WHEN MATCHED
        THEN UPDATE/DELETE does the same to every row its ON condition matches. A data-modifying
        WITH clause runs in full whatever statement follows it, so it is judged the same way.
    """,
    fix="Add the WHERE clause you mean; for a real full-table backfill, batch it by primary key.",
    bad="DELETE FROM sessions;",
    good="DELETE FROM sessions WHERE expires_at < now();",
)
def require_where_clause(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    # A data-modifying CTE (`WITH gone AS (DELETE FROM t RETURNING *) INSERT ...`) runs in full
    # whatever the outer statement is: the model lists it with the statement's own write.
    fact = stmt.fact
    for write in _writes(fact):
        if ctx.is_new_table(write.table.key):
            continue
        table = write.table.shown
        if write.verb == "merge":
            touched = [a.upper() for a in write.merge_actions if a in ("update", "delete")]
            if touched:
                yield Hit(
                    f"MERGE into {table} runs {' and '.join(touched)} on every row its source matches:"
                    " no WHERE clause bounds it",
                    "Make the source select only the rows you mean and bound each WHEN MATCHED clause"
                    f" (AND <condition>), or write the {touched[0]} on {table} with the WHERE clause you"
                    " mean; batch large changes by primary key.",
                )
        elif not write.bounded:
            verb = write.verb.upper()
            how = f"DELETE FROM {table}" if verb == "DELETE" else f"UPDATE {table} SET ..."
            yield Hit(
                f"{verb} on {table} has no WHERE clause: it touches every row",
                f"Add the condition you mean ({how} WHERE <condition>); batch full-table backfills by"
                " primary key.",
            )


def _writes(fact: f.Fact) -> tuple[f.Write, ...]:
    if isinstance(fact, f.Write):
        return (fact, *fact.ctes)
    if isinstance(fact, f.Insert):
        return fact.ctes
    return ()


@rule(
    id="avoid-destructive-dynamic-sql",
    severity=Severity.ERROR,
    family=FAMILY,
    facts=(f.Code, f.Harmless),
    summary=(
        "A DO block, or a call of a function created in the same migration, that drops, renames,"
        " retypes or truncates, directly or through EXECUTE."
    ),
    why="""
        Dynamic SQL hides destructive changes from review and from every other rule; a DO block runs
        immediately, with the same effects as the plain statement. A function created in the
        migration and called in it (`SELECT f()`, `CALL p()`, `PERFORM f()` in a DO block) runs its
        body the same way, including a DROP whose kind or name is built at run time
        (`EXECUTE format('DROP %s %I', ...)`).
    """,
    fix="Write the change as plain SQL so it can be reviewed and checked, and follow expand -> contract.",
    bad=(
        "CREATE FUNCTION drop_legacy() RETURNS void LANGUAGE plpgsql AS\n"
        "$$ BEGIN EXECUTE 'DROP TABLE ' || quote_ident('legacy_events'); END $$;\n"
        "SELECT drop_legacy();"
    ),
    good=(
        "-- guard: contract 20240101090000\n"
        "CREATE FUNCTION drop_legacy() RETURNS void LANGUAGE plpgsql AS\n"
        "$$ BEGIN EXECUTE 'DROP TABLE ' || quote_ident('legacy_events'); END $$;\n"
        "SELECT drop_legacy();"
    ),
)
def avoid_destructive_dynamic_sql(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    if is_contract_step(ctx):
        return
    fact = stmt.fact
    if isinstance(fact, f.Code):
        found, what = routine_hazards(fact.body, ctx.hazard_functions), "DO block"
    elif isinstance(fact, f.Harmless) and fact.calls & ctx.hazard_functions.keys():
        called = sorted(fact.calls & ctx.hazard_functions.keys())
        found = []
        for name in called:
            found += [h for h in ctx.hazard_functions[name] if h not in found]
        what = f"{fact.verb.upper()} of {', '.join(called)} (created in this migration)"
    else:
        return
    if found:
        yield Hit(
            f"{what} runs {', '.join(found)} (directly or through EXECUTE); destructive changes hide here",
            "Write the statements as plain SQL in the migration so each is reviewed and checked,"
            f" {contract_hint(ctx)}.",
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
