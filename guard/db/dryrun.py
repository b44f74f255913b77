"""Dry runs: each pending migration inside one outer transaction that is rolled back, with the
time it took and, per migration, the table locks it needs (`guard.db.lockuse`).

A dry run never commits: every migration runs in the dry run's transaction (its own
`BEGIN`/`COMMIT` dropped by `guard.db.txplan`, which refuses any other transaction control
before anything runs); after each statement the connection must still be inside that
transaction, and after each migration inside the very same one, or the dry run stops.
Each outcome is handed on (`on_outcome`) as soon as its migration was tried, so a long dry
run shows its progress.

On production without the hard lock, `refuse_unpredicted_locks` refuses before anything
runs when a statement may take ACCESS EXCLUSIVE on an existing relation, or when its lock
cannot be told (fail closed); `pg_locks` is checked after every statement as a backstop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from guard.db.apply import LOCK_NOT_AVAILABLE, Outcome, quote_setting
from guard.db.execute import (
    StatementFailure,
    TransactionEnded,
    check_same_transaction,
    run_statements,
    transaction_token,
)
from guard.db.lockpredict import statement_locks
from guard.db.locks import BlockerWatch, relation_oids
from guard.db.lockuse import LockTracker, fill_sizes
from guard.db.txplan import Prepared, prepare
from guard.errors import SafetyError
from guard.lint.locks import ACCESS_EXCLUSIVE

if TYPE_CHECKING:
    import psycopg

    from guard.config import Settings
    from guard.model import Migration

_NO_LOCK_HINT = (
    "set CONFIRM_PROD_MIGRATE=YES in the process environment to dry-run it on production, "
    "or dry-run against a copy"
)


def refuse_unpredicted_locks(
    conn: psycopg.Connection, migrations: Sequence[Migration], settings: Settings
) -> None:
    """Raise `SafetyError` naming the first statement that may take ACCESS EXCLUSIVE on a relation
    that exists now, or whose lock cannot be predicted; nothing has run yet."""
    for m in migrations:
        prepared = prepare(m, "up", settings)
        if prepared.reason is not None and not prepared.fits_in_transaction:
            continue  # not executed by a dry run
        for stmt in prepared.statements:
            text = " ".join(stmt.text.split())[:80]
            where = f"{m.id} line {stmt.line}: `{text}`"
            locks = statement_locks(stmt)
            if locks is None:
                raise SafetyError(
                    f"dry run refused: cannot tell which locks {where} takes, and the target is production",
                    _NO_LOCK_HINT,
                )
            for mode, name in locks:
                if mode == ACCESS_EXCLUSIVE and (name is None or _exists(conn, name)):
                    on = f" on {name}" if name else ""
                    raise SafetyError(
                        f"dry run refused: {where} takes an ACCESS EXCLUSIVE lock{on} and the target is "
                        "production",
                        _NO_LOCK_HINT,
                    )


def _exists(conn: psycopg.Connection, name: str) -> bool:
    import psycopg

    try:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    except psycopg.Error:
        return True  # cannot tell: fail closed
    return bool(row and row[0])


def dry_run(
    conn: psycopg.Connection,
    migrations: list[Migration],
    settings: Settings,
    *,
    refuse_access_exclusive: bool,
    watch: BlockerWatch | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run each migration inside one outer transaction (a savepoint each), then roll everything back.

    Later migrations see earlier ones, as they would in production. Reports per migration
    the outcome, time and the locks it needs. With `refuse_access_exclusive`, a statement
    that takes an ACCESS EXCLUSIVE lock on an existing relation stops the dry run at once.
    `on_outcome` gets each outcome as soon as its migration was tried, before the next one
    runs (the locks' rows and sizes are read only after the rollback, and filled in then).
    """
    schema = settings.history_schema
    prepared_all = [prepare(m, "up", settings) for m in migrations]  # refusals before anything runs
    outcomes: list[Outcome] = []
    existing = relation_oids(conn)
    conn.execute(
        f"RESET ALL; BEGIN; SET LOCAL lock_timeout = '{quote_setting(settings.lock_timeout)}';"
        f" SET LOCAL statement_timeout = '{quote_setting(settings.statement_timeout)}'"
    )
    try:
        token = transaction_token(conn)
        tracker = LockTracker(conn, schema, existing)
        for m, prepared in zip(migrations, prepared_all, strict=True):
            outcome = Outcome(
                m.id,
                m.version,
                "up",
                "dry-run failed",
                prepared.reason is None,
                statements=len(prepared.statements),
            )
            outcome.notes.extend(prepared.notes)
            outcomes.append(outcome)
            _try(conn, m, prepared, outcome, tracker, token, refuse_access_exclusive, watch)
            if on_outcome is not None:
                on_outcome(outcome)
    finally:
        if not conn.closed:
            conn.execute("ROLLBACK")
    fill_sizes(conn, [u for o in outcomes for u in o.locks])
    return outcomes


def _try(
    conn: psycopg.Connection,
    m: Migration,
    prepared: Prepared,
    outcome: Outcome,
    tracker: LockTracker,
    token: str,
    refuse_access_exclusive: bool,
    watch: BlockerWatch | None,
) -> None:
    """Dry-run one migration in its savepoint and fill in `outcome`; a failing statement rolls
    back to the savepoint and the dry run goes on."""
    statements = prepared.statements
    if prepared.reason is not None:
        if not prepared.fits_in_transaction:
            outcome.status = "not dry-runnable"
            outcome.notes.append(f"cannot be dry-run inside a transaction ({prepared.reason}); not executed")
            return
        outcome.notes.append(
            f"runs statement by statement when applied ({prepared.reason}); dry-run inside the dry "
            "run's transaction"
        )
    tracker.start_migration()
    conn.execute("SAVEPOINT guard_dry_run")
    started = time.perf_counter()
    try:
        for done, stmt in enumerate(statements):
            began = time.perf_counter()
            try:
                run_statements(conn, [stmt], in_transaction=True)
            except StatementFailure as failure:
                failure.completed = done
                raise
            new = tracker.after(stmt, (time.perf_counter() - began) * 1000)
            if refuse_access_exclusive and any(u.mode == ACCESS_EXCLUSIVE for u in new):
                tables = ", ".join(u.relation for u in new if u.mode == ACCESS_EXCLUSIVE)
                raise SafetyError(
                    f"dry run of {m.id} line {stmt.line} took an ACCESS EXCLUSIVE lock on production "
                    f"({tables}); stopped and rolled back",
                    _NO_LOCK_HINT,
                )
        check_same_transaction(conn, token, statements)
    except StatementFailure as failure:
        outcome.duration_ms = (time.perf_counter() - started) * 1000
        outcome.error, outcome.line, outcome.completed = failure.error, failure.line, failure.completed
        if watch is not None and failure.sqlstate == LOCK_NOT_AVAILABLE:
            outcome.blockers = watch.take()
        outcome.locks = tracker.result()
        conn.execute("ROLLBACK TO SAVEPOINT guard_dry_run")
        return
    except TransactionEnded as ended:
        raise SafetyError(
            f"dry run of {m.id} stopped: {ended} (a bug: the file should have been refused before "
            "running); what ran before it may have been committed",
            "check the database by hand and report this bug",
        ) from None
    outcome.duration_ms = (time.perf_counter() - started) * 1000
    outcome.completed = len(statements)
    outcome.status = "dry-run ok"
    outcome.locks = tracker.result()
