"""Rewrite rules for columns: volatile column defaults and type changes that are not binary
compatible copy the whole table (and rebuild its indexes) while holding ACCESS EXCLUSIVE.
(`VACUUM FULL`, `CLUSTER`, `SET TABLESPACE` and `SET LOGGED/UNLOGGED` live in
`table_rewrites`.)

Version facts: from Postgres 11 a non-volatile `ADD COLUMN ... DEFAULT` is stored in the
catalog (no rewrite); before 11 every non-null default rewrites the table.
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext
from guard.lint.ddl import ColumnDef, add_column_def, alter_column_name, read_alter_table, sql_of
from guard.lint.locks import ACCESS_EXCLUSIVE, describe
from guard.lint.registry import rule
from guard.lint.rules._types import file_type_before
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql.types import TypeSpec, is_binary_compatible, parse_type, type_tokens
from guard.sql.volatile import default_volatility
from guard.tokens import Token

_SERIALS = frozenset({"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"})


def _rewrite_reason(col: ColumnDef, pg_version: int) -> tuple[str, str] | None:
    """(what, why) when adding `col` rewrites the table, else None."""
    type_name = col.type.name if col.type is not None else ""
    if type_name in _SERIALS:
        return f"a {type_name} column", "fills every row from a sequence (nextval is volatile)"
    if col.identity:
        return "an identity column", "fills every row from its sequence"
    if col.generated_stored:
        return "a stored generated column", "computes and stores a value for every row"
    if col.default is None:
        return None
    if len(col.default) == 1 and col.default[0].upper == "NULL":
        return None
    default_sql = sql_of(col.default)
    if pg_version < 11:
        return (
            f"DEFAULT {default_sql}",
            f"fills every row (Postgres {pg_version} has no fast defaults; 11+ does)",
        )
    found = default_volatility(col.default)
    if found is None:
        return None
    kind, fn = found
    if kind == "volatile":
        return f"DEFAULT {default_sql}", f"{fn}() is volatile, so every existing row gets its own value"
    return (
        f"DEFAULT {default_sql}",
        f"{fn}() is not known to be STABLE or IMMUTABLE; a volatile default fills every row",
    )


@rule(
    id="avoid-volatile-default",
    severity=Severity.ERROR,
    family="rewrites",
    summary="`ADD COLUMN` with a volatile default, a serial/identity type or a stored generated column.",
    why="""
        Adding a column whose value must be computed per row (`gen_random_uuid()`,
        `clock_timestamp()`, `random()`, `nextval()`, serial and identity columns, `GENERATED ...
        STORED`) rewrites the whole table while holding ACCESS EXCLUSIVE, blocking reads and writes.
        Constant and STABLE defaults such as `now()` are stored in the catalog and are instant from
        Postgres 11; before 11 every default rewrites the table.
    """,
    fix="""
        Add the column without the default (or with a constant one), set the default in a second
        statement (`ALTER COLUMN ... SET DEFAULT`, which affects only new rows), then backfill
        existing rows in batches.
    """,
    bad="ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
    good="ALTER TABLE users ADD COLUMN token uuid;\nALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();",
    heads=("ALTER",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_volatile_default(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    if "ADD" not in stmt.words or stmt.words[1:2] != ("TABLE",):
        return
    alter = read_alter_table(stmt)
    if alter is None or ctx.is_new_table(alter.key):
        return
    t = alter.shown
    for action in alter.actions:
        col = add_column_def(action)
        if col is None:
            continue
        reason = _rewrite_reason(col, ctx.pg_version)
        if reason is None:
            continue
        what, why = reason
        base = col.type_text
        if col.type is not None and col.type.name in _SERIALS:
            base = {
                "smallserial": "smallint",
                "serial2": "smallint",
                "bigserial": "bigint",
                "serial8": "bigint",
            }.get(col.type.name, "integer")
        steps = f"ALTER TABLE {t} ADD COLUMN {col.shown} {base};\n"
        if col.default is not None:
            steps += f"ALTER TABLE {t} ALTER COLUMN {col.shown} SET DEFAULT {sql_of(col.default)};\n"
        steps += f"-- then backfill existing rows in batches: UPDATE {t} SET {col.shown} = ... WHERE ... LIMIT ...;"
        yield Hit(
            f"adding {col.shown} with {what} rewrites {t} while holding {describe(ACCESS_EXCLUSIVE)}: {why}",
            steps,
            lock=ACCESS_EXCLUSIVE,
        )


def _type_change(
    action_tokens: tuple[Token, ...], words: tuple[str, ...]
) -> tuple[tuple[Token, ...], bool] | None:
    """(new type tokens, has USING) of `ALTER [COLUMN] c [SET DATA] TYPE t [USING ...]`."""
    if words[:1] != ("ALTER",):
        return None
    i = 2 if words[1:2] == ("COLUMN",) else 1
    rest = words[i + 1 :]
    if rest[:3] == ("SET", "DATA", "TYPE"):
        j = i + 4
    elif rest[:1] == ("TYPE",):
        j = i + 2
    else:
        return None
    return type_tokens(action_tokens[j:]), "USING" in words[j:]


@rule(
    id="avoid-type-change-rewrite",
    severity=Severity.ERROR,
    family="rewrites",
    summary="`ALTER COLUMN ... TYPE` that is not a binary-compatible change, so it rewrites the table.",
    why="""
        Changing a column's type rewrites the table and rebuilds its indexes while holding ACCESS
        EXCLUSIVE, blocking reads and writes, unless the new type is binary compatible with the
        old: `varchar(n)` to a longer `varchar`, to unlimited `varchar` or to `text`; `text` to
        unlimited `varchar`; `numeric(p,s)` to `numeric(p2>=p,s)` or unconstrained `numeric`; a
        longer `varbit`; `cidr` to `inet`. Shrinking a limit skips the rewrite but still scans every
        row under the lock. `timestamp` to `timestamptz` is only free when the session time zone is
        UTC (Postgres 12+), so it is treated as a rewrite.
    """,
    fix="""
        Add a new column of the new type, backfill it in batches, switch reads and writes to it,
        then drop the old column (expand, migrate, contract).
    """,
    bad="ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2);",
    good="ALTER TABLE orders ADD COLUMN total_new numeric(12,2);",
    heads=("ALTER",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_type_change_rewrite(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    if "TYPE" not in stmt.words or stmt.words[1:2] != ("TABLE",):
        return
    alter = read_alter_table(stmt)
    if alter is None or ctx.is_new_table(alter.key):
        return
    t = alter.shown
    for action in alter.actions:
        change = _type_change(action.tokens, action.words)
        named = alter_column_name(action)
        if change is None or named is None:
            continue
        new_tokens, using = change
        column, shown = named
        new = parse_type(new_tokens)
        new_sql = sql_of(new_tokens)
        old = _earlier_type(ctx, stmt, alter.key, column)
        if new is not None and old is not None and not using and is_binary_compatible(old, new):
            continue
        if using:
            detail = "the USING clause recomputes every value"
        elif old is None:
            detail = (
                "its current type is not declared in earlier migrations, so the change cannot be proven "
                "binary compatible"
            )
        else:
            detail = f"{old} to {new_sql} is not a binary-compatible change"
        tmp = f"{column}_new"
        yield Hit(
            f"changing {t}.{shown} to {new_sql} rewrites {t} and its indexes while holding "
            f"{describe(ACCESS_EXCLUSIVE)} ({detail})",
            f"ALTER TABLE {t} ADD COLUMN {tmp} {new_sql};\n"
            f"-- backfill {tmp} in batches and keep it in sync (trigger or app), switch reads, then:\n"
            f"ALTER TABLE {t} DROP COLUMN {shown};\nALTER TABLE {t} RENAME COLUMN {tmp} TO {shown};",
            lock=ACCESS_EXCLUSIVE,
        )


def _earlier_type(ctx: FileContext, stmt: Statement, table: str, column: str) -> TypeSpec | None:
    """The column's type before `stmt`: earlier migrations in version order, then this file."""
    return file_type_before(ctx, stmt, table, column)
