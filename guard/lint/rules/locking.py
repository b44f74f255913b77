"""Lock rules for indexes, partitions and explicit locks: build, drop and rebuild indexes
`CONCURRENTLY`, detach partitions concurrently, and never `LOCK TABLE` without a timeout.

Each message names the lock the statement takes and what it blocks (`guard.lint.locks`).
Tables created earlier in the same file are exempt: nobody else can see them yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from guard.lint.context import FileContext
from guard.lint.ddl import read_alter_table
from guard.lint.locks import ACCESS_EXCLUSIVE, SHARE, SHARE_UPDATE_EXCLUSIVE, describe, lock_table_mode
from guard.lint.registry import rule
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.tokens import Token, read_qualified_name, show_name

_INDEX_WORD = re.compile(r"\bINDEX\b", re.I)

#: Statement heads that take table locks, for `require-timeouts`.
_LOCKING_HEADS = frozenset({"ALTER", "CREATE", "DROP", "LOCK", "REINDEX", "VACUUM", "CLUSTER", "TRUNCATE"})


def index_target(stmt: Statement) -> tuple[str, list[Token], list[Token], bool] | None:
    """(index name, index name parts, table parts, ON ONLY) of `CREATE [UNIQUE] INDEX ... ON table`."""
    toks = stmt.tokens
    i = 1
    while i < len(toks) and toks[i].upper in ("UNIQUE", "INDEX", "CONCURRENTLY", "IF", "NOT", "EXISTS"):
        i += 1
    name: list[Token] = []
    if i < len(toks) and toks[i].upper != "ON":
        name, i = read_qualified_name(toks, i)
    if i >= len(toks) or toks[i].upper != "ON":
        return None
    i += 1
    only = i < len(toks) and toks[i].upper == "ONLY"
    table, _ = read_qualified_name(toks, i + 1 if only else i)
    if not table:
        return None
    return (name[-1].name if name else ""), name, table, only


def is_create_index(stmt: Statement) -> bool:
    """`CREATE [UNIQUE] INDEX ...` (cheap word check)."""
    w = stmt.words
    return w[:2] == ("CREATE", "INDEX") or w[:3] == ("CREATE", "UNIQUE", "INDEX")


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
    heads=("CREATE",),
    lock=describe(SHARE),
)
def require_concurrent_index(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    if not is_create_index(stmt) or "CONCURRENTLY" in stmt.words[:6]:
        return
    target = index_target(stmt)
    if target is None:
        return
    _, name, table, only = target
    if only or ctx.is_new_table(table[-1].name):
        return  # ON ONLY builds an empty, invalid parent index on a partitioned table: no scan
    kind = "UNIQUE INDEX" if "UNIQUE" in stmt.words[:3] else "INDEX"
    shown = show_name(name) if name else "(unnamed)"
    yield Hit(
        f"CREATE {kind} {shown} ON {show_name(table)} holds {describe(SHARE)} on "
        f"{show_name(table)} for the whole index build",
        "build it without blocking writes, in a migration of its own marked `-- guard: no-transaction`:\n"
        + _INDEX_WORD.sub("INDEX CONCURRENTLY", stmt.text, count=1)
        + ";",
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
    heads=("DROP",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def require_concurrent_index_drop(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    w = stmt.words
    if w[:2] != ("DROP", "INDEX") or "CONCURRENTLY" in w[:3]:
        return
    toks = stmt.tokens
    i = 2
    while i < len(toks) and toks[i].upper in ("IF", "EXISTS"):
        i += 1
    names, _ = read_qualified_name(toks, i)
    if not names or ctx.is_new("index", names[-1].name):
        return
    shown = show_name(names)
    yield Hit(
        f"DROP INDEX {shown} takes {describe(ACCESS_EXCLUSIVE)} on its table",
        f"in a migration of its own marked `-- guard: no-transaction`:\nDROP INDEX CONCURRENTLY IF EXISTS {shown};",
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
    heads=("REINDEX",),
    lock=describe(SHARE) + "; ACCESS EXCLUSIVE on the index",
)
def require_concurrent_reindex(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    w = stmt.words
    if "CONCURRENTLY" in w[:8]:
        return
    kinds = [x for x in w[1:6] if x in ("INDEX", "TABLE", "SCHEMA", "DATABASE", "SYSTEM")]
    kind = kinds[0] if kinds else "INDEX"
    target = " ".join(t.shown() for t in stmt.tokens[w.index(kind) + 1 :]) if kinds else ""
    if kind == "TABLE" and ctx.is_new_table(target.lower().split(".")[-1]):
        return
    if ctx.pg_version >= 12:
        fix = f"outside a transaction (`-- guard: no-transaction`):\nREINDEX {kind} CONCURRENTLY {target};"
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
    heads=("ALTER",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def require_concurrent_detach(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    if "DETACH" not in stmt.words:
        return
    alter = read_alter_table(stmt)
    if alter is None or ctx.is_new_table(alter.key):
        return
    for action in alter.actions:
        if not action.starts("DETACH", "PARTITION") or {"CONCURRENTLY", "FINALIZE"} & set(action.words):
            continue
        child, _ = read_qualified_name(action.tokens, 2)
        if ctx.pg_version >= 14:
            fix = (
                "outside a transaction (`-- guard: no-transaction`):\n"
                f"ALTER TABLE {alter.shown} DETACH PARTITION {show_name(child)} CONCURRENTLY;"
            )
        else:
            fix = (
                f"Postgres {ctx.pg_version} cannot detach concurrently (14+ can): run it in a quiet "
                "window after `SET lock_timeout = '2s';`, or upgrade first"
            )
        yield Hit(
            f"DETACH PARTITION {show_name(child)} takes {describe(ACCESS_EXCLUSIVE)} on {alter.shown} "
            "and all its partitions",
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
    heads=("LOCK",),
    lock=describe(ACCESS_EXCLUSIVE),
)
def avoid_lock_table(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    if ctx.lock_timeout_set:
        return
    mode = lock_table_mode(stmt.words)
    toks = stmt.tokens
    i = 1
    while i < len(toks) and toks[i].upper in ("TABLE", "ONLY"):
        i += 1
    table, _ = read_qualified_name(toks, i)
    if table and ctx.is_new_table(table[-1].name):
        return
    yield Hit(
        f"LOCK TABLE {show_name(table)} takes {describe(mode)} and waits with no lock_timeout, "
        "queueing every query behind it",
        f"SET lock_timeout = '2s';\n{stmt.text};",
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
    heads=("CREATE", "REINDEX"),
    lock=describe(SHARE_UPDATE_EXCLUSIVE),
)
def pg14_concurrent_index_bug(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    if ctx.pg_version != 14 or "CONCURRENTLY" not in stmt.words[:8]:
        return
    if stmt.head == "CREATE" and not is_create_index(stmt):
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
        if stmt.head in ("SET", "RESET"):
            for name in ("lock_timeout", "statement_timeout"):
                if name.upper() in stmt.words[:4]:
                    (have.add if stmt.head == "SET" else have.discard)(name)
            continue
        if stmt.head in _LOCKING_HEADS and not _locks_only_new_objects(stmt, created):
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


#: CREATE kinds that lock nothing another session uses (a new table may still lock what it references).
_NEW_OBJECT_KINDS = frozenset({"TYPE", "DOMAIN", "SEQUENCE", "FUNCTION", "PROCEDURE", "SCHEMA"})


def _locks_only_new_objects(stmt: Statement, created: set[str]) -> bool:
    """True for a CREATE that waits on no existing table: a new table that references none, a new
    type/function/..., or an index on a table created earlier in the file (remembered in `created`)."""
    w = stmt.words
    if stmt.head != "CREATE":
        return False
    kind = next((x for x in w[1:4] if x not in ("OR", "REPLACE", "UNLOGGED", "TEMP", "TEMPORARY")), "")
    if kind == "TABLE":
        if {"REFERENCES", "PARTITION", "INHERITS", "LIKE", "AS"} & set(w):
            return False
        at = w.index("TABLE") + 1  # only words before the name, so word and token positions agree
        if w[at : at + 3] == ("IF", "NOT", "EXISTS"):
            at += 3
        parts, _ = read_qualified_name(stmt.tokens, at)
        if parts:
            created.add(parts[-1].name)
        return True
    if is_create_index(stmt):
        target = index_target(stmt)
        return target is not None and bool(target[2]) and target[2][-1].name in created
    return kind in _NEW_OBJECT_KINDS
