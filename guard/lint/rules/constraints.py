"""Constraint rules: foreign keys and checks without `NOT VALID`, validation in the same
transaction, unique/primary keys built under lock, exclusion constraints, and `NOT NULL`
on existing columns.

Adding a constraint to an existing table checks every row while holding a lock;
the safe sequences split the lock from the scan (`NOT VALID` + `VALIDATE`, or an
index built `CONCURRENTLY` + `USING INDEX`).
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext
from guard.lint.locks import ACCESS_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, describe
from guard.lint.registry import rule
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql import facts as f
from guard.sql import safe_sql as sql


def existing_alter(stmt: Statement, ctx: FileContext) -> f.AlterTable | None:
    """The `ALTER TABLE` fact of `stmt` when it targets a table this file did not create."""
    alter = stmt.fact
    if not isinstance(alter, f.AlterTable) or ctx.is_new_table(alter.table.key):
        return None
    return alter


def added_constraints(alter: f.AlterTable) -> Iterator[f.Constraint]:
    """The constraints the statement's `ADD [CONSTRAINT]` actions add."""
    for action in alter.actions:
        if isinstance(action, f.AddConstraint):
            yield action.constraint


def added_columns(alter: f.AlterTable) -> Iterator[f.Column]:
    """The columns the statement's `ADD [COLUMN]` actions add."""
    for action in alter.actions:
        if isinstance(action, f.AddColumn):
            yield action.column


def constraint_name(c: f.Constraint) -> str:
    """The name after `ADD CONSTRAINT` as the user wrote it, or '' when the constraint is unnamed."""
    return c.name.shown if c.name is not None else ""


@rule(
    id="require-not-valid-constraint",
    severity=Severity.ERROR,
    family="constraints",
    summary="A foreign key or check constraint added to an existing table without `NOT VALID`.",
    why="""
        Adding a FOREIGN KEY checks every existing row while holding SHARE ROW EXCLUSIVE on both
        tables (writes blocked); adding a CHECK scans the table under ACCESS EXCLUSIVE (reads and
        writes blocked). `ADD ... NOT VALID` takes the lock only for a moment, and a later
        `VALIDATE CONSTRAINT` scans under SHARE UPDATE EXCLUSIVE, which lets reads and writes run.
        `ADD COLUMN ... REFERENCES` cannot be `NOT VALID` at all.
    """,
    fix="""
        Add the constraint `NOT VALID`, then validate it in a separate migration (a separate
        transaction). For `ADD COLUMN ... REFERENCES`, add the column first, then the constraint.
    """,
    bad="ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
    good="ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
    facts=(f.AlterTable,),
    lock=describe(SHARE_ROW_EXCLUSIVE) + " for a foreign key; " + describe(ACCESS_EXCLUSIVE) + " for a check",
)
def require_not_valid_constraint(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx)
    if alter is None:
        return
    t, key = alter.table.shown, alter.table.key
    for col in added_columns(alter):
        if col.references is None:
            continue
        fkey = sql.ident(f"{key}_{col.name.key}_fkey")
        references = f"FOREIGN KEY ({col.name.shown}) REFERENCES {col.references.shown}"
        fix = "\n".join(
            (
                sql.add_column(t, col.name.shown, col.type_sql, parse=False),
                sql.add_constraint(t, fkey, references, not_valid=True, parse=False),
                "-- then, in a separate migration:",
                sql.validate_constraint(t, fkey, parse=False),
            )
        )
        yield Hit(
            f"ADD COLUMN {col.name.shown} ... REFERENCES {col.references.shown} validates the new foreign key "
            f"while holding {describe(ACCESS_EXCLUSIVE)} on {t}",
            fix,
            lock=ACCESS_EXCLUSIVE,
        )
    for c in added_constraints(alter):
        if not c.valid or c.kind not in (f.FOREIGN_KEY, f.CHECK):
            continue
        suffix = "fkey" if c.kind == f.FOREIGN_KEY else "check"
        name = constraint_name(c) or sql.ident("_".join((key, *c.columns, suffix)))
        if c.kind == f.FOREIGN_KEY:
            ref = c.references.shown if c.references is not None else "?"
            msg = (
                f"adding foreign key {name} on {t} checks every row while holding "
                f"{describe(SHARE_ROW_EXCLUSIVE)} on {t}" + ("" if ref == t else f" and {ref}")
            )
            lock = SHARE_ROW_EXCLUSIVE
        else:
            msg = f"adding check constraint {name} scans {t} while holding {describe(ACCESS_EXCLUSIVE)}"
            lock = ACCESS_EXCLUSIVE
        fix = (
            sql.add_constraint(t, name, c.body_sql, not_valid=True, parse=False)
            + f"\n-- then, in a separate migration:\n{sql.validate_constraint(t, name, parse=False)}"
        )
        yield Hit(
            msg,
            fix,
            lock=lock,
        )


