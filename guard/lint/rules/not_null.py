"""NOT NULL rules: `SET NOT NULL` on an existing column, `ADD COLUMN ... NOT NULL` without a default,
and the readers of validated `CHECK (col IS NOT NULL)` constraints that make `SET NOT NULL` instant.

Postgres proves NOT NULL by scanning the table under ACCESS EXCLUSIVE, unless (12+) a
validated `CHECK (col IS NOT NULL)` already proves it.
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext
from guard.lint.ddl import add_column_def, alter_column_name, read_alter_table
from guard.lint.locks import ACCESS_EXCLUSIVE, describe
from guard.lint.registry import rule
from guard.lint.rules.constraints import existing_alter
from guard.model import Hit, Severity
from guard.parsing import Statement


def has_validated_not_null_check(ctx: FileContext, table: str, column: str) -> bool:
    """True when this file or an earlier migration has a validated `CHECK (column IS NOT NULL)` on table."""
    if (table, column) in ctx.not_null_checks:
        return True
    # NOT VALID checks on (table, column) an earlier migration added, by name, not yet validated.
    found, pending = ctx.schema.has_validated_not_null_check(ctx.migration, table, column)
    return found or any((table, name) in ctx.validated_constraints for name in pending)


def not_null_check_actions(stmt: Statement) -> Iterator[tuple[str, str, str, bool]]:
    """(table, constraint, column, validated) for `ADD CONSTRAINT c CHECK (col IS NOT NULL) [NOT VALID]`
    actions and (table, constraint, '', True) for `VALIDATE CONSTRAINT c`."""
    if "CHECK" not in stmt.words and "VALIDATE" not in stmt.words:
        return
    alter = read_alter_table(stmt)
    if alter is None:
        return
    for action in alter.actions:
        w = action.words
        if action.starts("VALIDATE", "CONSTRAINT") and len(action.tokens) > 2:
            yield alter.key, action.tokens[2].name, "", True
        elif w[:1] == ("ADD",) and "CHECK" in w:
            i = w.index("CHECK")
            body = action.tokens[i + 1 :]
            # Exactly `( col IS NOT NULL )`.
            shape = [t.upper or t.text for t in body[:6]]
            if shape[:1] == ["("] and shape[2:] == ["IS", "NOT", "NULL", ")"] and body[1].is_name():
                name = action.tokens[2].name if action.starts("ADD", "CONSTRAINT") else ""
                yield alter.key, name, body[1].name, "VALID" not in w[i:]


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
    heads=("ALTER",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_set_not_null(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx, "NULL")
    if alter is None:
        return
    t = alter.shown
    for action in alter.actions:
        if action.words[-3:] != ("SET", "NOT", "NULL"):
            continue
        named = alter_column_name(action)
        if named is None:
            continue
        column, shown = named
        if ctx.pg_version >= 12 and has_validated_not_null_check(ctx, alter.key, column):
            continue
        check = f"{alter.key}_{column}_not_null"
        if ctx.pg_version >= 12:
            fix = (
                f"ALTER TABLE {t} ADD CONSTRAINT {check} CHECK ({shown} IS NOT NULL) NOT VALID;\n"
                f"-- then, in a separate migration:\nALTER TABLE {t} VALIDATE CONSTRAINT {check};\n"
                f"ALTER TABLE {t} ALTER COLUMN {shown} SET NOT NULL;\nALTER TABLE {t} DROP CONSTRAINT {check};"
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
    summary="`ADD COLUMN ... NOT NULL` without a default on an existing table.",
    why="""
        Existing rows get NULL in a new column, so `ADD COLUMN ... NOT NULL` without a default fails
        on any table that has rows (after taking ACCESS EXCLUSIVE), and the deploy breaks. On
        Postgres 11+ a constant default makes the column instant and valid.
    """,
    fix="""
        Add the column with a constant `DEFAULT` (instant on Postgres 11+), or add it nullable,
        backfill, and enforce NOT NULL with a validated check.
    """,
    bad="ALTER TABLE users ADD COLUMN plan text NOT NULL;",
    good="ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';",
    heads=("ALTER",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def require_default_for_not_null(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx, "NULL", "PRIMARY")
    if alter is None:
        return
    for action in alter.actions:
        col = add_column_def(action)
        if col is None or not col.not_null or col.default is not None or col.identity or col.generated_stored:
            continue
        if col.type is not None and col.type.name in (
            "serial",
            "bigserial",
            "smallserial",
            "serial4",
            "serial8",
        ):
            continue  # serial columns carry their own default
        yield Hit(
            f"ADD COLUMN {col.shown} {col.type_text} NOT NULL has no default, so it fails on a non-empty "
            f"{alter.shown} (after taking {describe(ACCESS_EXCLUSIVE)})",
            f"ALTER TABLE {alter.shown} ADD COLUMN {col.shown} {col.type_text} NOT NULL DEFAULT <constant>;",
            lock=ACCESS_EXCLUSIVE,
        )
