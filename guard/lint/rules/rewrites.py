"""Rewrite rules: statements that copy the whole table (or index) while holding ACCESS
EXCLUSIVE: volatile column defaults, type changes that are not binary compatible,
`VACUUM FULL`, `CLUSTER`, `SET TABLESPACE` and `SET LOGGED/UNLOGGED`.

Version facts: from Postgres 11 a non-volatile `ADD COLUMN ... DEFAULT` is stored in the
catalog (no rewrite); before 11 every non-null default rewrites the table.
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext
from guard.lint.ddl import ColumnDef, add_column_def, alter_column_name, read_alter_table, sql_of
from guard.lint.locks import ACCESS_EXCLUSIVE, describe
from guard.lint.registry import rule
from guard.lint.rules._types import (
    TypeSpec,
    current_column_type,
    is_binary_compatible,
    parse_type,
    type_tokens,
)
from guard.model import Hit, Severity
from guard.parsing import Statement, split_statements
from guard.tokens import PUNCT, WORD, Token, read_qualified_name, show_name

#: Functions Postgres marks VOLATILE that show up as column defaults.
VOLATILE_FUNCTIONS = frozenset(
    {
        "random",
        "random_normal",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "uuid_generate_v7",
        "uuidv4",
        "uuidv7",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "setval",
        "txid_current",
        "pg_current_xact_id",
        "gen_random_bytes",
    }
)

#: STABLE or IMMUTABLE functions (and function-like keywords) that are safe fast defaults on 11+.
NON_VOLATILE_FUNCTIONS = frozenset(
    {
        "now",
        "current_timestamp",
        "current_date",
        "current_time",
        "localtime",
        "localtimestamp",
        "transaction_timestamp",
        "statement_timestamp",
        "cast",
        "coalesce",
        "nullif",
        "greatest",
        "least",
        "lower",
        "upper",
        "array",
        "row",
        "jsonb_build_object",
        "json_build_object",
        "jsonb_build_array",
        "json_build_array",
        "to_jsonb",
        "to_json",
        "timezone",
        "date_trunc",
        "make_interval",
        "make_date",
        "current_setting",
        "current_user",
        "current_schema",
        "session_user",
        "concat",
        "array_fill",
        "interval",
        "uuid_nil",
        "trim",
        "replace",
        "length",
        "abs",
    }
)

_SERIALS = frozenset({"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"})


def default_volatility(tokens: tuple[Token, ...]) -> tuple[str, str] | None:
    """('volatile'|'unknown', function) for the first function call in a default that may be volatile."""
    unknown: tuple[str, str] | None = None
    for i, t in enumerate(tokens[:-1]):
        nxt = tokens[i + 1]
        if t.kind != WORD or nxt.kind != PUNCT or nxt.text != "(":
            continue
        if i > 0 and tokens[i - 1].kind == PUNCT and tokens[i - 1].text == "::":
            continue  # a cast to a type with modifiers: `::numeric(10,2)`
        name = t.text.lower()
        if name in VOLATILE_FUNCTIONS:
            return "volatile", name
        if name not in NON_VOLATILE_FUNCTIONS and unknown is None:
            unknown = ("unknown", name)
    return unknown


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
    spec = ctx.schema.column_type_before(ctx.migration, table, column)
    before = ";\n".join(s.text for s in split_statements(ctx.migration.up_sql)[0] if s.index < stmt.index)
    return current_column_type([before], table, column, spec)


def _table_after(stmt: Statement, skip: tuple[str, ...]) -> tuple[str, str] | None:
    """(key, shown) of the first qualified name after the leading `skip` words."""
    toks = stmt.tokens
    i = 1
    while i < len(toks) and (toks[i].upper in skip or (toks[i].kind == PUNCT and toks[i].text == "(")):
        if toks[i].kind == PUNCT:  # skip a parenthesised option list: VACUUM (FULL, ANALYZE) t
            depth = 0
            while i < len(toks):
                depth += toks[i].text == "(" and toks[i].kind == PUNCT
                depth -= toks[i].text == ")" and toks[i].kind == PUNCT
                i += 1
                if depth == 0:
                    break
            continue
        i += 1
    parts, _ = read_qualified_name(toks, i)
    return (parts[-1].name, show_name(parts)) if parts else None


@rule(
    id="avoid-vacuum-full",
    severity=Severity.ERROR,
    family="rewrites",
    summary="`VACUUM FULL` in a migration.",
    why="""
        `VACUUM FULL` rewrites the table (and rebuilds its indexes) while holding ACCESS EXCLUSIVE,
        blocking reads and writes for as long as the copy takes. Without a table name it does that
        to every table in the database.
    """,
    fix="""
        Leave space reclamation to autovacuum, or use an online tool such as `pg_repack` /
        `pg_squeeze` outside the migration.
    """,
    bad="VACUUM FULL events;",
    good="VACUUM (ANALYZE) events;",
    heads=("VACUUM",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_vacuum_full(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    if "FULL" not in stmt.words[:6]:
        return
    target = _table_after(stmt, ("FULL", "FREEZE", "VERBOSE", "ANALYZE", "ANALYSE"))
    if target is not None and ctx.is_new_table(target[0]):
        return
    what = target[1] if target else "every table in the database"
    yield Hit(
        f"VACUUM FULL rewrites {what} while holding {describe(ACCESS_EXCLUSIVE)}",
        f"drop it from the migration; reclaim space online with pg_repack (`pg_repack --table {what}`)"
        if target
        else "drop it from the migration; reclaim space online with pg_repack",
        lock=ACCESS_EXCLUSIVE,
    )


@rule(
    id="avoid-cluster",
    severity=Severity.ERROR,
    family="rewrites",
    summary="`CLUSTER` in a migration.",
    why="""
        `CLUSTER` rewrites the table in index order while holding ACCESS EXCLUSIVE, blocking reads
        and writes for the whole copy. Without a table name it re-clusters every clustered table.
    """,
    fix="Use `pg_repack --order-by` (online) outside the migration, or drop the statement.",
    bad="CLUSTER events USING events_created_at_idx;",
    good="ALTER TABLE events CLUSTER ON events_created_at_idx;",
    heads=("CLUSTER",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_cluster(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    target = _table_after(stmt, ("VERBOSE",))
    if target is not None and ctx.is_new_table(target[0]):
        return
    what = target[1] if target else "every previously clustered table"
    yield Hit(
        f"CLUSTER rewrites {what} while holding {describe(ACCESS_EXCLUSIVE)}",
        "drop it from the migration; reorder online with `pg_repack --order-by`",
        lock=ACCESS_EXCLUSIVE,
    )


def _set_words(words: tuple[str, ...], *pair: str) -> bool:
    return any(words[i : i + len(pair)] == pair for i in range(len(words) - len(pair) + 1))


@rule(
    id="avoid-set-tablespace",
    severity=Severity.ERROR,
    family="rewrites",
    summary="`ALTER TABLE/INDEX ... SET TABLESPACE` on an existing relation.",
    why="""
        Moving a table or index to another tablespace copies every block while holding ACCESS
        EXCLUSIVE, blocking reads and writes for the whole copy.
    """,
    fix="Create the new object in the target tablespace and migrate to it, or use `pg_repack --tablespace`.",
    bad="ALTER TABLE events SET TABLESPACE fast_ssd;",
    good="CREATE TABLE events_new (LIKE events INCLUDING ALL) TABLESPACE fast_ssd;",
    heads=("ALTER",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_set_tablespace(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    w = stmt.words
    if "TABLESPACE" not in w or not _set_words(w, "SET", "TABLESPACE"):
        return
    kinds = ("TABLE", "INDEX", "MATERIALIZED")
    if w[1:2] not in tuple((k,) for k in kinds):
        return
    target = _table_after(
        stmt, ("TABLE", "INDEX", "MATERIALIZED", "VIEW", "IF", "EXISTS", "ONLY", "ALL", "IN")
    )
    if target is not None and ctx.is_new(w[1].lower() if w[1] != "MATERIALIZED" else "view", target[0]):
        return
    shown = target[1] if target else "?"
    yield Hit(
        f"SET TABLESPACE copies {shown} block by block while holding {describe(ACCESS_EXCLUSIVE)}",
        f"move it online instead (`pg_repack --tablespace ... --table {shown}`), or create new objects "
        "in the target tablespace",
        lock=ACCESS_EXCLUSIVE,
    )


@rule(
    id="avoid-set-logged",
    severity=Severity.ERROR,
    family="rewrites",
    summary="`ALTER TABLE ... SET LOGGED` / `SET UNLOGGED` on an existing table.",
    why="""
        Switching a table between logged and unlogged rewrites it (and, for SET LOGGED, writes all
        of it to the WAL) while holding ACCESS EXCLUSIVE, blocking reads and writes.
    """,
    fix="Create the table with the persistence it needs, or copy into a new table and swap names.",
    bad="ALTER TABLE import_rows SET LOGGED;",
    good="CREATE UNLOGGED TABLE import_rows (id bigint, payload jsonb);",
    heads=("ALTER",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_set_logged(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    w = stmt.words
    if not (_set_words(w, "SET", "LOGGED") or _set_words(w, "SET", "UNLOGGED")):
        return
    alter = read_alter_table(stmt)
    if alter is None or ctx.is_new_table(alter.key):
        return
    mode = "LOGGED" if _set_words(w, "SET", "LOGGED") else "UNLOGGED"
    yield Hit(
        f"SET {mode} rewrites {alter.shown} while holding {describe(ACCESS_EXCLUSIVE)}",
        f"create a new {mode.lower()} table, copy the rows in batches, then swap names in one short transaction",
        lock=ACCESS_EXCLUSIVE,
    )
