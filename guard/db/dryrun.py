"""Dry runs: each pending migration inside one outer transaction that is rolled back, with the
time it took and the relation locks it took (what production would feel).

On production without the hard lock, a migration that would take an ACCESS EXCLUSIVE
lock is refused: statically before anything runs (`predict_access_exclusive`), and
from `pg_locks` when a statement takes one the prediction missed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from guard.db.apply import LOCK_NOT_AVAILABLE, Outcome, quote_setting, statements_and_mode
from guard.db.execute import StatementFailure, run_statements
from guard.db.locks import BlockerWatch, held_locks, relation_oids

if TYPE_CHECKING:
    import psycopg

    from guard.config import Settings
    from guard.model import Migration


def predict_access_exclusive(migrations: Sequence[Migration], settings: Settings) -> str | None:
    """The first statement that would take an ACCESS EXCLUSIVE lock, as `id line N: text` (static)."""
    for m in migrations:
        statements, _ = statements_and_mode(m, "up", settings)
        for stmt in statements:
            w = stmt.words
            if (
                w[:2]
                in (("ALTER", "TABLE"), ("ALTER", "INDEX"), ("ALTER", "MATERIALIZED"), ("LOCK", "TABLE"))
                or w[:1] in (("TRUNCATE",), ("CLUSTER",), ("LOCK",))
                or (w[:1] == ("DROP",) and "CONCURRENTLY" not in w[:4])
                or (w[:1] == ("REINDEX",) and "CONCURRENTLY" not in w)
                or (w[:1] == ("VACUUM",) and "FULL" in w[:3])
                or (w[:3] == ("REFRESH", "MATERIALIZED", "VIEW") and "CONCURRENTLY" not in w[:4])
            ):
                return f"{m.id} line {stmt.line}: {' '.join(stmt.text.split())[:80]}"
    return None


def dry_run(
    conn: psycopg.Connection,
    migrations: list[Migration],
    settings: Settings,
    *,
    refuse_access_exclusive: bool,
    watch: BlockerWatch | None = None,
) -> list[Outcome]:
    """Run each migration inside one outer transaction (a savepoint each), then roll everything back.

    Later migrations see earlier ones, as they would in production. Reports per migration
    the outcome, time and relation locks taken; non-transactional ones are reported as such.
    With `refuse_access_exclusive`, a migration that takes an ACCESS EXCLUSIVE lock
    stops the dry run at once (its transaction is rolled back).
    """
    from guard.errors import SafetyError

    schema = settings.history_schema
    outcomes: list[Outcome] = []
    existing = relation_oids(conn)
    conn.execute(
        f"RESET ALL; BEGIN; SET LOCAL lock_timeout = '{quote_setting(settings.lock_timeout)}';"
        f" SET LOCAL statement_timeout = '{quote_setting(settings.statement_timeout)}'"
    )
    try:
        for m in migrations:
            statements, reason = statements_and_mode(m, "up", settings)
            outcome = Outcome(
                m.id, m.version, "up", "dry-run failed", reason is None, statements=len(statements)
            )
            outcomes.append(outcome)
            if reason is not None:
                outcome.status = "not dry-runnable"
                outcome.notes.append(f"cannot be dry-run inside a transaction ({reason}); not executed")
                continue
            before = set(held_locks(conn, schema, existing))
            conn.execute("SAVEPOINT guard_dry_run")
            started = time.perf_counter()
            try:
                run_statements(conn, statements)
            except StatementFailure as failure:
                outcome.duration_ms = (time.perf_counter() - started) * 1000
                outcome.error, outcome.line, outcome.completed = (
                    failure.error,
                    failure.line,
                    failure.completed,
                )
                if watch is not None and failure.sqlstate == LOCK_NOT_AVAILABLE:
                    outcome.blockers = watch.take()
                conn.execute("ROLLBACK TO SAVEPOINT guard_dry_run")
                continue
            outcome.duration_ms = (time.perf_counter() - started) * 1000
            outcome.completed = len(statements)
            outcome.status = "dry-run ok"
            outcome.locks = [lk for lk in held_locks(conn, schema, existing) if lk not in before]
            if refuse_access_exclusive and any(mode == "ACCESS EXCLUSIVE" for mode, _ in outcome.locks):
                tables = ", ".join(r for mode, r in outcome.locks if mode == "ACCESS EXCLUSIVE")
                raise SafetyError(
                    f"dry run of {m.id} takes ACCESS EXCLUSIVE locks on production ({tables}); stopped and "
                    "rolled back",
                    "set CONFIRM_PROD_MIGRATE=YES in the process environment to dry-run it on production, "
                    "or dry-run against a copy",
                )
    finally:
        if not conn.closed:
            conn.execute("ROLLBACK")
    return outcomes
