"""Data loss: type changes readers do not expect, TRUNCATE, unbounded DELETE/UPDATE, destructive
dynamic SQL, and the `guard: contract` directive that unlocks destructive changes.

Checks read `Statement.tokens` (see `_shapes`), so statements sqlglot only parsed as
`exp.Command`, or misread, are judged like any other.
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext, contract_target
from guard.lint.registry import rule
from guard.lint.rules import _shapes
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
from guard.sql.types import TypeSpec, is_binary_compatible, parse_type
from guard.tokens import PUNCT, Token, read_qualified_name, show_name


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
    table, actions = table_actions(stmt, ctx, ("type-change",))
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
    return file_type_before(ctx, stmt, key, column)


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
    toks = stmt.tokens
    # A data-modifying CTE (`WITH gone AS (DELETE FROM t RETURNING *) INSERT ...`) runs in full
    # whatever the outer statement is, so each CTE body is judged like a statement of its own.
    scopes = [toks, *_cte_bodies(toks)] if toks and toks[0].upper == "WITH" else [toks]
    for scope in scopes:
        verb, table, has_where = _top_level_write(scope)
        if not verb or has_where or ctx.is_new_table(table[-1].name if table else ""):
            continue
        shown = show_name(table)
        yield Hit(
            f"{verb} on {shown} has no WHERE clause: it touches every row",
            f"Add the condition you mean, e.g. {verb} {'FROM ' if verb == 'DELETE' else ''}{shown}"
            f" {'SET ... ' if verb == 'UPDATE' else ''}WHERE <condition>; batch full-table backfills by primary key.",
        )


def _cte_bodies(toks: tuple[Token, ...]) -> Iterator[tuple[Token, ...]]:
    """The tokens inside each top-level `name AS [NOT] [MATERIALIZED] ( ... )` of a WITH clause."""
    depth, start = 0, -1
    for i, t in enumerate(toks):
        if t.kind == PUNCT and t.text == "(":
            if depth == 0 and i > 0 and toks[i - 1].upper in ("AS", "MATERIALIZED"):
                start = i + 1
            depth += 1
        elif t.kind == PUNCT and t.text == ")":
            depth -= 1
            if depth == 0 and start >= 0:
                yield toks[start:i]
                start = -1


def _top_level_write(toks: tuple[Token, ...]) -> tuple[str, list[Token], bool]:
    """(DELETE|UPDATE, target name parts, whether a WHERE follows at the same depth)."""
    depth = 0
    verb, has_where = "", False
    table: list[Token] = []
    for i, t in enumerate(toks):
        if t.kind == PUNCT and t.text == "(":
            depth += 1
        elif t.kind == PUNCT and t.text == ")":
            depth -= 1
        elif depth == 0 and not verb and t.upper in ("INSERT", "SELECT", "MERGE"):
            # The top-level verb writes new rows (an UPDATE after it is `ON CONFLICT DO UPDATE`,
            # which touches only conflicting rows).
            return "", [], False
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
