"""Writers of the safe statements: names, types and expressions in, Postgres SQL text out.

Pure functions with no knowledge of findings or files; `migration-guard fix` and the
linter's suggested fixes share them. Names arrive as SQL spellings (`users`,
`public.users`, `"Users"`; `ident` turns a bare key into one), expressions and types as
SQL text. Two modes:

- checked (the default, for `migration-guard fix`, which writes files): every statement is
  checked with sqlglot's Postgres parser, the statements sqlglot structures are written out
  by its generator, and a piece that does not parse raises `ValueError`;
- `parse=False` (the linter's suggested fixes): plain string building, the pieces used as
  given (the statement model's spellings of what the user wrote), no sqlglot, and the
  statement ends with `;`. sqlglot is imported only by the checked mode, so a lint run
  that needs no syntax tree never loads it.
"""

from __future__ import annotations

import re

from guard.sql.keywords import RESERVED

#: Postgres truncates identifiers longer than this (NAMEDATALEN - 1 bytes).
MAX_IDENTIFIER = 63

#: Rows a batched backfill updates per transaction.
BATCH_ROWS = 10_000

_BARE = re.compile(r"[a-z_][a-z0-9_]*")


def checked(sql: str) -> str:
    """`sql` as sqlglot's generator writes it, or unchanged when sqlglot keeps it as a raw
    command; `ValueError` when it does not parse as exactly one statement."""
    import sqlglot
    from sqlglot import exp

    try:
        trees = [t for t in sqlglot.parse(sql, read="postgres") if t is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        raise ValueError(f"does not parse: {sql!r}: {exc}") from None
    if len(trees) != 1:
        raise ValueError(f"not one statement: {sql!r}")
    tree = trees[0]
    if isinstance(tree, exp.Command):
        return " ".join(sql.split())
    return tree.sql(dialect="postgres")


def name(spelling: str) -> str:
    """A (possibly qualified) name as sqlglot writes it; `ValueError` when it is not a name."""
    import sqlglot
    from sqlglot import exp

    try:
        table = exp.to_table(spelling, dialect="postgres")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
        raise ValueError(f"not a name: {spelling!r}") from None
    return table.sql(dialect="postgres")


def ident(text: str) -> str:
    """One identifier (a key, as Postgres stores it) as SQL: bare when Postgres reads it back as
    the same name, else quoted (upper case, non-ASCII, punctuation, a reserved word)."""
    if _BARE.fullmatch(text) and text not in RESERVED:
        return text
    return '"' + text.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string literal: `'it''s'`."""
    return "'" + text.replace("'", "''") + "'"


def _n(spelling: str, parse: bool) -> str:
    return name(spelling) if parse else spelling


def _out(sql: str, parse: bool) -> str:
    return checked(sql) if parse else sql + ";"


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
    only: bool = False,
    parse: bool = True,
) -> str:
    """`CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON [ONLY] table [USING m] (keys) ...`."""
    head = "CREATE UNIQUE INDEX" if unique else "CREATE INDEX"
    parts = [head]
    if concurrently:
        parts.append("CONCURRENTLY")
    if if_not_exists:
        parts.append("IF NOT EXISTS")
    if index is not None:
        parts.append(_n(index, parse))
    parts.append(f"ON {'ONLY ' if only else ''}{_n(table, parse)}")
    if method:
        parts.append(f"USING {method}")
    parts.append(f"({keys})")
    if include:
        parts.append(f"INCLUDE ({include})")
    if where:
        parts.append(f"WHERE {where}")
    return _out(" ".join(parts), parse)


def drop_index(index: str, *, concurrently: bool = True, if_exists: bool = True, parse: bool = True) -> str:
    """`DROP INDEX [CONCURRENTLY] [IF EXISTS] name`."""
    words = ["DROP INDEX"] + (["CONCURRENTLY"] if concurrently else []) + (["IF EXISTS"] if if_exists else [])
    return _out(" ".join([*words, _n(index, parse)]), parse)


def reindex(kind: str, target: str, *, concurrently: bool = True, parse: bool = True) -> str:
    """`REINDEX {INDEX|TABLE|SCHEMA|DATABASE} [CONCURRENTLY] name` (Postgres 12+ for CONCURRENTLY)."""
    if kind.upper() not in ("INDEX", "TABLE", "SCHEMA", "DATABASE"):
        raise ValueError(f"cannot reindex a {kind}")
    return _out(f"REINDEX {kind.upper()} {'CONCURRENTLY ' if concurrently else ''}{_n(target, parse)}", parse)


# --- constraints -----------------------------------------------------------------------------------


def add_constraint(
    table: str, constraint: str, definition: str, *, not_valid: bool = False, parse: bool = True
) -> str:
    """`ALTER TABLE t ADD CONSTRAINT c <definition> [NOT VALID]` (definition: `CHECK (...)`, `FOREIGN KEY ...`)."""
    tail = " NOT VALID" if not_valid else ""
    return _out(
        f"ALTER TABLE {_n(table, parse)} ADD CONSTRAINT {_n(constraint, parse)} {definition}{tail}", parse
    )


def validate_constraint(table: str, constraint: str, *, parse: bool = True) -> str:
    """`ALTER TABLE t VALIDATE CONSTRAINT c`: checks existing rows under SHARE UPDATE EXCLUSIVE."""
    return _out(f"ALTER TABLE {_n(table, parse)} VALIDATE CONSTRAINT {_n(constraint, parse)}", parse)


def drop_constraint(table: str, constraint: str, *, if_exists: bool = False, parse: bool = True) -> str:
    """`ALTER TABLE t DROP CONSTRAINT [IF EXISTS] c`."""
    guard = "IF EXISTS " if if_exists else ""
    return _out(f"ALTER TABLE {_n(table, parse)} DROP CONSTRAINT {guard}{_n(constraint, parse)}", parse)


def add_constraint_using_index(
    table: str, constraint: str, index: str, *, primary: bool = False, parse: bool = True
) -> str:
    """`ALTER TABLE t ADD [CONSTRAINT c] {UNIQUE|PRIMARY KEY} USING INDEX i` (a brief ACCESS EXCLUSIVE);
    an empty `constraint` lets Postgres name it after the index."""
    kind = "PRIMARY KEY" if primary else "UNIQUE"
    named = f"CONSTRAINT {_n(constraint, parse)} " if constraint else ""
    return _out(f"ALTER TABLE {_n(table, parse)} ADD {named}{kind} USING INDEX {_n(index, parse)}", parse)


def add_domain_constraint(
    domain: str, constraint: str, check: str, *, not_valid: bool = False, parse: bool = True
) -> str:
    """`ALTER DOMAIN d ADD CONSTRAINT c CHECK (...) [NOT VALID]`."""
    tail = " NOT VALID" if not_valid else ""
    return _out(
        f"ALTER DOMAIN {_n(domain, parse)} ADD CONSTRAINT {_n(constraint, parse)} {check}{tail}", parse
    )


def validate_domain_constraint(domain: str, constraint: str, *, parse: bool = True) -> str:
    """`ALTER DOMAIN d VALIDATE CONSTRAINT c`: checks existing values under SHARE UPDATE EXCLUSIVE."""
    return _out(f"ALTER DOMAIN {_n(domain, parse)} VALIDATE CONSTRAINT {_n(constraint, parse)}", parse)


def drop_domain_constraint(domain: str, constraint: str) -> str:
    """`ALTER DOMAIN d DROP CONSTRAINT c`."""
    return checked(f"ALTER DOMAIN {name(domain)} DROP CONSTRAINT {name(constraint)}")


def not_null_check(column: str, *, parse: bool = True) -> str:
    """The `CHECK (col IS NOT NULL)` definition that lets `SET NOT NULL` skip its scan (Postgres 12+)."""
    return f"CHECK ({_n(column, parse)} IS NOT NULL)"


# --- columns ---------------------------------------------------------------------------------------


def add_column(table: str, column: str, type_sql: str, *, tail: str = "", parse: bool = True) -> str:
    """`ALTER TABLE t ADD COLUMN c type [tail]`: without a `tail` (`NOT NULL DEFAULT 0`) nullable and
    without a default, a catalog-only change."""
    more = f" {tail}" if tail else ""
    return _out(f"ALTER TABLE {_n(table, parse)} ADD COLUMN {_n(column, parse)} {type_sql}{more}", parse)


def drop_column(table: str, column: str, *, if_exists: bool = False, parse: bool = True) -> str:
    """`ALTER TABLE t DROP COLUMN [IF EXISTS] c`."""
    guard = "IF EXISTS " if if_exists else ""
    return _out(f"ALTER TABLE {_n(table, parse)} DROP COLUMN {guard}{_n(column, parse)}", parse)


def set_default(table: str, column: str, default: str, *, parse: bool = True) -> str:
    """`ALTER TABLE t ALTER COLUMN c SET DEFAULT expr`: applies to new rows only, no rewrite."""
    return _out(
        f"ALTER TABLE {_n(table, parse)} ALTER COLUMN {_n(column, parse)} SET DEFAULT {default}", parse
    )


def set_not_null(table: str, column: str, *, drop: bool = False, parse: bool = True) -> str:
    """`ALTER TABLE t ALTER COLUMN c {SET|DROP} NOT NULL`."""
    verb = "DROP" if drop else "SET"
    return _out(f"ALTER TABLE {_n(table, parse)} ALTER COLUMN {_n(column, parse)} {verb} NOT NULL", parse)


def detach_partition(table: str, partition: str, *, concurrently: bool = True, parse: bool = True) -> str:
    """`ALTER TABLE parent DETACH PARTITION child [CONCURRENTLY]` (Postgres 14+ for CONCURRENTLY)."""
    tail = " CONCURRENTLY" if concurrently else ""
    return _out(f"ALTER TABLE {_n(table, parse)} DETACH PARTITION {_n(partition, parse)}{tail}", parse)


def lock_table(table: str, mode: str, *, parse: bool = True) -> str:
    """`LOCK TABLE t IN <mode> MODE`."""
    return _out(f"LOCK TABLE {_n(table, parse)} IN {mode.upper()} MODE", parse)


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
    import sqlglot
    from sqlglot import exp

    try:
        return sqlglot.parse_one(text, read="postgres", into=exp.Condition).sql(dialect="postgres")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
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


def rename_table(table: str, new: str, *, parse: bool = True) -> str:
    """`ALTER TABLE t RENAME TO new` (`new` is a bare name: a rename never moves schemas)."""
    return _out(f"ALTER TABLE {_n(table, parse)} RENAME TO {_n(new, parse)}", parse)


def create_view(view: str, select_from: str, *, parse: bool = True) -> str:
    """`CREATE VIEW v AS SELECT * FROM t`: a simple view, so it stays updatable."""
    return _out(f"CREATE VIEW {_n(view, parse)} AS SELECT * FROM {_n(select_from, parse)}", parse)


def drop_view(view: str, *, parse: bool = True) -> str:
    """`DROP VIEW v`."""
    return _out(f"DROP VIEW {_n(view, parse)}", parse)


def no_dependents(table: str, column: str) -> str:
    """A precondition query: true when no constraint or index other than NOT NULL uses `table.column`
    (dropping the column would silently drop them)."""
    t = literal(name(table))
    c = literal(column.strip('"') if column.startswith('"') else column.lower())
    return checked(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_constraint AS k JOIN pg_attribute AS a"
        " ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)"
        f" WHERE k.conrelid = CAST({t} AS regclass) AND a.attname = {c} AND k.contype <> 'n')"
        " AND NOT EXISTS (SELECT 1 FROM pg_index AS i JOIN pg_attribute AS a"
        " ON a.attrelid = i.indrelid AND a.attnum = ANY (CAST(i.indkey AS SMALLINT[]))"
        f" WHERE i.indrelid = CAST({t} AS regclass) AND a.attname = {c})"
    )


def set_timeout(setting: str, value: str, *, parse: bool = True) -> str:
    """`SET lock_timeout = '5s'` (or `statement_timeout`)."""
    if setting not in ("lock_timeout", "statement_timeout"):
        raise ValueError(f"not a timeout setting: {setting}")
    return _out(f"SET {setting} = {literal(value)}", parse)
