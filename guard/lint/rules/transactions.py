"""Transaction rules: statements Postgres refuses inside a transaction block, unbalanced and
nested `BEGIN`, `ALTER TYPE ... ADD VALUE` in a transaction before Postgres 12, and work done
while an ACCESS EXCLUSIVE lock is held.

How a file runs: an explicit `BEGIN` opens a transaction block; otherwise the runner
wraps the whole file in one transaction when it can (setting `transaction`, default
true), and runs it statement by statement when the file contains a statement that
cannot run in a transaction (`guard.sql.outside_tx`, the one list the runner reads too).
Prisma and other script runners send the file as one multi-statement query, which
Postgres runs as one implicit transaction. So a `CONCURRENTLY` statement is safe alone
in its file and broken (or non-atomic) next to other statements.

Every rule here reads the statement model only (`stmt.fact`, `guard.sql.facts`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from guard.lint.context import FileContext
from guard.lint.locks import ACCESS_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, describe
from guard.lint.registry import rule
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql import facts as f
from guard.sql.outside_tx import refused_in_transaction

#: Facts that change nothing and may sit next to a statement that cannot run in a transaction.
_HARMLESS_NEIGHBOURS = (f.Setting, f.Transaction)
#: Layouts whose own tool runs each migration in a transaction of its own (unless told otherwise).
WRAPPING_TOOLS = {"flyway": "Flyway", "dbmate": "dbmate"}


def _opens(fact: f.Fact) -> bool:
    return isinstance(fact, f.Transaction) and fact.action == "begin"


def _closes(fact: f.Fact) -> bool:
    return isinstance(fact, f.Transaction) and fact.action in ("commit", "rollback")


def _depths(statements: Sequence[Statement]) -> list[int]:
    """Explicit BEGIN depth before each statement."""
    out, depth = [], 0
    for stmt in statements:
        out.append(depth)
        fact = stmt.fact
        if _opens(fact):
            depth = 1  # Postgres does not nest blocks: a BEGIN inside one only warns
        elif _closes(fact):
            depth = 0
    return out


def _harmless(fact: f.Fact) -> bool:
    return isinstance(fact, _HARMLESS_NEIGHBOURS) or (isinstance(fact, f.Harmless) and fact.verb == "show")


def _out_of_tx_problems(
    statements: Sequence[Statement], ctx: FileContext, wanted: Sequence[Statement]
) -> Iterator[tuple[Statement, str]]:
    """(statement, why) for each `wanted` statement that will run inside a transaction."""
    depths = _depths(statements)
    chosen = {s.index for s in wanted}
    others = [s for s in statements if s.index not in chosen and not _harmless(s.fact)]
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


_OWN_MIGRATION = "move it into a migration of its own, marked `-- guard: no-transaction`"


@rule(
    id="concurrent-in-transaction",
    severity=Severity.ERROR,
    family="transactions",
    summary="A statement Postgres refuses inside a transaction (`CREATE/DROP INDEX CONCURRENTLY`, `REINDEX CONCURRENTLY`, `DETACH ... CONCURRENTLY`, `VACUUM`, `CREATE DATABASE`, ...) inside one.",
    why="""
        Postgres refuses some statements inside a transaction block (`cannot run inside a
        transaction block`): `CREATE/DROP INDEX CONCURRENTLY`, `REINDEX CONCURRENTLY` (and
        `REINDEX SCHEMA/DATABASE/SYSTEM`), `ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY`,
        `VACUUM`, `CLUSTER` of every table, `CREATE/DROP DATABASE`, `CREATE/DROP TABLESPACE`,
        `ALTER DATABASE ... SET TABLESPACE` and `ALTER SYSTEM`; the deploy fails. That happens inside
        an explicit `BEGIN`, and also when the statement shares its file with other statements:
        Prisma and most script runners send a file as one query, which Postgres runs as one implicit
        transaction. (`REFRESH MATERIALIZED VIEW CONCURRENTLY` runs fine in a transaction.)
    """,
    fix="""
        Put each such statement in a migration of its own, outside any `BEGIN`, and mark it
        `-- guard: no-transaction`.
    """,
    bad="BEGIN;\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\nCOMMIT;",
    good="-- guard: no-transaction\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    lock=describe(SHARE_UPDATE_EXCLUSIVE),
    scope="file",
)
def concurrent_in_transaction(statements: Sequence[Statement], ctx: FileContext) -> Iterator[Hit]:
    # ADD VALUE before 12 is `enum-value-in-transaction`'s finding.
    refused = {
        s.index: what
        for s in statements
        if not isinstance(s.fact, f.AlterEnum) and (what := refused_in_transaction(s.fact)) is not None
    }
    if not refused:
        return
    wanted = [s for s in statements if s.index in refused]
    for stmt, why in _out_of_tx_problems(statements, ctx, wanted):
        yield Hit(
            f"{refused[stmt.index]} cannot run inside a transaction, and {why}",
            _OWN_MIGRATION,
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
    wanted = [s for s in statements if isinstance(s.fact, f.AlterEnum)]
    for stmt, why in _out_of_tx_problems(statements, ctx, wanted):
        yield Hit(
            f"ALTER TYPE ... ADD VALUE cannot run inside a transaction on Postgres {ctx.pg_version}, and {why}",
            _OWN_MIGRATION,
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
        fact = stmt.fact
        if _opens(fact):
            opened = opened or stmt  # a nested BEGIN is ignored by Postgres; the first COMMIT ends the block
        elif _closes(fact):
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
    summary="`BEGIN` inside a transaction that is already open: a `BEGIN` block, or a Flyway/dbmate migration (which that tool already runs in a transaction).",
    why="""
        Postgres ignores a nested `BEGIN` (with only a warning), so the first `COMMIT` commits the
        outer transaction and everything after it runs outside it: a failure leaves the migration
        half applied. Flyway and dbmate already run each migration in a transaction of their own, so
        a `BEGIN ... COMMIT` in such a migration is nested: its `COMMIT` ends the tool's transaction
        part-way, and the rest of the file and the tool's history row run in another one.
        (migration-guard's own runner drops the file's `BEGIN`/`COMMIT` and runs it in one transaction.)
    """,
    fix="Remove the inner `BEGIN`/`COMMIT` pair (Flyway and dbmate need none), or use `SAVEPOINT` for a nested scope.",
    bad="BEGIN;\nBEGIN;\nALTER TABLE users ADD COLUMN nickname text;\nCOMMIT;\nCOMMIT;",
    good="BEGIN;\nALTER TABLE users ADD COLUMN nickname text;\nCOMMIT;",
    facts=(f.Transaction,),
)
def nested_transaction(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    if not _opens(stmt.fact):
        return
    if ctx.explicit_tx_depth > 0:
        yield Hit(
            "BEGIN inside an open transaction is ignored; the next COMMIT ends the outer transaction",
            "remove the nested BEGIN/COMMIT pair (use SAVEPOINT for a nested scope)",
        )
        return
    tool = WRAPPING_TOOLS.get(ctx.migration.layout)
    if tool is not None and ctx.runner_wraps:
        yield Hit(
            f"{tool} already runs this migration in a transaction, so this BEGIN is nested: Postgres ignores "
            f"it (with a warning) and the COMMIT that closes it commits {tool}'s transaction part-way; what "
            f"follows it, and {tool}'s history row, run in another transaction, so a failure leaves the "
            "migration half applied (migration-guard's runner drops the pair and runs the file in one transaction)",
            f"remove the BEGIN/COMMIT pair: {tool} already runs the migration in one transaction",
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
        plain `BEGIN ... COMMIT` blocks are fine for the runner (it drops them and runs the file in
        its own transaction), but not for Flyway or dbmate, which nest them (`nested-transaction`).
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
    fact = problem.tx.stmt.fact
    assert isinstance(fact, f.Transaction)
    shown = " ".join((fact.keyword or fact.action.upper(), *fact.modes))
    yield Hit(f"`{shown}` {problem.what}", problem.hint, line=problem.tx.stmt.line)


@rule(
    id="hold-access-exclusive",
    severity=Severity.ERROR,
    family="transactions",
    summary="A data backfill in the same transaction that holds an ACCESS EXCLUSIVE lock.",
    why="""
        Locks are held until the transaction commits. After a statement takes ACCESS EXCLUSIVE on
        a table, every later statement in the same transaction extends the time that table is
        unreadable and unwritable: a data backfill (`UPDATE`/`DELETE`/`INSERT ... SELECT`) can take
        minutes, all of them an outage for that table. Reported once per transaction that holds
        the lock, counting its backfills.
    """,
    fix="""
        Commit the DDL first: put the backfill in its own migration, and backfill in small batches.
    """,
    bad="ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free';",
    good="ALTER TABLE users ADD COLUMN plan text;",
    lock=describe(ACCESS_EXCLUSIVE),
    scope="file",
)
def hold_access_exclusive(statements: Sequence[Statement], ctx: FileContext) -> Iterator[Hit]:
    spans: dict[int, list[tuple[Statement, frozenset[str]]]] = {}
    for span, stmt, held in ctx.under_access_exclusive:
        fact = stmt.fact
        if isinstance(fact, f.Write) or (isinstance(fact, f.Insert) and fact.select):
            spans.setdefault(span, []).append((stmt, held))
    for backfills in spans.values():
        first = backfills[0][0]
        tables = ", ".join(sorted(set().union(*(held for _, held in backfills))))
        n = len(backfills)
        what = f"{n} backfill statements (lines {', '.join(str(s.line) for s, _ in backfills[:5])}" + (
            ", ...)" if n > 5 else ")"
        )
        if n == 1:
            what = f"a {_verb(first.fact)} backfill"
        yield Hit(
            f"{what} run{'s' if n == 1 else ''} while this transaction holds {describe(ACCESS_EXCLUSIVE)} "
            f"on {tables}; the tables stay locked until the transaction ends",
            "commit the DDL first: move the backfill into its own migration and run it in batches",
            lock=ACCESS_EXCLUSIVE,
            line=first.line,
        )


def _verb(fact: f.Fact) -> str:
    return fact.verb.upper() if isinstance(fact, f.Write) else "INSERT ... SELECT"