@rule(
    id="validate-constraint-separately",
    severity=Severity.ERROR,
    family="constraints",
    summary="`VALIDATE CONSTRAINT` in the same transaction as the `ADD ... NOT VALID` it validates.",
    why="""
        `NOT VALID` only helps when the validation runs in a later transaction: in the same one,
        the lock taken by the ADD (ACCESS EXCLUSIVE for a check, SHARE ROW EXCLUSIVE for a foreign
        key) is still held while VALIDATE scans the whole table.
    """,
    fix="Move the `VALIDATE CONSTRAINT` into the next migration.",
    bad=(
        "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;"
    ),
    good="ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;",
    facts=(f.AlterTable,),
    lock=describe(ACCESS_EXCLUSIVE) + ", still held from the ADD",
)
def validate_constraint_separately(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx)
    if alter is None or not ctx.in_transaction:
        return
    t = alter.table.shown
    for action in alter.actions:
        if not isinstance(action, f.ValidateConstraint):
            continue
        if ctx.not_valid_constraints.get(action.name.key) != alter.table.key:
            continue
        yield Hit(
            f"VALIDATE CONSTRAINT {action.name.shown} runs in the same transaction as its "
            f"ADD ... NOT VALID, so the ADD's lock on {t} is held for the whole scan",
            f"move `ALTER TABLE {t} VALIDATE CONSTRAINT {action.name.shown};` into the next migration",
            lock=ACCESS_EXCLUSIVE,
        )


@rule(
    id="require-unique-index-first",
    severity=Severity.ERROR,
    family="constraints",
    summary="A UNIQUE or PRIMARY KEY constraint added to an existing table without `USING INDEX`.",
    why="""
        `ADD UNIQUE` / `ADD PRIMARY KEY` (and `ADD COLUMN ... UNIQUE`) build the index while holding
        ACCESS EXCLUSIVE on the table, blocking reads and writes for the whole build. Building the
        index first with `CREATE UNIQUE INDEX CONCURRENTLY` and attaching it with `USING INDEX`
        takes the lock only for a moment.
    """,
    fix="""
        `CREATE UNIQUE INDEX CONCURRENTLY <name> ON <table> (<cols>);` in a no-transaction
        migration, then `ALTER TABLE <table> ADD CONSTRAINT <name> UNIQUE USING INDEX <name>;`
        (or `PRIMARY KEY USING INDEX`; its columns must already be NOT NULL).
    """,
    bad="ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
    good="ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
    facts=(f.AlterTable,),
    lock=describe(ACCESS_EXCLUSIVE),
)
def require_unique_index_first(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx)
    if alter is None:
        return
    t, key = alter.table.shown, alter.table.key
    for col in added_columns(alter):
        if not (col.unique or col.primary_key):
            continue
        kind = "PRIMARY KEY" if col.primary_key else "UNIQUE"
        idx = sql.ident(f"{key}_{col.name.key}_{'pkey' if col.primary_key else 'key'}")
        fix = "\n".join(
            (
                sql.add_column(t, col.name.shown, col.type_sql, parse=False),
                "-- in a no-transaction migration:",
                sql.create_index(t, col.name.shown, index=idx, unique=True, parse=False),
                sql.add_constraint_using_index(t, idx, idx, primary=col.primary_key, parse=False),
            )
        )
        yield Hit(
            f"ADD COLUMN {col.name.shown} ... {kind} builds a unique index while holding "
            f"{describe(ACCESS_EXCLUSIVE)} on {t}",
            fix,
            lock=ACCESS_EXCLUSIVE,
        )
    for c in added_constraints(alter):
        if c.kind not in (f.PRIMARY_KEY, f.UNIQUE) or c.using_index is not None:
            continue
        kind = "PRIMARY KEY" if c.kind == f.PRIMARY_KEY else "UNIQUE"
        name = constraint_name(c) or sql.ident(f"{key}_{'pkey' if c.kind == f.PRIMARY_KEY else 'key'}")
        cols = ", ".join(sql.ident(col) for col in c.columns)
        fix = (
            "-- in a no-transaction migration:\n"
            + sql.create_index(t, cols, index=name, unique=True, parse=False)
            + "\n-- then:\n"
            + sql.add_constraint_using_index(t, name, name, primary=c.kind == f.PRIMARY_KEY, parse=False)
        )
        yield Hit(
            f"adding {kind} {name} builds its index while holding {describe(ACCESS_EXCLUSIVE)} on {t}",
            fix,
            lock=ACCESS_EXCLUSIVE,
        )


