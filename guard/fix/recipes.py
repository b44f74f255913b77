"""The safe sequence for each fixable rule (lock-safety recipes here, expand/contract in
`guard.fix.expand`): one offending statement in, a `StatementFix` out.

A recipe returns a reason string instead when it cannot fix the statement (a shape it does
not read, a name or type it does not know, a Postgres version that lacks the feature).
"""

from __future__ import annotations

from collections.abc import Callable

from guard.fix import read
from guard.fix.expand import change_type, rename_column, rename_table
from guard.fix.model import Context, Result, StatementFix, Step, unreadable
from guard.sql import safe_sql as sql

Recipe = Callable[[Context], Result]


def index_concurrently(ctx: Context) -> Result:
    """`CREATE INDEX` -> `CREATE INDEX CONCURRENTLY`, alone in a no-transaction migration."""
    idx = read.read_create_index(ctx.statement)
    if idx is None or idx.index is None:
        return unreadable("named CREATE INDEX")
    create = sql.create_index(
        idx.table,
        idx.keys,
        index=idx.index,
        unique=idx.unique,
        method=idx.method,
        where=idx.where,
        include=idx.include,
        if_not_exists=True,
    )
    return StatementFix(
        ("require-concurrent-index",),
        "index built CONCURRENTLY, outside a transaction",
        (create,),
        (sql.drop_index(idx.index),),
        keeps_down=True,
        alone_no_transaction=True,
        index=idx.index,
    )


def drop_index_concurrently(ctx: Context) -> Result:
    """`DROP INDEX` -> `DROP INDEX CONCURRENTLY`, alone in a no-transaction migration."""
    found = read.read_drop_index(ctx.statement)
    if found is None:
        return unreadable("one-index DROP INDEX without CASCADE")
    return StatementFix(
        ("require-concurrent-index-drop",),
        "index dropped CONCURRENTLY, outside a transaction",
        (sql.drop_index(found[0].shown, if_exists=found[1]),),
        None,
        keeps_down=True,
        alone_no_transaction=True,
    )


def reindex_concurrently(ctx: Context) -> Result:
    """`REINDEX` -> `REINDEX ... CONCURRENTLY` (Postgres 12+), alone in a no-transaction migration."""
    if ctx.pg_version < 12:
        return f"REINDEX CONCURRENTLY needs Postgres 12+ (pg_version is {ctx.pg_version})"
    found = read.read_reindex(ctx.statement)
    if found is None or found[0] == "DATABASE":
        return unreadable("REINDEX INDEX|TABLE|SCHEMA")
    again = sql.reindex(found[0], found[1])
    return StatementFix(
        ("require-concurrent-reindex",),
        "rebuilt CONCURRENTLY, outside a transaction",
        (again,),
        (again,),  # a rebuild changes no schema: its down rebuilds again rather than doing nothing
        keeps_down=True,
        alone_no_transaction=True,
    )


def _validate_step(table: str, constraint: str, definition: str) -> Step:
    return Step(
        slug=f"validate_{constraint.strip(chr(34))}",
        up=(sql.validate_constraint(table, constraint),),
        # A validated constraint cannot be marked unvalidated: re-create it NOT VALID.
        down=(
            sql.drop_constraint(table, constraint),
            sql.add_constraint(table, constraint, definition, not_valid=True),
        ),
        header=("-- VALIDATE takes SHARE UPDATE EXCLUSIVE: reads and writes continue while it scans.",),
    )


def not_valid_then_validate(ctx: Context) -> Result:
    """A foreign key or CHECK -> `ADD ... NOT VALID` now, `VALIDATE CONSTRAINT` in the next migration."""
    con = read.read_add_constraint(ctx.statement)
    if con is None or con.kind not in ("fk", "check") or con.not_valid:
        return unreadable("ADD CONSTRAINT of a foreign key or CHECK")
    if con.constraint is None:
        return (
            "the constraint has no name: name it (`ADD CONSTRAINT <name> ...`) so it can be validated later"
        )
    add = sql.add_constraint(con.table, con.constraint, con.definition, not_valid=True)
    return StatementFix(
        ("require-not-valid-constraint",),
        "added NOT VALID; validated in the next migration",
        (add,),
        (sql.drop_constraint(con.table, con.constraint),),
        keeps_down=True,
        later=(_validate_step(con.table, con.constraint, con.definition),),
    )


def validate_later(ctx: Context) -> Result:
    """`VALIDATE CONSTRAINT` in the migration that added it NOT VALID -> moved to the next migration."""
    found = read.read_validate(ctx.statement)
    if found is None:
        return unreadable("VALIDATE CONSTRAINT")
    table_name, constraint = found
    table = table_name.shown
    for other in ctx.statements:
        con = read.read_add_constraint(other) if other.index < ctx.statement.index else None
        if (
            con is not None
            and con.constraint == constraint
            and con.not_valid
            and read.same_name(con.table_name, table_name)
        ):
            return StatementFix(
                ("validate-constraint-separately",),
                "VALIDATE moved to the next migration",
                (),
                (),
                keeps_down=True,
                later=(_validate_step(table, constraint, con.definition),),
            )
    return "the constraint is not added NOT VALID earlier in this file, so its down cannot be written"


