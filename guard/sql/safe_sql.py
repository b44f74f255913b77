"""Writers of the safe statements: names, types and expressions in, Postgres SQL text out.

Pure functions with no knowledge of findings or files; `migration-guard fix` and the
linter's suggested fixes share them. Names arrive as SQL spellings (`users`,
`public.users`, `"Users"`), expressions and types as SQL text. Every statement is
checked with sqlglot's Postgres parser, and the statements sqlglot structures are written
out by its generator, so what a writer returns always parses; a piece that does not
raises `ValueError`.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

#: Postgres truncates identifiers longer than this (NAMEDATALEN - 1 bytes).
MAX_IDENTIFIER = 63

#: Rows a batched backfill updates per transaction.
BATCH_ROWS = 10_000


def checked(sql: str) -> str:
    """`sql` as sqlglot's generator writes it, or unchanged when sqlglot keeps it as a raw
    command; `ValueError` when it does not parse as exactly one statement."""
    try:
        trees = [t for t in sqlglot.parse(sql, read="postgres") if t is not None]
    except (ParseError, sqlglot.errors.TokenError) as exc:
        raise ValueError(f"does not parse: {sql!r}: {exc}") from None
    if len(trees) != 1:
        raise ValueError(f"not one statement: {sql!r}")
    tree = trees[0]
    if isinstance(tree, exp.Command):
        return " ".join(sql.split())
    return tree.sql(dialect="postgres")


def name(spelling: str) -> str:
    """A (possibly qualified) name as sqlglot writes it; `ValueError` when it is not a name."""
    try:
        table = exp.to_table(spelling, dialect="postgres")
    except (ParseError, sqlglot.errors.TokenError):
        raise ValueError(f"not a name: {spelling!r}") from None
    return table.sql(dialect="postgres")


def ident(text: str) -> str:
    """One identifier, quoted when Postgres would otherwise fold or misread it."""
    safe = text.isidentifier() and text == text.lower() and text.isascii()
    return exp.to_identifier(text, quoted=not safe).sql(dialect="postgres")


def derived_name(*parts: str, suffix: str) -> str:
    """A new object's name built from unquoted parts, cut to Postgres's 63-byte limit."""
    base = "_".join(p.strip('"').split(".")[-1] for p in parts)
    room = MAX_IDENTIFIER - len(suffix) - 1
    return ident(f"{base[:room]}_{suffix}")


def no_transaction_directive() -> str:
    """The comment that makes migration-guard's runner run a file outside a transaction."""
    return "-- guard: no-transaction"


# --- indexes ---------------------------------------------------------------------------------------


def create_index(
    table: str,
    keys: str,
    *,
    index: str | None = None,
    unique: bool = False,
    method: str | None = None,
    where: str | None = None,
    include: str | None = None,
    concurrently: bool = True,
    if_not_exists: bool = False,
) -> str:
    """`CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON table [USING m] (keys) ...`."""
    head = "CREATE UNIQUE INDEX" if unique else "CREATE INDEX"
    parts = [head]
    if concurrently:
        parts.append("CONCURRENTLY")
    if if_not_exists:
        parts.append("IF NOT EXISTS")
    if index is not None:
        parts.append(name(index))
    parts.append(f"ON {name(table)}")
    if method:
        parts.append(f"USING {method}")
    parts.append(f"({keys})")
    if include:
        parts.append(f"INCLUDE ({include})")
    if where:
        parts.append(f"WHERE {where}")
    return checked(" ".join(parts))


def drop_index(index: str, *, concurrently: bool = True, if_exists: bool = True) -> str:
    """`DROP INDEX [CONCURRENTLY] [IF EXISTS] name`."""
    words = ["DROP INDEX"] + (["CONCURRENTLY"] if concurrently else []) + (["IF EXISTS"] if if_exists else [])
    return checked(" ".join([*words, name(index)]))


def reindex(kind: str, target: str, *, concurrently: bool = True) -> str:
    """`REINDEX {INDEX|TABLE|SCHEMA|DATABASE} [CONCURRENTLY] name` (Postgres 12+ for CONCURRENTLY)."""
    if kind.upper() not in ("INDEX", "TABLE", "SCHEMA", "DATABASE"):
        raise ValueError(f"cannot reindex a {kind}")
    return checked(f"REINDEX {kind.upper()} {'CONCURRENTLY ' if concurrently else ''}{name(target)}")


# --- constraints -----------------------------------------------------------------------------------


def add_constraint(table: str, constraint: str, definition: str, *, not_valid: bool = False) -> str:
    """`ALTER TABLE t ADD CONSTRAINT c <definition> [NOT VALID]` (definition: `CHECK (...)`, `FOREIGN KEY ...`)."""
    tail = " NOT VALID" if not_valid else ""
    return checked(f"ALTER TABLE {name(table)} ADD CONSTRAINT {name(constraint)} {definition}{tail}")


def validate_constraint(table: str, constraint: str) -> str:
    """`ALTER TABLE t VALIDATE CONSTRAINT c`: checks existing rows under SHARE UPDATE EXCLUSIVE."""
    return checked(f"ALTER TABLE {name(table)} VALIDATE CONSTRAINT {name(constraint)}")


