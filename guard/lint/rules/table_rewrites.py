"""Rewrite rules for whole tables: `VACUUM FULL`, `CLUSTER`, `ALTER TABLE ... SET TABLESPACE` and
`SET LOGGED/UNLOGGED` copy the table (and its indexes) while holding ACCESS EXCLUSIVE, blocking
reads and writes for the whole copy. Tables created earlier in the same migration are exempt.
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext
from guard.lint.ddl import read_alter_table
from guard.lint.locks import ACCESS_EXCLUSIVE, describe
from guard.lint.registry import rule
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.tokens import PUNCT, read_qualified_name, show_name


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
    # Membership of the last word first (in C): most ALTER statements have neither LOGGED nor TABLESPACE.
    if pair[-1] not in words:
        return False
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