def unique_via_index(ctx: Context) -> Result:
    """`ADD CONSTRAINT ... UNIQUE` -> a unique index built concurrently, then `ADD CONSTRAINT ... USING INDEX`."""
    con = read.read_add_constraint(ctx.statement)
    if con is None or con.kind != "unique":
        return "only UNIQUE constraints are rewritten (a primary key also needs its columns NOT NULL first)"
    if con.constraint is None:
        return "the constraint has no name: name it so the index and the constraint share it"
    index = sql.create_index(con.table, con.columns, index=con.constraint, unique=True, if_not_exists=True)
    attach = Step(
        slug=f"attach_{con.constraint.strip(chr(34))}",
        up=(sql.add_constraint_using_index(con.table, con.constraint, con.constraint),),
        down=(
            sql.drop_constraint(con.table, con.constraint),
            sql.create_index(con.table, con.columns, index=con.constraint, unique=True, concurrently=False),
        ),
        header=("-- Attaching a ready unique index takes ACCESS EXCLUSIVE only for a moment.",),
    )
    return StatementFix(
        ("require-unique-index-first",),
        "unique index built CONCURRENTLY, attached as the constraint in the next migration",
        (index,),
        (sql.drop_index(con.constraint),),
        keeps_down=False,
        alone_no_transaction=True,
        later=(attach,),
    )


def not_null_via_check(ctx: Context) -> Result:
    """`SET NOT NULL` -> CHECK NOT VALID, validate, `SET NOT NULL` (uses the check on 12+), drop the check."""
    if ctx.pg_version < 12:
        return (
            f"before Postgres 12 SET NOT NULL ignores a validated CHECK and still scans the table "
            f"(pg_version is {ctx.pg_version}): upgrade, or run it in a quiet window"
        )
    act = read.read_table_action(ctx.statement)
    if act is None or act.kind != "set-not-null":
        return unreadable("ALTER COLUMN ... SET NOT NULL")
    check = sql.derived_name(act.table, act.column, suffix="not_null")
    definition = sql.not_null_check(act.column)
    finish = Step(
        slug=f"set_{act.column.strip(chr(34))}_not_null",
        up=(sql.set_not_null(act.table, act.column), sql.drop_constraint(act.table, check)),
        down=(
            sql.set_not_null(act.table, act.column, drop=True),
            sql.add_constraint(act.table, check, definition, not_valid=True),
            sql.validate_constraint(act.table, check),
        ),
        header=("-- Postgres 12+ sees the validated CHECK and skips the scan; the check is then redundant.",),
    )
    return StatementFix(
        ("avoid-set-not-null",),
        "CHECK (... IS NOT NULL) NOT VALID now; validated, then SET NOT NULL, in the next migrations",
        (sql.add_constraint(act.table, check, definition, not_valid=True),),
        (sql.drop_constraint(act.table, check),),
        keeps_down=False,
        later=(_validate_step(act.table, check, definition), finish),
    )


def backfill_default(ctx: Context) -> Result:
    """A column added with a volatile default -> added bare, default set for new rows, old rows backfilled in batches."""
    act = read.read_table_action(ctx.statement)
    if act is None or act.kind != "add-column" or act.default is None:
        return unreadable("ADD COLUMN ... DEFAULT <expression> without other constraints")
    backfill = Step(
        slug=f"backfill_{act.column.strip(chr(34))}",
        up=(sql.batched_backfill(act.table, act.column, act.default),),
        down=(sql.clear_column(act.table, act.column),),
        no_transaction=True,
        header=(f"-- Fills existing rows {sql.BATCH_ROWS} at a time; each batch commits on its own.",),
    )
    return StatementFix(
        ("avoid-volatile-default",),
        "column added without a default (no rewrite), default set for new rows, old rows backfilled in batches",
        (
            sql.add_column(act.table, act.column, act.other),
            sql.set_default(act.table, act.column, act.default),
        ),
        (sql.drop_column(act.table, act.column),),
        keeps_down=True,
        later=(backfill,),
    )


def domain_not_valid(ctx: Context) -> Result:
    """A domain CHECK -> `ADD CONSTRAINT ... NOT VALID` now, `VALIDATE CONSTRAINT` in the next migration."""
    found = read.read_domain_check(ctx.statement)
    if found is None:
        return unreadable("named ALTER DOMAIN ... ADD CONSTRAINT ... CHECK")
    domain, constraint, check = found
    validate = Step(
        slug=f"validate_{constraint.strip(chr(34))}",
        up=(sql.validate_domain_constraint(domain, constraint),),
        down=(
            sql.drop_domain_constraint(domain, constraint),
            sql.add_domain_constraint(domain, constraint, check, not_valid=True),
        ),
    )
    return StatementFix(
        ("require-not-valid-domain-constraint",),
        "added NOT VALID; validated in the next migration",
        (sql.add_domain_constraint(domain, constraint, check, not_valid=True),),
        (sql.drop_domain_constraint(domain, constraint),),
        keeps_down=True,
        later=(validate,),
    )


#: Rule id -> the recipe that fixes its statement.
RECIPES: dict[str, Recipe] = {
    "require-concurrent-index": index_concurrently,
    "require-concurrent-index-drop": drop_index_concurrently,
    "require-concurrent-reindex": reindex_concurrently,
    "require-not-valid-constraint": not_valid_then_validate,
    "validate-constraint-separately": validate_later,
    "require-unique-index-first": unique_via_index,
    "avoid-set-not-null": not_null_via_check,
    "avoid-volatile-default": backfill_default,
    "avoid-rename-column": rename_column,
    "avoid-column-type-change": change_type,
    "avoid-type-change-rewrite": change_type,
    "avoid-rename-table": rename_table,
    "require-not-valid-domain-constraint": domain_not_valid,
}
