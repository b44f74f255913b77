"""Rewrite rules for columns: volatile column defaults and widening type changes copy the whole
table (and rebuild its indexes) while holding ACCESS EXCLUSIVE. They read the statement model
(`Statement.fact`) only; a type change's kind comes from `guard.lint.facts.column_types`, shared
with `avoid-column-type-change` so each type change is reported once.
(`VACUUM FULL`, `CLUSTER`, `SET TABLESPACE` and `SET LOGGED/UNLOGGED` live in
`table_rewrites`.)

Version facts: from Postgres 11 a non-volatile `ADD COLUMN ... DEFAULT` is stored in the
catalog (no rewrite); before 11 every non-null default rewrites the table.
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext, contract_target
from guard.lint.facts.column_types import BREAKING, FREE, type_change_kind
from guard.lint.locks import ACCESS_EXCLUSIVE, describe
from guard.lint.registry import rule
from guard.lint.rules._types import file_type_before
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql import facts as f
from guard.sql import safe_sql as sql
from guard.sql.types import TypeSpec

_SERIALS = frozenset({"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"})
_SERIAL_BASE = {"smallserial": "smallint", "serial2": "smallint", "bigserial": "bigint", "serial8": "bigint"}


def _rewrite_reason(col: f.Column, pg_version: int) -> tuple[str, str] | None:
    """(what, why) when adding `col` rewrites the table, else None."""
    type_name = col.type.name if col.type is not None else ""
    if type_name in _SERIALS:
        return f"a {type_name} column", "fills every row from a sequence (nextval is volatile)"
    if col.identity:
        return "an identity column", "fills every row from its sequence"
    if col.generated:
        return "a stored generated column", "computes and stores a value for every row"
    default = col.default
    if default is None or default.is_null:
        return None
    if pg_version < 11:
        return (
            f"DEFAULT {default.sql}",
            f"fills every row (Postgres {pg_version} has no fast defaults; 11+ does)",
        )
    if default.volatility == "volatile":
        return (
            f"DEFAULT {default.sql}",
            f"{default.function}() is volatile, so every existing row gets its own value",
        )
    if default.volatility == "unknown":
        return (
            f"DEFAULT {default.sql}",
            f"{default.function}() is not known to be STABLE or IMMUTABLE; a volatile default fills every row",
        )
    return None


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
    facts=(f.AlterTable,),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_volatile_default(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    fact = stmt.fact
    assert isinstance(fact, f.AlterTable)
    if ctx.is_new_table(fact.table.key):
        return
    t = fact.table.shown
    for action in fact.actions:
        if not isinstance(action, f.AddColumn):
            continue
        col = action.column
        reason = _rewrite_reason(col, ctx.pg_version)
        if reason is None:
            continue
        what, why = reason
        yield Hit(
            f"adding {col.name.shown} with {what} rewrites {t} while holding {describe(ACCESS_EXCLUSIVE)}: {why}",
            _split_default_fix(fact.table, col),
            lock=ACCESS_EXCLUSIVE,
        )


def _split_default_fix(table: f.Name, col: f.Column) -> str:
    """Add the column bare, set its default for new rows, then backfill."""
    base = col.type_sql
    if col.type is not None and col.type.name in _SERIALS:
        base = _SERIAL_BASE.get(col.type.name, "integer")
    steps = [sql.add_column(table.shown, col.name.shown, base, parse=False)]
    if col.default is not None and not col.default.is_null:
        steps.append(sql.set_default(table.shown, col.name.shown, col.default.sql, parse=False))
    steps.append(f"-- then backfill existing rows of {table.shown} in batches (UPDATE ... WHERE <key range>)")
    return "\n".join(steps)


@rule(
    id="avoid-type-change-rewrite",
    severity=Severity.ERROR,
    family="rewrites",
    summary="`ALTER COLUMN ... TYPE` that keeps readers working but rewrites the table (`integer` to `bigint`).",
    why="""
        A widening type change (`smallint`/`integer` to `bigint`, `real` to `double precision`,
        `numeric` to more digits) keeps every value and what readers get, but still rewrites the
        table and rebuilds its indexes while holding ACCESS EXCLUSIVE, blocking reads and writes.
        Binary-compatible changes skip the rewrite: `varchar(n)` to a longer `varchar`, to
        unlimited `varchar` or to `text`; `numeric(p,s)` to `numeric(p2>=p,s)`; `cidr` to `inet`.
        Type changes readers may not expect are reported once, by `avoid-column-type-change`; in a
        `guard: contract` migration, where that rule is silent, this one reports every rewriting
        type change.
    """,
    fix="""
        Expand and contract: add a new column of the new type, backfill it in batches and keep it
        in sync, switch readers and writers to it, then drop the old column in a later contract
        migration.
    """,
    bad="""
        -- after: CREATE TABLE orders (id bigint PRIMARY KEY, quantity integer) in an earlier migration
        ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;
    """,
    good="""
        -- after: CREATE TABLE orders (id bigint PRIMARY KEY, quantity integer) in an earlier migration
        ALTER TABLE orders ADD COLUMN quantity_new bigint;
    """,
    facts=(f.AlterTable,),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_type_change_rewrite(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    fact = stmt.fact
    assert isinstance(fact, f.AlterTable)
    if ctx.is_new_table(fact.table.key):
        return
    contract: bool | None = None  # read on the first type change only
    for action in fact.actions:
        if not isinstance(action, f.AlterColumnType):
            continue
        old = file_type_before(ctx, stmt, fact.table.key, action.column.key) if action.type else None
        kind = type_change_kind(old, action.type, action.using is not None)
        if kind == FREE:
            continue
        if kind == BREAKING:
            if contract is None:
                contract = contract_target(ctx) is not None
            if not contract:
                continue  # avoid-column-type-change reports it, and its fix avoids the rewrite too
        yield _type_change_hit(fact.table, action, old)


def _type_change_hit(table: f.Name, action: f.AlterColumnType, old: TypeSpec | None) -> Hit:
    t, shown, new_sql = table.shown, action.column.shown, action.type_sql
    if action.using is not None:
        detail = "the USING clause recomputes every value"
    elif old is None:
        detail = (
            "its current type is not declared in earlier migrations, so the change cannot be proven "
            "binary compatible"
        )
    else:
        detail = f"{old} to {new_sql} is not a binary-compatible change"
    tmp = sql.ident(f"{action.column.key}_new")
    expand = sql.add_column(t, tmp, new_sql, parse=False)
    contract = sql.drop_column(t, shown, parse=False)
    return Hit(
        f"changing {t}.{shown} to {new_sql} rewrites {t} and its indexes while holding "
        f"{describe(ACCESS_EXCLUSIVE)} ({detail})",
        f"{expand}\n"
        f"-- backfill {tmp} in batches and keep it in sync (trigger or dual writes), switch readers and\n"
        f"-- writers to {tmp}, then drop the old column in a later migration marked\n"
        f"-- `-- guard: contract <this version>`:\n{contract}",
        lock=ACCESS_EXCLUSIVE,
    )
