"""NOT NULL rules: `SET NOT NULL` on an existing column, `ADD COLUMN ... NOT NULL` without a default,
and the readers of validated `CHECK (col IS NOT NULL)` constraints that make `SET NOT NULL` instant.

Postgres proves NOT NULL by scanning the table under ACCESS EXCLUSIVE, unless (12+) a
validated `CHECK (col IS NOT NULL)` already proves it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from guard.lint.context import FileContext
from guard.lint.ddl import add_column_def, alter_column_name, create_table_columns, read_alter_table, sql_of
from guard.lint.facts.nullability import paren_names, unique_index_def
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


# --- PRIMARY KEY USING INDEX ----------------------------------------------------------------------------


def _unique_index(stmt: Statement, index: str) -> tuple[str, list[str | None]] | None:
    """(table key, columns) when `stmt` is `CREATE UNIQUE INDEX <index> ON table (...)`."""
    found = unique_index_def(stmt)
    if found is None or found[0] != index:
        return None
    return found[1], found[2]


def declared_nullability(statements: Iterable[Statement], table: str) -> dict[str, bool]:
    """Column -> declared NOT NULL for `table` after `statements` (in order); used by `fix`."""
    known: dict[str, bool] = {}
    for stmt in statements:
        _nullability(stmt, table, known)
    return known


def _nullability(stmt: Statement, table: str, known: dict[str, bool]) -> None:
    """Update `known` (column -> declared NOT NULL) with what `stmt` declares about `table`."""
    created = create_table_columns(stmt)
    if created is not None and created[0] == table:
        known.clear()
        for col in created[2]:
            known[col.name] = col.not_null or col.primary_key
        for part in created[3]:
            words = [t.upper for t in part]
            if "PRIMARY" in words:
                for col_name in paren_names(part, words.index("KEY") + 1):
                    if col_name:
                        known[col_name] = True
        return
    alter = read_alter_table(stmt)
    if alter is None or alter.key != table:
        return
    for action in alter.actions:
        w = action.words
        added = add_column_def(action)
        if added is not None:
            known[added.name] = added.not_null or added.primary_key
        elif w[-3:] in (("SET", "NOT", "NULL"), ("DROP", "NOT", "NULL")):
            named = alter_column_name(action)
            if named is not None:
                known[named[0]] = w[-3] == "SET"
        elif w[:1] == ("ADD",) and "PRIMARY" in w[:4] and "KEY" in w and "USING" not in w:
            for col_name in paren_names(action.tokens, w.index("KEY") + 1):
                if col_name:
                    known[col_name] = True


def _history(stmt: Statement, ctx: FileContext, table: str) -> Iterator[Statement]:
    """Statements before `stmt` that may tell about `table`: earlier migrations in version order
    (from the schema index), then every earlier statement of this file."""
    yield from ctx.schema.statements_about(ctx.migration, table)
    for s in ctx.schema.statements(ctx.migration)[0]:
        if s.index >= stmt.index:
            break
        yield s


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
    heads=("ALTER",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def require_not_null_before_primary_key(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx, "PRIMARY")
    if alter is None:
        return
    for action in alter.actions:
        w = action.words
        if w[:1] != ("ADD",) or "PRIMARY" not in w[:4] or w[-3:-1] != ("USING", "INDEX"):
            continue
        index = action.tokens[-1].name
        columns: list[str | None] | None = None
        known: dict[str, bool] = {}
        for earlier in _history(stmt, ctx, alter.key):
            found = _unique_index(earlier, index)
            if found is not None and found[0] == alter.key:
                columns = found[1]
            _nullability(earlier, alter.key, known)
        t = alter.shown
        if columns is None:
            problem = (
                f"ADD PRIMARY KEY USING INDEX {index}: no earlier CREATE UNIQUE INDEX {index} ON {t} shows its"
                " columns are NOT NULL, and for each nullable one Postgres runs SET NOT NULL, scanning"
            )
            shown = "<column>"
        else:
            unsure = [c for c in columns if c is None or not known.get(c, False)]
            unsure = [
                c
                for c in unsure
                if c is None or not (ctx.pg_version >= 12 and has_validated_not_null_check(ctx, alter.key, c))
            ]
            if not unsure:
                continue
            names = ", ".join(c or "(expression)" for c in unsure)
            problem = (
                f"ADD PRIMARY KEY USING INDEX {index} runs SET NOT NULL on {names} (not known to be NOT NULL),"
                " scanning"
            )
            shown = unsure[0] or "<column>"
        check = f"{alter.key}_{shown}_not_null"
        yield Hit(
            f"{problem} {t} while holding {describe(ACCESS_EXCLUSIVE)}",
            f"ALTER TABLE {t} ADD CONSTRAINT {check} CHECK ({shown} IS NOT NULL) NOT VALID;\n"
            f"-- then, in a separate migration:\nALTER TABLE {t} VALIDATE CONSTRAINT {check};\n"
            f"ALTER TABLE {t} ALTER COLUMN {shown} SET NOT NULL;\n"
            f"ALTER TABLE {t} {sql_of(action.tokens)};",
            lock=ACCESS_EXCLUSIVE,
        )