def drop_constraint(table: str, constraint: str, *, if_exists: bool = False) -> str:
    """`ALTER TABLE t DROP CONSTRAINT [IF EXISTS] c`."""
    guard = "IF EXISTS " if if_exists else ""
    return checked(f"ALTER TABLE {name(table)} DROP CONSTRAINT {guard}{name(constraint)}")


def add_constraint_using_index(table: str, constraint: str, index: str, *, primary: bool = False) -> str:
    """`ALTER TABLE t ADD CONSTRAINT c {UNIQUE|PRIMARY KEY} USING INDEX i` (a brief ACCESS EXCLUSIVE)."""
    kind = "PRIMARY KEY" if primary else "UNIQUE"
    return checked(
        f"ALTER TABLE {name(table)} ADD CONSTRAINT {name(constraint)} {kind} USING INDEX {name(index)}"
    )


def add_domain_constraint(domain: str, constraint: str, check: str, *, not_valid: bool = False) -> str:
    """`ALTER DOMAIN d ADD CONSTRAINT c CHECK (...) [NOT VALID]`."""
    return checked(
        f"ALTER DOMAIN {name(domain)} ADD CONSTRAINT {name(constraint)} {check}{' NOT VALID' if not_valid else ''}"
    )


def validate_domain_constraint(domain: str, constraint: str) -> str:
    """`ALTER DOMAIN d VALIDATE CONSTRAINT c`: checks existing values under SHARE UPDATE EXCLUSIVE."""
    return checked(f"ALTER DOMAIN {name(domain)} VALIDATE CONSTRAINT {name(constraint)}")


def drop_domain_constraint(domain: str, constraint: str) -> str:
    """`ALTER DOMAIN d DROP CONSTRAINT c`."""
    return checked(f"ALTER DOMAIN {name(domain)} DROP CONSTRAINT {name(constraint)}")


def not_null_check(column: str) -> str:
    """The `CHECK (col IS NOT NULL)` definition that lets `SET NOT NULL` skip its scan (Postgres 12+)."""
    return f"CHECK ({name(column)} IS NOT NULL)"


# --- columns ---------------------------------------------------------------------------------------


def add_column(table: str, column: str, type_sql: str) -> str:
    """`ALTER TABLE t ADD COLUMN c type`: nullable and without a default, a catalog-only change."""
    return checked(f"ALTER TABLE {name(table)} ADD COLUMN {name(column)} {type_sql}")


def drop_column(table: str, column: str, *, if_exists: bool = False) -> str:
    """`ALTER TABLE t DROP COLUMN [IF EXISTS] c`."""
    return checked(f"ALTER TABLE {name(table)} DROP COLUMN {'IF EXISTS ' if if_exists else ''}{name(column)}")


def set_default(table: str, column: str, default: str) -> str:
    """`ALTER TABLE t ALTER COLUMN c SET DEFAULT expr`: applies to new rows only, no rewrite."""
    return checked(f"ALTER TABLE {name(table)} ALTER COLUMN {name(column)} SET DEFAULT {default}")


def set_not_null(table: str, column: str, *, drop: bool = False) -> str:
    """`ALTER TABLE t ALTER COLUMN c {SET|DROP} NOT NULL`."""
    return checked(
        f"ALTER TABLE {name(table)} ALTER COLUMN {name(column)} {'DROP' if drop else 'SET'} NOT NULL"
    )


def copy_where_null(table: str, target: str, value: str, source: str) -> str:
    """`UPDATE t SET target = value WHERE target IS NULL AND source IS NOT NULL` (bounded by its WHERE)."""
    t, s = name(target), name(source)
    return checked(
        f"UPDATE {name(table)} SET {t} = {checked_expression(value)} WHERE {t} IS NULL AND {s} IS NOT NULL"
    )


def clear_column(table: str, column: str) -> str:
    """`UPDATE t SET c = NULL WHERE c IS NOT NULL`: undoes a backfill of a column that was new."""
    c = name(column)
    return checked(f"UPDATE {name(table)} SET {c} = NULL WHERE {c} IS NOT NULL")


def batched_backfill(
    table: str, column: str, value: str, *, source: str | None = None, batch: int = BATCH_ROWS
) -> str:
    """A `DO` block that sets `column = value` where it is NULL (and `source` is not), `batch` rows
    per transaction.

    Each batch commits, so it must run outside a transaction block (no-transaction migration);
    no lock is held longer than one batch.
    """
    t, c = name(table), name(column)
    # Rows whose source is NULL stay NULL: without this they would match again forever.
    todo = f"{c} IS NULL" + (f" AND {name(source)} IS NOT NULL" if source else "")
    sql = (
        "DO $$\n"
        "DECLARE\n"
        "    updated bigint;\n"
        "BEGIN\n"
        "    LOOP\n"
        f"        UPDATE {t} SET {c} = {checked_expression(value)}\n"
        f"        WHERE ctid IN (SELECT ctid FROM {t} WHERE {todo} LIMIT {int(batch)});\n"
        "        GET DIAGNOSTICS updated = ROW_COUNT;\n"
        "        EXIT WHEN updated = 0;\n"
        "        COMMIT;\n"
        "    END LOOP;\n"
        "END\n"
        "$$"
    )
    checked(sql)
    return sql


