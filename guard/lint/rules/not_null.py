"""NOT NULL rules: `SET NOT NULL` on an existing column, `ADD COLUMN ... NOT NULL` without a default,
and the readers of validated `CHECK (col IS NOT NULL)` constraints that make `SET NOT NULL` instant.

Postgres proves NOT NULL by scanning the table under ACCESS EXCLUSIVE, unless (12+) a
validated `CHECK (col IS NOT NULL)` already proves it.
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext
from guard.lint.facts.nullability import nullability, unique_index_def
from guard.lint.locks import ACCESS_EXCLUSIVE, describe
from guard.lint.registry import rule
from guard.lint.rules.constraints import existing_alter
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql import facts as f
from guard.sql import safe_sql as sql
from guard.sql.types import TypeSpec

#: Serial types carry their own default.
_SERIALS = frozenset({"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"})


def has_validated_not_null_check(ctx: FileContext, table: str, column: str) -> bool:
    """True when this file or an earlier migration has a validated `CHECK (column IS NOT NULL)` on table."""
    if (table, column) in ctx.not_null_checks:
        return True
    # NOT VALID checks on (table, column) an earlier migration added, by name, not yet validated.
    found, pending = ctx.schema.has_validated_not_null_check(ctx.migration, table, column)
    return found or any((table, name) in ctx.validated_constraints for name in pending)


@rule(
    id="avoid-set-not-null",
    severity=Severity.ERROR,
    family="constraints",
    summary="`SET NOT NULL` on an existing column without a validated `CHECK (col IS NOT NULL)` (Postgres 12+).",
    why="""
        `ALTER COLUMN ... SET NOT NULL` scans the whole table to prove there are no NULLs while
        holding ACCESS EXCLUSIVE, blocking reads and writes. From Postgres 12 the scan is skipped
        when a validated `CHECK (col IS NOT NULL)` constraint already proves it.
    """,
    fix="""
        Add `CHECK (col IS NOT NULL) NOT VALID`; in the next migration `VALIDATE CONSTRAINT` it, then
        `SET NOT NULL` (instant on 12+) and drop the check.
    """,
    bad="ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    good=(
        "ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;\n"
        "-- next migration: VALIDATE CONSTRAINT users_email_not_null, then SET NOT NULL"
    ),
    facts=(f.AlterTable,),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_set_not_null(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx)
    if alter is None:
        return
    t, key = alter.table.shown, alter.table.key
    for action in alter.actions:
        if not isinstance(action, f.SetNotNull):
            continue
        column, shown = action.column.key, action.column.shown
        if ctx.pg_version >= 12 and has_validated_not_null_check(ctx, key, column):
            continue
        check = sql.ident(f"{key}_{column}_not_null")
        if ctx.pg_version >= 12:
            fix = "\n".join(
                (
                    sql.add_constraint(
                        t, check, sql.not_null_check(shown, parse=False), not_valid=True, parse=False
                    ),
                    "-- then, in a separate migration:",
                    sql.validate_constraint(t, check, parse=False),
                    sql.set_not_null(t, shown, parse=False),
                    sql.drop_constraint(t, check, parse=False),
                )
            )
        else:
            fix = (
                f"Postgres {ctx.pg_version} always scans for SET NOT NULL (12+ can use a validated check): "
                f"enforce it with `CHECK ({shown} IS NOT NULL) NOT VALID` + VALIDATE instead"
            )
        yield Hit(
            f"SET NOT NULL on {t}.{shown} scans the whole table while holding {describe(ACCESS_EXCLUSIVE)}",
            fix,
            lock=ACCESS_EXCLUSIVE,
        )


@rule(
    id="require-default-for-not-null",
    severity=Severity.ERROR,
    family="constraints",
    summary="`ADD COLUMN ... NOT NULL` without a default on an existing table, or its default dropped in the same migration.",
    why="""
        Existing rows get NULL in a new column, so `ADD COLUMN ... NOT NULL` without a default fails
        on any table that has rows (after taking ACCESS EXCLUSIVE), and the deploy breaks. On
        Postgres 11+ a constant default makes the column instant and valid. Adding the column with a
        default and dropping the default (`ALTER COLUMN ... DROP DEFAULT`) in the same migration
        breaks the release still running: its inserts omit the new column and now fail.
    """,
    fix="""
        Add the column with a constant `DEFAULT` (instant on Postgres 11+), or add it nullable,
        backfill, and enforce NOT NULL with a validated check. Drop the default only in a later
        migration, once every running release writes the column.
    """,
    bad="ALTER TABLE users ADD COLUMN plan text NOT NULL;",
    good="ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';",
    facts=(f.AlterTable,),
    lock=describe(ACCESS_EXCLUSIVE),
)
def require_default_for_not_null(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx)
    if alter is None:
        return
    t, key = alter.table.shown, alter.table.key
    added: set[str] = set()  # NOT NULL columns added with a default by this very statement
    for action in alter.actions:
        if isinstance(action, f.DropDefault):
            column = action.column.key
            if (key, column) in ctx.not_null_defaults or column in added:
                yield Hit(
                    f"{t}.{action.column.shown} was added NOT NULL with a default in this migration, and "
                    "DROP DEFAULT removes it: inserts from the release still running, which omit the "
                    "new column, start failing",
                    "keep the default until every running release writes the column: drop it in a later "
                    "migration, after the deploy",
                    lock=ACCESS_EXCLUSIVE,
                )
            continue
        if not isinstance(action, f.AddColumn):
            continue
        col = action.column
        if col.not_null and col.default is not None and not col.default.is_null:
            added.add(col.name.key)
        if not col.not_null or col.default is not None or col.identity or col.generated:
            continue
        if col.type is not None and col.type.name in _SERIALS:
            continue  # serial columns carry their own default
        zero = _zero(col.type)
        if zero:
            add = sql.add_column(
                t, col.name.shown, col.type_sql, tail=f"NOT NULL DEFAULT {zero}", parse=False
            )
            fix = f"-- existing rows get the default: pick the value they should have\n{add}"
        else:  # a template, not SQL: the user picks the constant
            template = sql.add_column(
                t, col.name.shown, col.type_sql, tail="NOT NULL DEFAULT <constant>", parse=False
            )
            fix = f"add it with the constant existing rows should get:\n{template}"
        yield Hit(
            f"ADD COLUMN {col.name.shown} {col.type_sql} NOT NULL has no default, so it fails on a non-empty "
            f"{t} (after taking {describe(ACCESS_EXCLUSIVE)})",
            fix,
            lock=ACCESS_EXCLUSIVE,
        )


#: A neutral constant of each common type, for the suggested `DEFAULT`.
_ZEROS = {
    **dict.fromkeys(
        ("smallint", "integer", "bigint", "numeric", "decimal", "real", "double precision", "money"), "0"
    ),
    "boolean": "false",
    **dict.fromkeys(("text", "varchar", "bpchar", "citext"), "''"),
    **dict.fromkeys(("json", "jsonb"), "'{}'"),
}


def _zero(spec: TypeSpec | None) -> str:
    """A constant `DEFAULT` for a column of type `spec` ('' when there is no obvious one)."""
    if spec is None:
        return ""
    return "'{}'" if spec.array else _ZEROS.get(spec.name, "")


# --- PRIMARY KEY USING INDEX ----------------------------------------------------------------------------


def _history(ctx: FileContext, table: str) -> Iterator[f.Fact]:
    """Facts of the statements before this one that may tell about `table`: earlier migrations in
    version order (from the schema index), then this file's (kept by the context as it goes)."""
    for s in ctx.schema.statements_about(ctx.migration, table):
        yield s.fact
    yield from ctx.about.get(table, ())


