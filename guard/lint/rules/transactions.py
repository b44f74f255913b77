"""Transaction rules: `CONCURRENTLY` inside a transaction, unbalanced and nested `BEGIN`,
`ALTER TYPE ... ADD VALUE` in a transaction before Postgres 12, and work done while an
ACCESS EXCLUSIVE lock is held.

How a file runs: an explicit `BEGIN` opens a transaction block; otherwise the runner
wraps the whole file in one transaction when it can (setting `transaction`, default
true), and runs it statement by statement when the file contains a statement that
cannot run in a transaction (see `guard.txcontrol.needs_autocommit`). Prisma and
other script runners send the file as one multi-statement query, which Postgres runs
as one implicit transaction. So a `CONCURRENTLY` statement is safe alone in its file
and broken (or non-atomic) next to other statements.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from guard.lint.context import FileContext
from guard.lint.ddl import sql_of
from guard.lint.locks import ACCESS_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, describe
from guard.lint.registry import rule
from guard.model import Hit, Severity
from guard.parsing import Statement, head_is_lead

#: Statements that change nothing and may sit next to a CONCURRENTLY statement.
_HARMLESS_HEADS = frozenset({"SET", "RESET", "SHOW", "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"})
_TX_OPEN = ("BEGIN", "START")
_TX_CLOSE = frozenset({"COMMIT", "END", "ROLLBACK", "ABORT"})


def is_concurrent(stmt: Statement) -> bool:
    """A statement Postgres refuses inside a transaction block because of CONCURRENTLY."""
    w = stmt.words
    if stmt.head == "CREATE":
        return (w[1:3] == ("INDEX", "CONCURRENTLY")) or (w[1:4] == ("UNIQUE", "INDEX", "CONCURRENTLY"))
    if stmt.head == "DROP":
        return w[1:3] == ("INDEX", "CONCURRENTLY")
    if stmt.head == "REINDEX":
        return "CONCURRENTLY" in w[:8]
    if stmt.head == "ALTER":
        return w[1:2] == ("TABLE",) and "DETACH" in w and "CONCURRENTLY" in w
    return False


def is_enum_add_value(stmt: Statement) -> bool:
    """`ALTER TYPE ... ADD VALUE`."""
    w = stmt.words
    return w[:2] == ("ALTER", "TYPE") and "ADD" in w and "VALUE" in w


def _is_tx_open(stmt: Statement) -> bool:
    head = stmt.head
    if head == "BEGIN":
        return True
    if head != "START" and head_is_lead(stmt):
        return False  # without reading the leading words of every statement (data loads)
    return stmt.lead[:2] == ("START", "TRANSACTION")


def _depths(statements: Sequence[Statement]) -> list[int]:
    """Explicit BEGIN depth before each statement."""
    out, depth = [], 0
    for stmt in statements:
        out.append(depth)
        if _is_tx_open(stmt):
            depth = 1  # Postgres does not nest blocks: a BEGIN inside one only warns
        elif stmt.head in _TX_CLOSE:
            depth = 0
    return out


def _out_of_tx_problems(
    statements: Sequence[Statement], ctx: FileContext, wanted: Sequence[Statement]
) -> Iterator[tuple[Statement, str]]:
    """(statement, why) for each `wanted` statement that will run inside a transaction."""
    depths = _depths(statements)
    others = [s for s in statements if s.head not in _HARMLESS_HEADS and s not in wanted]
    for stmt in wanted:
        if depths[stmt.index] > 0:
            yield stmt, "it sits inside an explicit BEGIN ... COMMIT block"
        elif ctx.runner_wraps and (others or len(wanted) > 1):
            yield (
                stmt,
                f"it shares the file with {len(others) + len(wanted) - 1} other statement(s): runners that send "
                "the file as one script run it in one transaction, and ours must then run the whole file "
                "without one (no atomicity)",
            )


@rule(
    id="concurrent-in-transaction",
    severity=Severity.ERROR,
    family="transactions",
    summary="`CREATE/DROP INDEX CONCURRENTLY`, `REINDEX CONCURRENTLY` or `DETACH ... CONCURRENTLY` inside a transaction.",
    why="""
        Postgres refuses CONCURRENTLY inside a transaction block (`cannot run inside a transaction
        block`), so the deploy fails. That happens inside an explicit `BEGIN`, and also when the
        statement shares its file with other statements: Prisma and most script runners send a file
        as one query, which Postgres runs as one implicit transaction.
    """,
    fix="""
        Put each CONCURRENTLY statement in a migration of its own, outside any `BEGIN`, and mark it
        `-- guard: no-transaction`.
    """,
    bad="BEGIN;\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\nCOMMIT;",
    good="-- guard: no-transaction\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    lock=describe(SHARE_UPDATE_EXCLUSIVE),
    scope="file",
)
def concurrent_in_transaction(statements: Sequence[Statement], ctx: FileContext) -> Iterator[Hit]:
    wanted = [s for s in statements if s.head in ("CREATE", "DROP", "REINDEX", "ALTER") and is_concurrent(s)]
    if not wanted:
        return
    for stmt, why in _out_of_tx_problems(statements, ctx, wanted):
        what = sql_of(stmt.tokens[:4])
        yield Hit(
            f"{what} ... cannot run inside a transaction, and {why}",
            f"move `{stmt.text.strip()};` into a migration of its own, marked `-- guard: no-transaction`",
            line=stmt.line,
        )


@rule(
    id="enum-value-in-transaction",
    severity=Severity.ERROR,
    family="transactions",
    summary="`ALTER TYPE ... ADD VALUE` inside a transaction, before Postgres 12.",
    why="""
        Before Postgres 12, `ALTER TYPE ... ADD VALUE` cannot run inside a transaction block, so
        the migration fails. From 12 it can, but the new value cannot be used until the
        transaction commits.
    """,
    fix="Put the `ADD VALUE` in a migration of its own, marked `-- guard: no-transaction`, or target Postgres 12+.",
    bad="-- pg_version = 11\nBEGIN;\nALTER TYPE mood ADD VALUE 'curious' AFTER 'happy';\nCOMMIT;",
    good="-- guard: no-transaction\nALTER TYPE mood ADD VALUE 'curious' AFTER 'happy';",
    scope="file",
)
def enum_value_in_transaction(statements: Sequence[Statement], ctx: FileContext) -> Iterator[Hit]:
    if ctx.pg_version >= 12:
        return
    wanted = [s for s in statements if s.head == "ALTER" and is_enum_add_value(s)]
    for stmt, why in _out_of_tx_problems(statements, ctx, wanted):
        yield Hit(
            f"ALTER TYPE ... ADD VALUE cannot run inside a transaction on Postgres {ctx.pg_version}, and {why}",
            f"move `{stmt.text.strip()};` into a migration of its own, marked `-- guard: no-transaction`",
            line=stmt.line,
        )


@rule(
    id="uncommitted-transaction",
    severity=Severity.ERROR,
    family="transactions",
    summary="A `BEGIN` with no matching `COMMIT` in the file.",
    why="""
        An open transaction at the end of a migration is rolled back when the session ends (losing
        the migration) or, with some runners, stays open holding every lock it took.
    """,
    fix="End the block with `COMMIT;`, or drop the `BEGIN` and let the runner manage the transaction.",
    bad="BEGIN;\nALTER TABLE users ADD COLUMN nickname text;",
    good="BEGIN;\nALTER TABLE users ADD COLUMN nickname text;\nCOMMIT;",
    scope="file",
)
def uncommitted_transaction(statements: Sequence[Statement], ctx: FileContext) -> Iterator[Hit]:
    opened: Statement | None = None
    for stmt in statements:
        if _is_tx_open(stmt):
            opened = opened or stmt  # a nested BEGIN is ignored by Postgres; the first COMMIT ends the block
        elif stmt.head in _TX_CLOSE:
            opened = None
    if opened is not None:
        yield Hit(
            f"the transaction opened on line {opened.line} is never committed",
            "add `COMMIT;` at the end of the file",
            line=opened.line,
        )


@rule(
    id="nested-transaction",
    severity=Severity.ERROR,
    family="transactions",
    summary="`BEGIN` inside a transaction block that is already open.",
    why="""
        Postgres ignores a nested `BEGIN` (with only a warning), so the first `COMMIT` commits the
        outer transaction and everything after it runs outside any transaction: a failure leaves
        the migration half applied.
    """,
    fix="Remove the inner `BEGIN`/`COMMIT` pair, or use `SAVEPOINT` for a nested scope.",
    bad="BEGIN;\nBEGIN;\nALTER TABLE users ADD COLUMN nickname text;\nCOMMIT;\nCOMMIT;",
    good="BEGIN;\nALTER TABLE users ADD COLUMN nickname text;\nCOMMIT;",
    heads=("BEGIN", "START"),
)
def nested_transaction(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    if _is_tx_open(stmt) and ctx.explicit_tx_depth > 0:
        yield Hit(
            "BEGIN inside an open transaction is ignored; the next COMMIT ends the outer transaction",
            "remove the nested BEGIN/COMMIT pair (use SAVEPOINT for a nested scope)",
        )


@rule(
    id="transaction-control",
    severity=Severity.ERROR,
    family="transactions",
    summary="`END`, `ROLLBACK`, `ABORT`, `AND CHAIN`, `PREPARE TRANSACTION` or another transaction control the runner cannot keep atomic.",
    why="""
        The runner applies a migration in one transaction with its history row, so it applies whole
        or leaves nothing, and a dry run rolls everything back. A `COMMIT`/`END` outside a `BEGIN`
        block, a `ROLLBACK`/`ABORT`, `COMMIT AND CHAIN`, `PREPARE TRANSACTION` or a `BEGIN` with its
        own isolation level would end that transaction part-way: what ran before it stays without
        a history row, and a dry run would commit. The runner refuses such a file before running it;
        plain `BEGIN ... COMMIT` blocks are fine (the runner drops them and runs the file in its
        own transaction).
    """,
    fix="""
        Remove the statement: the runner rolls the whole migration back when a statement fails.
        Split the migration where it must commit part-way, or mark it `-- guard: no-transaction`
        if it truly manages its own transactions.
    """,
    bad="CREATE TABLE audit_log (id bigint);\nEND;",
    good="BEGIN;\nCREATE TABLE audit_log (id bigint);\nCOMMIT;",
    scope="file",
)
def transaction_control(statements: Sequence[Statement], ctx: FileContext) -> Iterator[Hit]:
    from guard.txcontrol import block_problem, own_transactions_problem, tx_controls

    controls = tx_controls(list(statements))
    if not controls:
        return
    own = ctx.directives.no_transaction or ctx.migration.transaction is False or not ctx.settings.transaction
    problem = own_transactions_problem(controls) if own else block_problem(controls)
    if problem is None or problem.unclosed:  # an open block is `uncommitted-transaction`
        return
    text = " ".join(problem.tx.stmt.text.split())[:80]
    yield Hit(f"`{text}` {problem.what}", problem.hint, line=problem.tx.stmt.line)


_BACKFILL_HEADS = ("UPDATE", "DELETE", "INSERT", "MERGE", "WITH")


@rule(
    id="hold-access-exclusive",
    severity=Severity.ERROR,
    family="transactions",
    summary="A data backfill in the same transaction that holds an ACCESS EXCLUSIVE lock.",
    why="""
        Locks are held until the transaction commits. After a statement takes ACCESS EXCLUSIVE on
        a table, every later statement in the same transaction extends the time that table is
        unreadable and unwritable: a data backfill (`UPDATE`/`DELETE`/`INSERT ... SELECT`) can take
        minutes, all of them an outage for that table.
    """,
    fix="""
        Commit the DDL first: put the backfill in its own migration, and backfill in small batches.
    """,
    bad="ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free';",
    good="ALTER TABLE users ADD COLUMN plan text;",
    heads=_BACKFILL_HEADS,
    lock=describe(ACCESS_EXCLUSIVE),
)
def hold_access_exclusive(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    held = ctx.access_exclusive_tables
    if not held or not ctx.in_transaction:
        return
    tables = ", ".join(sorted(held))
    if stmt.head in _BACKFILL_HEADS:
        if stmt.head == "INSERT" and "SELECT" not in stmt.words:
            return  # a literal VALUES insert is short
        if stmt.head == "WITH" and not {"UPDATE", "DELETE", "INSERT"} & set(stmt.words):
            return
        yield Hit(
            f"{stmt.head} runs while this transaction holds {describe(ACCESS_EXCLUSIVE)} on {tables}; "
            "the tables stay locked until the backfill finishes",
            "commit the DDL first: move the backfill into its own migration and run it in batches",
            lock=ACCESS_EXCLUSIVE,
        )
        return
