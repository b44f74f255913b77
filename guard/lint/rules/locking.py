"""Lock rules for indexes, partitions and explicit locks: build, drop and rebuild indexes
`CONCURRENTLY`, detach partitions concurrently, and never `LOCK TABLE` without a timeout.

Each message names the lock the statement takes and what it blocks (`guard.lint.locks`).
Tables created earlier in the same file are exempt: nobody else can see them yet.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from guard.lint.context import FileContext
from guard.lint.locks import (
    ACCESS_EXCLUSIVE,
    SHARE,
    SHARE_UPDATE_EXCLUSIVE,
    describe,
    lock_table_mode,
)
from guard.lint.registry import rule
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql import facts as f
from guard.sql import safe_sql as sql

#: Statements that take table locks, for `require-timeouts` (Maintenance: all but ANALYZE/REFRESH).
_LOCKING_FACTS = (
    f.AlterTable,
    f.AlterOther,
    f.AlterEnum,
    f.Rename,
    f.CreateTable,
    f.CreateIndex,
    f.CreateObject,
    f.Drop,
    f.Truncate,
)
_LOCKING_VERBS = frozenset({"reindex", "vacuum", "cluster", "lock"})
#: Heads of statements no reader understood that may still take locks.
_LOCKING_HEADS = frozenset({"ALTER", "CREATE", "DROP", "LOCK", "REINDEX", "VACUUM", "CLUSTER", "TRUNCATE"})


def index_sql(index: f.CreateIndex, concurrently: bool) -> str:
    """`CREATE [UNIQUE] INDEX [CONCURRENTLY] ...` written back from the model."""
    cols = [c if index.expressions and not c.isidentifier() else sql.ident(c) for c in index.columns]
    return sql.create_index(
        index.table.shown,
        ", ".join(cols),
        index=index.name.shown if index.name is not None else None,
        unique=index.unique,
        method=index.method or None,
        where=index.predicate or None,
        concurrently=concurrently,
        if_not_exists=index.if_not_exists,
        only=index.only,
        parse=False,
    )


@rule(
    id="require-concurrent-index",
    severity=Severity.ERROR,
    family="locking",
    summary="`CREATE INDEX` on an existing table without `CONCURRENTLY`.",
    why="""
        A plain `CREATE INDEX` holds a SHARE lock on the table for the whole build, which blocks
        every INSERT, UPDATE and DELETE until the index is complete: minutes to hours on a large
        table. `CREATE INDEX CONCURRENTLY` takes SHARE UPDATE EXCLUSIVE instead and lets writes
        continue.
    """,
    fix="""
        Build it with `CREATE INDEX CONCURRENTLY`, in a migration that runs outside a transaction
        (mark it `-- guard: no-transaction`). If the build fails it leaves an INVALID index: drop it
        with `DROP INDEX CONCURRENTLY` and retry.
    """,
    bad="CREATE INDEX users_email_idx ON users (email);",
    good="-- guard: no-transaction\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    facts=(f.CreateIndex,),
    lock=describe(SHARE),
)
def require_concurrent_index(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    index = stmt.fact
    assert isinstance(index, f.CreateIndex)
    table = index.table
    if index.concurrently or index.only:
        return  # ON ONLY builds an empty, invalid parent index on a partitioned table: no scan
    if ctx.is_new_table(table.key) or ctx.is_new("materialized view", table.key):
        return
    kind = "UNIQUE INDEX" if index.unique else "INDEX"
    shown = index.name.shown if index.name is not None else "(unnamed)"
    yield Hit(
        f"CREATE {kind} {shown} ON {table.shown} holds {describe(SHARE)} on "
        f"{table.shown} for the whole index build",
        "build it without blocking writes, in a migration of its own marked `-- guard: no-transaction`:\n"
        + index_sql(index, concurrently=True),
        lock=SHARE,
    )


@rule(
    id="require-concurrent-index-drop",
    severity=Severity.ERROR,
    family="locking",
    summary="`DROP INDEX` without `CONCURRENTLY`.",
    why="""
        `DROP INDEX` takes an ACCESS EXCLUSIVE lock on the index's table, blocking reads and
        writes; queued behind a long-running query it stalls every query on the table.
        `DROP INDEX CONCURRENTLY` waits for conflicting transactions instead of blocking them.
    """,
    fix="""
        Use `DROP INDEX CONCURRENTLY` (one index per statement, no CASCADE), in a migration that
        runs outside a transaction (mark it `-- guard: no-transaction`).
    """,
    bad="DROP INDEX users_email_idx;",
    good="-- guard: no-transaction\nDROP INDEX CONCURRENTLY users_email_idx;",
    facts=(f.Drop,),
    lock=describe(ACCESS_EXCLUSIVE),
)
def require_concurrent_index_drop(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    drop = stmt.fact
    assert isinstance(drop, f.Drop)
    if drop.object_kind != "index" or drop.concurrently:
        return
    # An index created in this file, or gone with a table or constraint this file dropped, locks nothing.
    names = [n for n in drop.names if not ctx.is_new("index", n.key) and not ctx.index_gone(n.key)]
    if not names:
        return
    shown = ", ".join(n.shown for n in names)
    fix = "\n".join(sql.drop_index(n.shown, parse=False) for n in names)
    yield Hit(
        f"DROP INDEX {shown} takes {describe(ACCESS_EXCLUSIVE)} on its table",
        "in a migration of its own marked `-- guard: no-transaction`:\n" + fix,
        lock=ACCESS_EXCLUSIVE,
    )


@rule(
    id="require-concurrent-reindex",
    severity=Severity.ERROR,
    family="locking",
    summary="`REINDEX` without `CONCURRENTLY`.",
    why="""
        `REINDEX` holds a SHARE lock on the table (blocking writes) and an ACCESS EXCLUSIVE lock on
        each index it rebuilds, so reads that would use the index wait too. Postgres 12 added
        `REINDEX CONCURRENTLY`, which rebuilds without blocking either.
    """,
    fix="""
        On Postgres 12+: `REINDEX INDEX CONCURRENTLY <index>` outside a transaction. Before 12: build
        a replacement with `CREATE INDEX CONCURRENTLY`, then `DROP INDEX CONCURRENTLY` the old one
        and rename the new one.
    """,
    bad="REINDEX INDEX users_email_idx;",
    good="-- guard: no-transaction\nREINDEX INDEX CONCURRENTLY users_email_idx;",
    facts=(f.Maintenance,),
    lock=describe(SHARE) + "; ACCESS EXCLUSIVE on the index",
)
def require_concurrent_reindex(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    reindex = stmt.fact
    assert isinstance(reindex, f.Maintenance)
    if reindex.verb != "reindex" or reindex.concurrently:
        return
    kind = (reindex.target_kind or "index").upper()
    target = reindex.target.shown if reindex.target is not None else ""
    if kind == "TABLE" and reindex.target is not None and ctx.is_new_table(reindex.target.key):
        return
    if ctx.pg_version >= 12 and target and kind in ("INDEX", "TABLE", "SCHEMA", "DATABASE"):
        fix = "outside a transaction (`-- guard: no-transaction`):\n" + sql.reindex(kind, target, parse=False)
    elif ctx.pg_version >= 12:
        fix = f"outside a transaction (`-- guard: no-transaction`): REINDEX {kind} CONCURRENTLY ..."
    else:
        fix = (
            f"Postgres {ctx.pg_version} has no REINDEX CONCURRENTLY: build a replacement with "
            "CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY the old index, then rename the new one"
        )
    yield Hit(
        f"REINDEX {kind} {target} holds {describe(SHARE)} on the table and ACCESS EXCLUSIVE on each "
        "index it rebuilds (reads using the index wait)",
        fix,
        lock=SHARE,
    )


@rule(
    id="require-concurrent-detach",
    severity=Severity.ERROR,
    family="locking",
    summary="`ALTER TABLE ... DETACH PARTITION` without `CONCURRENTLY`.",
    why="""
        Detaching a partition takes an ACCESS EXCLUSIVE lock on the partitioned table, blocking
        reads and writes on every partition. Postgres 14 added `DETACH PARTITION ... CONCURRENTLY`,
        which takes SHARE UPDATE EXCLUSIVE instead.
    """,
    fix="""
        On Postgres 14+: `ALTER TABLE <parent> DETACH PARTITION <child> CONCURRENTLY` outside a
        transaction (if it is interrupted, finish with `... DETACH PARTITION <child> FINALIZE`).
        Before 14 there is no online way: run it in a quiet window with a short `lock_timeout`.
    """,
    bad="ALTER TABLE measurements DETACH PARTITION measurements_2019;",
    good="-- guard: no-transaction\nALTER TABLE measurements DETACH PARTITION measurements_2019 CONCURRENTLY;",
    facts=(f.AlterTable,),
    lock=describe(ACCESS_EXCLUSIVE),
)
def require_concurrent_detach(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    alter = stmt.fact
    assert isinstance(alter, f.AlterTable)
    if ctx.is_new_table(alter.table.key):
        return
    t = alter.table.shown
    for action in alter.actions:
        if not isinstance(action, f.DetachPartition) or action.concurrently or action.finalize:
            continue
        child = action.partition.shown
        if ctx.pg_version >= 14:
            fix = "outside a transaction (`-- guard: no-transaction`):\n" + sql.detach_partition(
                t, child, parse=False
            )
        else:
            fix = (
                f"Postgres {ctx.pg_version} cannot detach concurrently (14+ can): run it in a quiet "
                "window after `SET lock_timeout = '2s';`, or upgrade first"
            )
        yield Hit(
            f"DETACH PARTITION {child} takes {describe(ACCESS_EXCLUSIVE)} on {t} and all its partitions",
            fix,
            lock=ACCESS_EXCLUSIVE,
        )


@rule(
    id="avoid-lock-table",
    severity=Severity.WARNING,
    family="locking",
    summary="An explicit `LOCK TABLE` with no short `lock_timeout` set before it.",
    why="""
        `LOCK TABLE` waits for every conflicting transaction, and while it waits every new query on
        the table queues behind it: a lock queue that takes the table offline. `LOCK TABLE`
        defaults to ACCESS EXCLUSIVE, which blocks reads and writes.
    """,
    fix="""
        Set a short `lock_timeout` first so the migration gives up (and can retry) instead of
        queueing traffic, and take the weakest mode that does the job.
    """,
    bad="LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE;",
    good="SET lock_timeout = '2s';\nLOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE;",
    facts=(f.Maintenance,),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_lock_table(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    lock = stmt.fact
    assert isinstance(lock, f.Maintenance)
    if lock.verb != "lock" or ctx.lock_timeout_set:
        return
    mode = lock_table_mode(lock)
    table = lock.target.shown if lock.target is not None else "?"
    if lock.target is not None and ctx.is_new_table(lock.target.key):
        return
    yield Hit(
        f"LOCK TABLE {table} takes {describe(mode)} and waits with no lock_timeout, "
        "queueing every query behind it",
        sql.set_timeout("lock_timeout", "2s", parse=False) + "\n" + sql.lock_table(table, mode, parse=False)
        if lock.target is not None
        else "SET lock_timeout first",
        lock=mode,
    )


@rule(
    id="pg14-concurrent-index-bug",
    severity=Severity.WARNING,
    family="locking",
    summary="`CREATE INDEX CONCURRENTLY` / `REINDEX CONCURRENTLY` targeting Postgres 14 (14.0-14.3 corrupt them).",
    why="""
        Postgres 14.0 to 14.3 can silently corrupt indexes built or rebuilt with CONCURRENTLY
        (missing entries for rows updated during the build). 14.4 fixed it; indexes built on the
        broken releases must be rebuilt.
    """,
    fix="""
        Make sure every server runs 14.4 or later before this migration ships; check indexes built
        on 14.0-14.3 with `amcheck` and rebuild them.
    """,
    bad="-- pg_version = 14\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    good="-- pg_version = 15\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    facts=(f.CreateIndex, f.Maintenance),
    lock=describe(SHARE_UPDATE_EXCLUSIVE),
)
def pg14_concurrent_index_bug(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    fact = stmt.fact
    if ctx.pg_version != 14:
        return
    if isinstance(fact, f.Maintenance) and (fact.verb != "reindex" or not fact.concurrently):
        return
    if isinstance(fact, f.CreateIndex) and not fact.concurrently:
        return
    yield Hit(
        "Postgres 14.0-14.3 can corrupt indexes built with CONCURRENTLY; this migration targets 14",
        "upgrade every server to 14.4+ first (or set `pg_version` to the real major version)",
        lock=SHARE_UPDATE_EXCLUSIVE,
    )


@rule(
    id="require-timeouts",
    severity=Severity.ERROR,
    family="locking",
    summary="A migration takes locks without `SET lock_timeout` and `SET statement_timeout` first (opt-in).",
    why="""
        Without `lock_timeout` a DDL statement waiting for its lock queues every query on the
        table behind it; without `statement_timeout` a slow rewrite holds its lock indefinitely.
        migration-guard's runner sets both itself, so this rule is off unless the setting
        `require_timeouts = true` is on (for teams that run migrations with another tool).
    """,
    fix="""
        Start the migration with `SET lock_timeout = '5s';` and `SET statement_timeout = '15min';`
        (or the values your team uses).
    """,
    bad="-- require_timeouts = true\nALTER TABLE users ADD COLUMN nickname text;",
    good="SET lock_timeout = '5s';\nSET statement_timeout = '15min';\nALTER TABLE users ADD COLUMN nickname text;",
    scope="file",
)
def require_timeouts(statements: Sequence[Statement], ctx: FileContext) -> Iterator[Hit]:
    if not ctx.settings.require_timeouts:
        return
    have: set[str] = set()
    created: set[str] = set()  # tables created earlier in the file: nobody else can be waiting on them
    for stmt in statements:
        fact = stmt.fact
        if isinstance(fact, f.Setting):
            for name in ("lock_timeout", "statement_timeout"):
                if fact.name == name or (fact.reset and fact.name == "all"):
                    (have.discard if fact.reset else have.add)(name)
            continue
        if _takes_locks(fact) and not _locks_only_new_objects(fact, created):
            missing = [n for n in ("lock_timeout", "statement_timeout") if n not in have]
            if missing:
                yield Hit(
                    f"this migration takes locks before setting {' and '.join(missing)}",
                    "start the file with:\n"
                    + "\n".join(
                        f"SET {n} = '{ctx.settings.lock_timeout if n == 'lock_timeout' else ctx.settings.statement_timeout}';"
                        for n in missing
                    ),
                    line=stmt.line,
                )
            return


def _takes_locks(fact: f.Fact) -> bool:
    """DDL, `TRUNCATE`, `LOCK`, `REINDEX`, `VACUUM`, `CLUSTER`, and any statement no reader understood
    that starts like one of them."""
    if isinstance(fact, f.Maintenance):
        return fact.verb in _LOCKING_VERBS
    if isinstance(fact, f.Unknown):
        return fact.words[:1] != () and fact.words[0] in _LOCKING_HEADS
    return isinstance(fact, _LOCKING_FACTS)


#: CREATE kinds that lock nothing another session uses (a new table may still lock what it references).
_NEW_OBJECT_KINDS = frozenset({"type", "enum", "domain", "sequence", "function", "procedure", "schema"})


def _locks_only_new_objects(fact: f.Fact, created: set[str]) -> bool:
    """True for a CREATE that waits on no existing table: a new table that references none, a new
    type/function/..., or an index on a table created earlier in the file (remembered in `created`)."""
    if isinstance(fact, f.CreateTable):
        refers = any(c.references is not None for c in fact.columns) or any(
            c.kind == f.FOREIGN_KEY for c in fact.constraints
        )
        if refers or fact.partition_of is not None or fact.like or fact.as_select or fact.inherits:
            return False
        created.add(fact.table.key)
        return True
    if isinstance(fact, f.CreateIndex):
        return fact.table.key in created
    return isinstance(fact, f.CreateObject) and fact.object_kind in _NEW_OBJECT_KINDS