def checked_expression(text: str) -> str:
    """An expression as sqlglot writes it; `ValueError` when it does not parse."""
    try:
        return sqlglot.parse_one(text, read="postgres", into=exp.Condition).sql(dialect="postgres")
    except (ParseError, sqlglot.errors.TokenError):
        raise ValueError(f"not an expression: {text!r}") from None


# --- renames: a sync trigger while both names are in use ---------------------------------------------


def sync_function(function: str, old: str, new: str, *, new_type: str = "", old_type: str = "") -> str:
    """A trigger function that copies whichever of `old`/`new` a writer left NULL from the other
    (cast to the other's type when the two types differ)."""
    o, n = name(old), name(new)
    differ = bool(new_type) and new_type != old_type
    to_new = f"CAST(NEW.{o} AS {new_type})" if differ else f"NEW.{o}"
    to_old = f"CAST(NEW.{n} AS {old_type})" if differ else f"NEW.{n}"
    sql = (
        f"CREATE FUNCTION {name(function)}() RETURNS trigger\n"
        "LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"    IF NEW.{n} IS NULL THEN\n"
        f"        NEW.{n} := {to_new};\n"
        "    END IF;\n"
        f"    IF NEW.{o} IS NULL THEN\n"
        f"        NEW.{o} := {to_old};\n"
        "    END IF;\n"
        "    RETURN NEW;\n"
        "END;\n"
        "$$"
    )
    checked(sql)
    return sql


def no_unsynced_rows(table: str, old: str, new: str) -> str:
    """A precondition query: true when no row has `old` set but `new` not yet backfilled."""
    n, o = name(new), name(old)
    return checked(f"SELECT NOT EXISTS (SELECT 1 FROM {name(table)} WHERE {n} IS NULL AND {o} IS NOT NULL)")


def sync_trigger(trigger: str, table: str, function: str) -> str:
    """`CREATE TRIGGER ... BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()`."""
    # Checked, but kept as written: sqlglot's generator upper-cases the function's name.
    text = (
        f"CREATE TRIGGER {name(trigger)} BEFORE INSERT OR UPDATE ON {name(table)} "
        f"FOR EACH ROW EXECUTE FUNCTION {name(function)}()"
    )
    checked(text)
    return text


def set_trigger_enabled(table: str, trigger: str, *, enabled: bool) -> str:
    """`ALTER TABLE t {ENABLE|DISABLE} TRIGGER trigger`."""
    return checked(f"ALTER TABLE {name(table)} {'ENABLE' if enabled else 'DISABLE'} TRIGGER {name(trigger)}")


def drop_trigger(trigger: str, table: str) -> str:
    """`DROP TRIGGER trigger ON table`."""
    return checked(f"DROP TRIGGER {name(trigger)} ON {name(table)}")


def drop_function(function: str) -> str:
    """`DROP FUNCTION f()` of a function without arguments (written by hand: sqlglot drops the `()`)."""
    text = f"DROP FUNCTION {name(function)}()"
    checked(text)
    return text


def rename_table(table: str, new: str) -> str:
    """`ALTER TABLE t RENAME TO new` (`new` is a bare name: a rename never moves schemas)."""
    return checked(f"ALTER TABLE {name(table)} RENAME TO {name(new)}")


def create_view(view: str, select_from: str) -> str:
    """`CREATE VIEW v AS SELECT * FROM t`: a simple view, so it stays updatable."""
    return checked(f"CREATE VIEW {name(view)} AS SELECT * FROM {name(select_from)}")


def drop_view(view: str) -> str:
    """`DROP VIEW v`."""
    return checked(f"DROP VIEW {name(view)}")


def no_dependents(table: str, column: str) -> str:
    """A precondition query: true when no constraint or index other than NOT NULL uses `table.column`
    (dropping the column would silently drop them)."""
    t = exp.Literal.string(name(table)).sql(dialect="postgres")
    c = exp.Literal.string(column.strip('"') if column.startswith('"') else column.lower()).sql(
        dialect="postgres"
    )
    return checked(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_constraint AS k JOIN pg_attribute AS a"
        " ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)"
        f" WHERE k.conrelid = CAST({t} AS regclass) AND a.attname = {c} AND k.contype <> 'n')"
        " AND NOT EXISTS (SELECT 1 FROM pg_index AS i JOIN pg_attribute AS a"
        " ON a.attrelid = i.indrelid AND a.attnum = ANY (CAST(i.indkey AS SMALLINT[]))"
        f" WHERE i.indrelid = CAST({t} AS regclass) AND a.attname = {c})"
    )


def set_timeout(setting: str, value: str) -> str:
    """`SET lock_timeout = '5s'` (or `statement_timeout`)."""
    if setting not in ("lock_timeout", "statement_timeout"):
        raise ValueError(f"not a timeout setting: {setting}")
    literal = exp.Literal.string(value).sql(dialect="postgres")
    return checked(f"SET {setting} = {literal}")
