"""Apply or undo ONE migration on the runner's connection (dry runs: `guard.db.dryrun`).

- Transactional (the default): one transaction holds the migration's statements and
  its history row (insert on up, delete on down), committed in the same round trip.
  A failure anywhere rolls both back, so the database stays at a migration boundary.
- Non-transactional (`CREATE INDEX CONCURRENTLY` and friends, the `no-transaction`
  directive, dbmate's `transaction:false`): statement by statement (`guard.db.stepwise`);
  the history row is `partial` with the count of statements done, recorded atomically
  with each statement where Postgres allows, so a failure says exactly what ran and a
  re-run resumes after it (checking in the catalog a statement that ran on its own).
- `lock_timeout` / `statement_timeout` are set for every migration; a lock timeout
  is retried with exponential backoff, naming the session that blocked it each time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from guard.db.execute import (
    StatementFailure,
    TransactionEnded,
    check_same_transaction,
    run_statements,
    transaction_token,
)
from guard.db.history import APPLIED, history_delete_sql, history_insert_sql
from guard.db.locks import BlockerWatch, parse_pg_duration
from guard.db.outcome import MigrationFailed, Outcome
from guard.db.txplan import prepare
from guard.db.txplan import statements_and_mode as statements_and_mode  # re-exported
from guard.parsing import Statement

if TYPE_CHECKING:
    import psycopg

    from guard.config import Settings
    from guard.model import Migration

LOCK_NOT_AVAILABLE = "55P03"


@dataclass
class Executor:
    """Runs migrations on `conn` with the settings' timeouts; `watch` reports blockers."""

    conn: psycopg.Connection
    settings: Settings
    host: str
    tool_version: str
    watch: BlockerWatch | None = None
    out: Callable[[str], None] = lambda line: None
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        s = self.settings
        parse_pg_duration(s.lock_timeout, "lock_timeout")
        parse_pg_duration(s.statement_timeout, "statement_timeout")
        # A session's own SETs must not leak into the next migration: start each one clean.
        reset = "RESET ALL"
        if self.conn.info.server_version >= 140000:
            # Postgres 14+: notice a vanished client (killed runner) mid-statement and end the
            # backend, instead of finishing a long statement nobody will commit.
            reset += "; SET client_connection_check_interval = '1s'"
        timeouts = f"lock_timeout = '{quote_setting(s.lock_timeout)}'; SET{{local}} statement_timeout = '{quote_setting(s.statement_timeout)}'"
        self._tx_prelude = f"{reset}; BEGIN; SET LOCAL " + timeouts.format(local=" LOCAL")
        self._session_prelude = f"{reset}; SET " + timeouts.format(local="")

    # -- helpers ---------------------------------------------------------------------------------

    def _rollback_if_open(self) -> None:
        from psycopg import pq

        if not self.conn.closed and self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            self.conn.execute("ROLLBACK")

    def _retry_wait(self, outcome: Outcome, failure: StatementFailure, attempt: int) -> bool:
        """After a lock timeout: report blockers, sleep with backoff; False when out of retries."""
        blockers = self.watch.take() if self.watch is not None else []
        outcome.blockers.extend(blockers)
        who = "; ".join(b.describe() for b in blockers) or "the blocking session was not caught"
        if attempt >= self.settings.lock_retries:
            self.out(f"  lock timeout at line {failure.line} ({who}); no retries left")
            return False
        delay = self.settings.lock_retry_backoff_seconds * (2**attempt)
        self.out(
            f"  lock timeout at line {failure.line} after {self.settings.lock_timeout} ({who}); "
            f"retry {attempt + 1}/{self.settings.lock_retries} in {delay:g}s"
        )
        self.sleep(delay)
        outcome.attempts += 1
        return True

    def _refuse_environment(
        self, migration: Migration, direction: str, failure: StatementFailure, outcome: Outcome, remains: str
    ) -> None:
        """Raise the failure as the environment problem it is when the server lacks an extension."""
        from guard.db.extensions import extension_problem

        if problem := extension_problem(self.conn, migration.id, direction, failure, remains):
            raise MigrationFailed(outcome, *problem) from None

    # -- transactional ---------------------------------------------------------------------------

    def run_in_transaction(
        self,
        migration: Migration,
        statements: list[Statement],
        direction: str,
        finish_sql: Callable[[float], str],
        notes: list[str] | None = None,
    ) -> Outcome:
        """Statements plus `finish_sql(duration_ms)` (the history change) in one transaction,
        committed in the same round trip, with lock retries. A statement that ends the
        transaction stops the run loudly (`TransactionEnded`: a bug, never silent)."""
        outcome = Outcome(
            migration.id, migration.version, direction, "failed", True, statements=len(statements)
        )
        outcome.notes.extend(notes or [])
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                self.conn.execute(self._tx_prelude)
                token = transaction_token(self.conn)
                run_statements(self.conn, statements, in_transaction=True)
                check_same_transaction(self.conn, token, statements)
                outcome.duration_ms = (time.perf_counter() - started) * 1000
                self.conn.execute(finish_sql(outcome.duration_ms) + "; COMMIT")
            except TransactionEnded as ended:
                self._rollback_if_open()
                outcome.error, outcome.line, outcome.completed = str(ended), ended.line, ended.completed
                raise MigrationFailed(
                    outcome,
                    f"{migration.id} ({direction}) stopped: {ended}; what ran before it may be committed "
                    "without a history row",
                    "compare the schema with the migration by hand before running again, and report this "
                    "as a bug: the file should have been refused before it ran",
                ) from None
            except StatementFailure as failure:
                outcome.duration_ms = (time.perf_counter() - started) * 1000
                self._rollback_if_open()
                if failure.sqlstate == LOCK_NOT_AVAILABLE and self._retry_wait(outcome, failure, attempt):
                    attempt += 1
                    continue
                outcome.error, outcome.line = failure.error, failure.line
                lost = "; database connection lost" if self.conn.closed else ""
                self._refuse_environment(
                    migration, direction, failure, outcome, "nothing of this migration remains"
                )
                raise MigrationFailed(
                    outcome,
                    f"{migration.id} ({direction}) failed at line {failure.line}: {failure.error}{lost}",
                    "nothing of this migration remains (its transaction was rolled back); fix it and run again"
                    + (
                        ", or raise lock_timeout / lock_retries"
                        if failure.sqlstate == LOCK_NOT_AVAILABLE
                        else ""
                    ),
                ) from None
            outcome.status = "applied" if direction == "up" else "rolled back"
            outcome.completed = len(statements)
            return outcome

    # -- statement by statement ------------------------------------------------------------------

    def run_autocommit(
        self,
        migration: Migration,
        statements: list[Statement],
        direction: str,
        start: int,
        reason: str,
        in_flight: int | None = None,
    ) -> Outcome:
        """Statement by statement outside one transaction, each statement's progress recorded with
        it (`guard.db.stepwise`); `in_flight` is the statement history says was running."""
        from guard.db.stepwise import Stepwise

        return Stepwise(self, migration, statements, direction, reason).run(start, in_flight)

    # -- entry points ----------------------------------------------------------------------------

    def up(self, migration: Migration, resume_from: int = 0, in_flight: int | None = None) -> Outcome:
        """Apply `migration` and record it in the history (resuming a partial run: see `run_autocommit`)."""
        prepared = prepare(migration, "up", self.settings)
        statements, reason = prepared.statements, prepared.reason
        if reason is not None:
            return self.run_autocommit(migration, statements, "up", resume_from, reason, in_flight)

        def finish(duration_ms: float) -> str:
            return history_insert_sql(
                self.conn,
                self.settings.history_schema,
                migration,
                status=APPLIED,
                statements_done=len(statements),
                duration_ms=round(duration_ms, 3),
                host=self.host,
                tool_version=self.tool_version,
            )

        return self.run_in_transaction(migration, statements, "up", finish, prepared.notes)

    def down(self, migration: Migration, resume_from: int = 0, in_flight: int | None = None) -> Outcome:
        """Undo `migration` with its down SQL and remove its history row."""
        prepared = prepare(migration, "down", self.settings)
        statements, reason = prepared.statements, prepared.reason
        if reason is not None:
            return self.run_autocommit(migration, statements, "down", resume_from, reason, in_flight)
        delete = history_delete_sql(self.conn, self.settings.history_schema, migration.key)
        return self.run_in_transaction(migration, statements, "down", lambda _ms: delete, prepared.notes)


def quote_setting(value: str) -> str:
    """A setting value for a `SET x = '...'` literal."""
    return value.replace("'", "''")