@rule(
    id="avoid-exclusion-constraint",
    severity=Severity.ERROR,
    family="constraints",
    summary="An exclusion constraint added to an existing table.",
    why="""
        `ADD ... EXCLUDE` builds its index and checks every row while holding ACCESS EXCLUSIVE on the
        table, blocking reads and writes. Unlike UNIQUE, an exclusion constraint cannot be attached
        from an index built concurrently, and it cannot be added NOT VALID.
    """,
    fix="""
        Add exclusion constraints only when creating a table, or enforce the rule another way
        (a unique index on a derived column, or a trigger). If it must be added, do it in a quiet
        window with a short `lock_timeout`.
    """,
    bad="ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);",
    good=(
        "CREATE TABLE bookings (room int, during tstzrange);\n"
        "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);"
    ),
    facts=(f.AlterTable,),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_exclusion_constraint(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx)
    if alter is None:
        return
    for c in added_constraints(alter):
        if c.kind == f.EXCLUDE:
            yield Hit(
                f"adding exclusion constraint {constraint_name(c) or '(unnamed)'} builds an index and "
                f"checks every row of {alter.table.shown} while holding {describe(ACCESS_EXCLUSIVE)}",
                "create the constraint with the table, or run this in a quiet window after "
                "`SET lock_timeout = '2s';`",
                lock=ACCESS_EXCLUSIVE,
            )


@rule(
    id="require-not-valid-domain-constraint",
    severity=Severity.ERROR,
    family="constraints",
    summary="`ALTER DOMAIN ... ADD CONSTRAINT` without `NOT VALID`, or `ALTER DOMAIN ... SET NOT NULL`.",
    why="""
        A constraint added to a domain is checked against every existing value of every column
        declared with that domain: Postgres scans each of those tables while holding a SHARE lock
        on it, so writes to all of them wait for the scans. `ADD CONSTRAINT ... CHECK (...) NOT
        VALID` skips the scan (new values are still checked) and leaves it to a `VALIDATE
        CONSTRAINT` in a later migration. `SET NOT NULL` on a domain always scans.
    """,
    fix="""
        Add the check `NOT VALID` and validate it in a separate migration. Instead of `SET NOT
        NULL`, add `CHECK (VALUE IS NOT NULL) NOT VALID` and validate that later.
    """,
    bad="ALTER DOMAIN positive_amount ADD CONSTRAINT positive_amount_check CHECK (VALUE > 0);",
    good="ALTER DOMAIN positive_amount ADD CONSTRAINT positive_amount_check CHECK (VALUE > 0) NOT VALID;",
    facts=(f.AlterOther,),
    lock=describe(SHARE) + " on every table with a column of the domain",
)
def require_not_valid_domain_constraint(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = stmt.fact
    assert isinstance(alter, f.AlterOther)
    if alter.object_kind != "domain" or ctx.is_new("domain", alter.name.key):
        return  # a domain created in this migration is used by no column yet
    d, w = alter.name.shown, alter.words
    if w[:3] == ("SET", "NOT", "NULL"):
        check = sql.ident(f"{alter.name.key}_not_null")
        fix = (
            sql.add_domain_constraint(d, check, "CHECK (VALUE IS NOT NULL)", not_valid=True, parse=False)
            + f"\n-- then, in a separate migration:\n{sql.validate_domain_constraint(d, check, parse=False)}"
        )
        yield Hit(
            f"ALTER DOMAIN {d} SET NOT NULL scans every column of type {d} while holding "
            f"{describe(SHARE)} on each table",
            fix,
            lock=SHARE,
        )
        return
    if w[:1] != ("ADD",):
        return
    c = alter.constraint
    if c is None:
        if "VALID" in w:
            return  # a shape the reader does not know, spelling NOT VALID somewhere
        name = ""
    elif not c.valid:
        return
    else:
        name = constraint_name(c)
    shown = name or sql.ident(f"{alter.name.key}_check")
    fix = (
        sql.add_domain_constraint(d, shown, c.body_sql, not_valid=True, parse=False)
        + f"\n-- then, in a separate migration:\n{sql.validate_domain_constraint(d, shown, parse=False)}"
        if c is not None
        else "add the constraint NOT VALID, then VALIDATE it in a later migration"
    )
    yield Hit(
        f"ALTER DOMAIN {d} ADD {'CONSTRAINT ' + name if name else 'a constraint'} checks every column of "
        f"type {d} while holding {describe(SHARE)} on each table",
        fix,
        lock=SHARE,
    )
