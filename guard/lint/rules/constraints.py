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
from guard.lint.ddl import Action, AlterTable, add_column_def, read_alter_table, sql_of
from guard.lint.locks import ACCESS_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, describe
from guard.lint.registry import rule
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.tokens import PUNCT, read_qualified_name, show_name


def existing_alter(stmt: Statement, ctx: FileContext, *needles: str) -> AlterTable | None:
    """The ALTER TABLE of `stmt` when it mentions one of `needles` and targets an existing table."""
    words = stmt.words
    if words[1:2] != ("TABLE",):
        return None
    for needle in needles:  # no sets per call: 17,000 calls on the corpus
        if needle in words:
            break
    else:
        if needles:
            return None
    alter = read_alter_table(stmt)
    if alter is None or ctx.is_new_table(alter.key):
        return None
    return alter


def constraint_name(action: Action) -> str:
    """The name after `ADD CONSTRAINT`, or '' when the constraint is unnamed."""
    if action.starts("ADD", "CONSTRAINT") and len(action.tokens) > 2 and action.tokens[2].is_name():
        return action.tokens[2].shown()
    return ""


def paren_after(action: Action, word: str) -> str:
    """The parenthesised list right after keyword `word` in the action, as SQL (`(a, b)`)."""
    toks = action.tokens
    for i, t in enumerate(toks):
        if t.upper == word and i + 1 < len(toks) and toks[i + 1].kind == PUNCT and toks[i + 1].text == "(":
            depth = 0
            for j in range(i + 1, len(toks)):
                if toks[j].kind == PUNCT and toks[j].text == "(":
                    depth += 1
                elif toks[j].kind == PUNCT and toks[j].text == ")":
                    depth -= 1
                    if depth == 0:
                        return sql_of(toks[i + 1 : j + 1])
    return "(...)"


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
    heads=("ALTER",),
    lock=describe(SHARE_ROW_EXCLUSIVE) + " for a foreign key; " + describe(ACCESS_EXCLUSIVE) + " for a check",
)
def require_not_valid_constraint(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx, "FOREIGN", "CHECK", "REFERENCES")
    if alter is None:
        return
    t = alter.shown
    for action in alter.actions:
        col = add_column_def(action)
        if col is not None:
            if col.references:
                fkey = f"{alter.key}_{col.name}_fkey"
                yield Hit(
                    f"ADD COLUMN {col.shown} ... REFERENCES {col.references} validates the new foreign key "
                    f"while holding {describe(ACCESS_EXCLUSIVE)} on {t}",
                    f"ALTER TABLE {t} ADD COLUMN {col.shown} {col.type_text};\n"
                    f"ALTER TABLE {t} ADD CONSTRAINT {fkey} FOREIGN KEY ({col.shown}) "
                    f"REFERENCES {col.references} NOT VALID;\n"
                    f"-- then, in a separate migration:\nALTER TABLE {t} VALIDATE CONSTRAINT {fkey};",
                    lock=ACCESS_EXCLUSIVE,
                )
            continue
        if action.words[:1] != ("ADD",) or "VALID" in action.words:
            continue
        name = constraint_name(action) or "<constraint_name>"
        body = sql_of(action.tokens[1:])
        if "FOREIGN" in action.words:
            ref_parts, _ = read_qualified_name(
                action.tokens, action.words.index("REFERENCES") + 1 if "REFERENCES" in action.words else 0
            )
            ref = show_name(ref_parts)
            msg = (
                f"adding foreign key {name} on {t} checks every row while holding "
                f"{describe(SHARE_ROW_EXCLUSIVE)} on {t}" + ("" if ref == t else f" and {ref}")
            )
            lock = SHARE_ROW_EXCLUSIVE
        elif "CHECK" in action.words:
            msg = f"adding check constraint {name} scans {t} while holding {describe(ACCESS_EXCLUSIVE)}"
            lock = ACCESS_EXCLUSIVE
        else:
            continue
        if not constraint_name(action):
            body = f"CONSTRAINT {name} {body}"
        yield Hit(
            msg,
            f"ALTER TABLE {t} ADD {body} NOT VALID;\n"
            f"-- then, in a separate migration:\nALTER TABLE {t} VALIDATE CONSTRAINT {name};",
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
    heads=("ALTER",),
    lock=describe(ACCESS_EXCLUSIVE) + ", still held from the ADD",
)
def validate_constraint_separately(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx, "VALIDATE")
    if alter is None or not ctx.in_transaction:
        return
    for action in alter.actions:
        if not action.starts("VALIDATE", "CONSTRAINT") or len(action.tokens) < 3:
            continue
        name = action.tokens[2].name
        if ctx.not_valid_constraints.get(name) != alter.key:
            continue
        yield Hit(
            f"VALIDATE CONSTRAINT {action.tokens[2].shown()} runs in the same transaction as its "
            f"ADD ... NOT VALID, so the ADD's lock on {alter.shown} is held for the whole scan",
            f"move `ALTER TABLE {alter.shown} VALIDATE CONSTRAINT {action.tokens[2].shown()};` "
            "into the next migration",
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
    heads=("ALTER",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def require_unique_index_first(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx, "UNIQUE", "PRIMARY")
    if alter is None:
        return
    t = alter.shown
    for action in alter.actions:
        col = add_column_def(action)
        if col is not None:
            if col.unique or col.primary_key:
                kind = "PRIMARY KEY" if col.primary_key else "UNIQUE"
                idx = f"{alter.key}_{col.name}_{'pkey' if col.primary_key else 'key'}"
                yield Hit(
                    f"ADD COLUMN {col.shown} ... {kind} builds a unique index while holding "
                    f"{describe(ACCESS_EXCLUSIVE)} on {t}",
                    f"ALTER TABLE {t} ADD COLUMN {col.shown} {col.type_text};\n"
                    f"-- in a no-transaction migration:\nCREATE UNIQUE INDEX CONCURRENTLY {idx} ON {t} ({col.shown});\n"
                    f"ALTER TABLE {t} ADD CONSTRAINT {idx} {kind} USING INDEX {idx};",
                    lock=ACCESS_EXCLUSIVE,
                )
            continue
        w = action.words
        if w[:1] != ("ADD",) or ("USING" in w and "INDEX" in w):
            continue
        if "PRIMARY" in w[:4]:
            kind, cols = "PRIMARY KEY", paren_after(action, "KEY")
        elif "UNIQUE" in w[:4]:
            kind, cols = "UNIQUE", paren_after(action, "UNIQUE")
        else:
            continue
        name = constraint_name(action) or f"{alter.key}_{'pkey' if kind == 'PRIMARY KEY' else 'key'}"
        yield Hit(
            f"adding {kind} {name} builds its index while holding {describe(ACCESS_EXCLUSIVE)} on {t}",
            f"-- in a no-transaction migration:\nCREATE UNIQUE INDEX CONCURRENTLY {name} ON {t} {cols};\n"
            f"-- then:\nALTER TABLE {t} ADD CONSTRAINT {name} {kind} USING INDEX {name};",
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
    good="CREATE TABLE bookings (room int, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));",
    heads=("ALTER",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_exclusion_constraint(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = existing_alter(stmt, ctx, "EXCLUDE")
    if alter is None:
        return
    for action in alter.actions:
        if action.words[:1] == ("ADD",) and "EXCLUDE" in action.words[:4]:
            yield Hit(
                f"adding exclusion constraint {constraint_name(action) or '(unnamed)'} builds an index and "
                f"checks every row of {alter.shown} while holding {describe(ACCESS_EXCLUSIVE)}",
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
    heads=("ALTER",),
    lock=describe(SHARE) + " on every table with a column of the domain",
)
def require_not_valid_domain_constraint(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    w = stmt.words
    if w[1:2] != ("DOMAIN",):
        return
    parts, i = read_qualified_name(stmt.tokens, 2)
    if not parts or ctx.is_new("domain", parts[-1].name):
        return  # a domain created in this migration is used by no column yet
    d = show_name(parts)
    rest = tuple(t.upper for t in stmt.tokens[i:])
    if rest[:3] == ("SET", "NOT", "NULL"):
        yield Hit(
            f"ALTER DOMAIN {d} SET NOT NULL scans every column of type {d} while holding "
            f"{describe(SHARE)} on each table",
            f"ALTER DOMAIN {d} ADD CONSTRAINT {parts[-1].name}_not_null CHECK (VALUE IS NOT NULL) NOT VALID;\n"
            f"-- then, in a separate migration:\nALTER DOMAIN {d} VALIDATE CONSTRAINT {parts[-1].name}_not_null;",
            lock=SHARE,
        )
    elif rest[:1] == ("ADD",) and "VALID" not in rest:
        name = stmt.tokens[i + 2].shown() if rest[1:2] == ("CONSTRAINT",) and len(rest) > 2 else ""
        body = sql_of(stmt.tokens[i + 1 :]).rstrip(";").strip()
        yield Hit(
            f"ALTER DOMAIN {d} ADD {'CONSTRAINT ' + name if name else 'a constraint'} checks every column of "
            f"type {d} while holding {describe(SHARE)} on each table",
            f"ALTER DOMAIN {d} ADD {body} NOT VALID;\n"
            f"-- then, in a separate migration:\nALTER DOMAIN {d} VALIDATE CONSTRAINT {name or '<constraint_name>'};",
            lock=SHARE,
        )