@rule(
    id="require-not-null-before-primary-key",
    severity=Severity.ERROR,
    family="constraints",
    summary="`ADD PRIMARY KEY USING INDEX` on columns not known to be NOT NULL.",
    why="""
        Attaching a unique index as the primary key is instant only when its columns are already
        NOT NULL. Otherwise Postgres runs `SET NOT NULL` on each of them as part of the ALTER, which
        scans the whole table while holding ACCESS EXCLUSIVE, blocking reads and writes. Nullability
        is read from the earlier migrations and this one (CREATE TABLE, ADD COLUMN, SET/DROP NOT
        NULL); when the index or a column cannot be found there, the rule fails closed.
    """,
    fix="""
        Make the columns NOT NULL first without a long lock: `ADD CONSTRAINT ... CHECK (col IS NOT
        NULL) NOT VALID`, `VALIDATE CONSTRAINT` in a later migration, then `SET NOT NULL` (instant
        on Postgres 12+), then `ADD PRIMARY KEY USING INDEX`.
    """,
    bad="ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_key;",
    good=(
        "CREATE TABLE users (id bigint NOT NULL);\n"
        "CREATE UNIQUE INDEX users_id_key ON users (id);\n"
        "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_key;"
    ),
    facts=(f.AlterTable,),
    lock=describe(ACCESS_EXCLUSIVE),
)
def require_not_null_before_primary_key(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx)
    if alter is None:
        return
    t, key = alter.table.shown, alter.table.key
    for action in alter.actions:
        if not isinstance(action, f.AddConstraint):
            continue
        c = action.constraint
        if c.kind != f.PRIMARY_KEY or c.using_index is None:
            continue
        index = c.using_index.key
        columns: list[str | None] | None = None
        known: dict[str, bool] = {}
        for earlier in _history(ctx, key):
            found = unique_index_def(earlier)
            if found is not None and found[0] == index and found[1] == key:
                columns = found[2]
            nullability(earlier, key, known)
        if columns is None:
            problem = (
                f"ADD PRIMARY KEY USING INDEX {index}: no earlier CREATE UNIQUE INDEX {index} ON {t} shows its"
                " columns are NOT NULL, and for each nullable one Postgres runs SET NOT NULL, scanning"
            )
            shown = "<column>"
        else:
            unsure = [
                col
                for col in columns
                if col is None
                or not (
                    known.get(col, False)
                    or (ctx.pg_version >= 12 and has_validated_not_null_check(ctx, key, col))
                )
            ]
            if not unsure:
                continue
            names = ", ".join(col or "(expression)" for col in unsure)
            problem = (
                f"ADD PRIMARY KEY USING INDEX {index} runs SET NOT NULL on {names} (not known to be NOT NULL),"
                " scanning"
            )
            shown = sql.ident(unsure[0]) if unsure[0] else "<column>"
        check = sql.ident(f"{key}_{shown.strip(chr(34))}_not_null") if shown != "<column>" else "<check>"
        name = f"CONSTRAINT {c.name.shown} " if c.name is not None else ""
        prose = (
            f"make each column NOT NULL first (CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later "
            f"migration, SET NOT NULL), then ADD {name}PRIMARY KEY USING INDEX {c.using_index.shown}"
        )
        steps = (
            prose
            if shown == "<column>"
            else "\n".join(
                (
                    sql.add_constraint(
                        t, check, sql.not_null_check(shown, parse=False), not_valid=True, parse=False
                    ),
                    "-- then, in a separate migration:",
                    sql.validate_constraint(t, check, parse=False),
                    sql.set_not_null(t, shown, parse=False),
                    sql.add_constraint_using_index(
                        t,
                        c.name.shown if c.name is not None else "",
                        c.using_index.shown,
                        primary=True,
                        parse=False,
                    ),
                )
            )
        )
        yield Hit(
            f"{problem} {t} while holding {describe(ACCESS_EXCLUSIVE)}",
            steps,
            lock=ACCESS_EXCLUSIVE,
        )
