"""Rewrite rules for whole tables: `VACUUM FULL`, `CLUSTER`, `ALTER TABLE ... SET TABLESPACE` and
`SET LOGGED/UNLOGGED` copy the table (and its indexes) while holding ACCESS EXCLUSIVE, blocking
reads and writes for the whole copy. Tables created earlier in the same migration are exempt.
The rules read the statement model (`Statement.fact`) only.
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext
from guard.lint.locks import ACCESS_EXCLUSIVE, describe
from guard.lint.registry import rule
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql import facts as f


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
    facts=(f.Maintenance,),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_vacuum_full(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    fact = stmt.fact
    assert isinstance(fact, f.Maintenance)
    if fact.verb != "vacuum" or not fact.full:
        return
    target = fact.target
    if target is not None and ctx.is_new_table(target.key):
        return
    what = target.shown if target else "every table in the database"
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
    good="""
        CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamptz);
        CREATE INDEX events_created_at_idx ON events (created_at);
        CLUSTER events USING events_created_at_idx;
    """,
    facts=(f.Maintenance,),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_cluster(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    fact = stmt.fact
    assert isinstance(fact, f.Maintenance)
    if fact.verb != "cluster":
        return
    target = fact.target
    if target is not None and ctx.is_new_table(target.key):
        return
    what = target.shown if target else "every previously clustered table"
    yield Hit(
        f"CLUSTER rewrites {what} while holding {describe(ACCESS_EXCLUSIVE)}",
        "drop it from the migration; reorder online with `pg_repack --order-by`",
        lock=ACCESS_EXCLUSIVE,
    )


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
    good="""
        CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb);
        ALTER TABLE events SET TABLESPACE fast_ssd;
    """,
    facts=(f.AlterTable, f.AlterOther),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_set_tablespace(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    fact = stmt.fact
    if isinstance(fact, f.AlterTable):
        if not any(isinstance(a, f.SetTablespace) for a in fact.actions) or ctx.is_new_table(fact.table.key):
            return
        shown = fact.table.shown
    else:
        assert isinstance(fact, f.AlterOther)
        kind = _MOVABLE.get(fact.object_kind)
        if kind is None or not _sets_tablespace(fact.words) or ctx.is_new(kind, fact.name.key):
            return
        shown = fact.name.shown
    yield Hit(
        f"SET TABLESPACE copies {shown} block by block while holding {describe(ACCESS_EXCLUSIVE)}",
        f"move it online instead (`pg_repack --tablespace ... --table {shown}`), or create new objects "
        "in the target tablespace",
        lock=ACCESS_EXCLUSIVE,
    )


#: Relations other than tables that `SET TABLESPACE` copies, and the kind `FileContext.is_new` knows.
_MOVABLE = {"index": "index", "materialized view": "view"}


def _sets_tablespace(words: tuple[str, ...]) -> bool:
    """True when an `ALTER INDEX/MATERIALIZED VIEW` action list holds `SET TABLESPACE`."""
    return any(words[i : i + 2] == ("SET", "TABLESPACE") for i in range(len(words) - 1))


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
    good="""
        CREATE UNLOGGED TABLE import_rows (id bigint, payload jsonb);
        ALTER TABLE import_rows SET LOGGED;
    """,
    facts=(f.AlterTable,),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_set_logged(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    fact = stmt.fact
    assert isinstance(fact, f.AlterTable)
    found = next((a for a in fact.actions if isinstance(a, f.SetLogged)), None)
    if found is None or ctx.is_new_table(fact.table.key):
        return
    mode = "LOGGED" if found.logged else "UNLOGGED"
    yield Hit(
        f"SET {mode} rewrites {fact.table.shown} while holding {describe(ACCESS_EXCLUSIVE)}",
        f"create a new {mode.lower()} table, copy the rows in batches, then swap names in one short transaction",
        lock=ACCESS_EXCLUSIVE,
    )
