"""Run a non-transactional migration statement by statement so that history and effect agree.

- A statement Postgres lets run in a transaction runs in one with its progress update
  (`statements_done`), committed in the same round trip: killed or cut off anywhere, the
  statement and its progress are both there or both gone, so a resume never runs it twice.
- A file's own `BEGIN ... COMMIT`: the progress update joins the file's transaction just
  before its `COMMIT`.
- A statement that cannot run in a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...)
  is first recorded as running (`statement_running`); when a run stopped with one running,
  the next run asks the catalog whether it took effect (`guard.db.inflight`) before
  anything else.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from guard import txcontrol
from guard.db import inflight
from guard.db.execute import StatementFailure, needs_autocommit, refuse_open_transaction, run_statements
from guard.db.history import (
    APPLIED,
    PARTIAL,
    PARTIAL_DOWN,
    history_delete_sql,
    history_insert_sql,
    progress_sql,
    set_progress,
)
from guard.db.indexes import creates_index, leftovers_for
from guard.db.outcome import MigrationFailed, Outcome
from guard.errors import SafetyError

if TYPE_CHECKING:
    import psycopg

    from guard.db.apply import Executor
    from guard.model import Migration
    from guard.parsing import Statement

LOCK_NOT_AVAILABLE = "55P03"
#: "cannot run inside a transaction block": a statement the word checks did not foresee.
ACTIVE_SQL_TRANSACTION = "25001"
#: What commits or opens another transaction than the file's own: never run as the file's control.
_OTHER_TRANSACTIONS = frozenset({txcontrol.PREPARE, txcontrol.COMMIT_PREPARED, txcontrol.ROLLBACK_PREPARED})


def _commits(stmt: Statement) -> bool:
    """The file's own `COMMIT` / `END` (not `COMMIT PREPARED`, which commits another transaction)."""
    tx = txcontrol.read_tx_control(stmt)
    return tx is not None and tx.kind in (txcontrol.COMMIT, txcontrol.COMMIT_CHAIN)


def _tx_control(stmt: Statement) -> bool:
    tx = txcontrol.read_tx_control(stmt)
    return tx is not None and tx.kind not in _OTHER_TRANSACTIONS


def _kept(done: int, total: int) -> str:
    if done == 0:
        return "nothing of it is applied"
    if done == 1:
        return f"statement 1 of {total} stays applied"
    return f"statements 1-{done} of {total} stay applied"


class Stepwise:
    """One run of one migration's statements outside a single transaction."""

    def __init__(
        self, ex: Executor, migration: Migration, statements: list[Statement], direction: str, reason: str
    ) -> None:
        self.ex = ex
        self.conn: psycopg.Connection = ex.conn
        self.schema = ex.settings.history_schema
        self.migration = migration
        self.statements = statements
        self.direction = direction
        self.status = PARTIAL if direction == "up" else PARTIAL_DOWN
        self.outcome = Outcome(
            migration.id, migration.version, direction, "failed", False, statements=len(statements)
        )
        self.outcome.notes.append(f"ran statement by statement: {reason}")
        self.done = 0
        #: The statement sent outside any transaction whose effect is not yet recorded.
        self.running: int | None = None
        self.started = time.perf_counter()

    # -- progress --------------------------------------------------------------------------------

    def _progress(self, done: int, running: int | None = None) -> str:
        return progress_sql(self.conn, self.schema, self.migration.key, self.status, done, running)

    def _idle(self) -> bool:
        from psycopg import pq

        return self.conn.info.transaction_status == pq.TransactionStatus.IDLE

    # -- the run ---------------------------------------------------------------------------------

    def run(self, start: int, in_flight: int | None) -> Outcome:
        """Run from statement `start` (0-based); `in_flight` is the history's running statement."""
        import psycopg

        try:
            return self._run(start, in_flight)
        except psycopg.Error as exc:
            # E.g. the progress update failed inside a statement's transaction: roll both back.
            with contextlib.suppress(psycopg.Error):
                self.ex._rollback_if_open()
            self._finish_failed()
            raise MigrationFailed(self.outcome, self._lost_message(exc), self._lost_hint()) from None

    def _run(self, start: int, in_flight: int | None) -> Outcome:
        m, total = self.migration, len(self.statements)
        if self.direction == "up" and start == 0:
            self.conn.execute(
                history_insert_sql(
                    self.conn,
                    self.schema,
                    m,
                    status=PARTIAL,
                    statements_done=0,
                    duration_ms=None,
                    host=self.ex.host,
                    tool_version=self.ex.tool_version,
                )
            )
        self.conn.execute(self.ex._session_prelude)
        self.done = start
        if in_flight is not None and in_flight == start + 1 and start < total:
            self._settle_in_flight(start)
        if self.done:
            self.outcome.notes.append(
                f"resumed at statement {self.done + 1}; statements 1-{self.done} had run before"
            )
        for index in range(self.done, total):
            self._step(index)
        try:
            refuse_open_transaction(self.conn, self.statements)
        except StatementFailure as failure:
            # Rolled back: only what committed before the unfinished BEGIN stays applied.
            self._finish_failed(failure)
            raise MigrationFailed(
                self.outcome,
                f"{m.id} ({self.direction}, not transactional) failed at line {failure.line}: "
                f"{failure.error}; {_kept(self.done, total)}",
                f"history marks it {self.status} ({self.done}/{total}); end the file with COMMIT "
                f"and run again: it resumes at statement {self.done + 1}",
            ) from None
        self.outcome.duration_ms = (time.perf_counter() - self.started) * 1000
        if self.direction == "up":
            self.conn.execute(
                history_insert_sql(
                    self.conn,
                    self.schema,
                    m,
                    status=APPLIED,
                    statements_done=total,
                    duration_ms=self.outcome.duration_ms,
                    host=self.ex.host,
                    tool_version=self.ex.tool_version,
                )
            )
            self.outcome.status = "applied"
        else:
            self.conn.execute(history_delete_sql(self.conn, self.schema, m.key))
            self.outcome.status = "rolled back"
        self.outcome.completed = total
        return self.outcome

    def _settle_in_flight(self, index: int) -> None:
        """Statement `index` was running outside a transaction when a run stopped: did it take effect?"""
        stmt, n, m = self.statements[index], index + 1, self.migration
        verdict = inflight.check(self.conn, stmt)
        where = f"statement {n} (line {stmt.line}) was running outside a transaction when a run stopped"
        if verdict.action == inflight.DONE:
            set_progress(self.conn, self.schema, m.key, self.status, n)
            self.done = n
            self.outcome.notes.append(f"{where}; {verdict.why}: counted as done")
        elif verdict.action == inflight.RERUN:
            self.outcome.notes.append(f"{where}; {verdict.why}: running it again")
        else:
            table = f'"{self.schema}".history'
            if verdict.fix:
                hint = f"run `{verdict.fix}` and migrate again (the catalog is checked again first)"
            else:
                hint = (
                    f"if it took effect, record it: `UPDATE {table} SET statements_done = {n}, "
                    f"statement_running = NULL WHERE version = '{m.key}';` if not: `UPDATE {table} SET "
                    f"statement_running = NULL WHERE version = '{m.key}';` then run again"
                )
            raise SafetyError(f"cannot resume {m.id}: {where}, and {verdict.why}", hint)

    def _step(self, index: int) -> None:
        stmt = self.statements[index]
        attempt = 0
        while True:
            try:
                self._execute(index, stmt)
                return
            except StatementFailure as failure:
                self.ex._rollback_if_open()
                if (
                    failure.sqlstate == LOCK_NOT_AVAILABLE
                    and not creates_index(stmt)
                    and self.ex._retry_wait(self.outcome, failure, attempt)
                ):
                    attempt += 1
                    continue
                raise self._failed(index, stmt, failure) from None

    def _execute(self, index: int, stmt: Statement) -> None:
        n, conn = index + 1, self.conn
        if not self._idle():
            # Inside the file's own transaction: progress joins it just before its COMMIT.
            commits = _commits(stmt)
            if commits:
                conn.execute(self._progress(n))
            run_statements(conn, [stmt])
            if self._idle():
                if not commits:  # the file's ROLLBACK: nothing of its transaction stays
                    conn.execute(self._progress(n))
                self.done = n
            return
        if _tx_control(stmt):
            run_statements(conn, [stmt])  # BEGIN opens the file's transaction; a stray END does nothing
        elif needs_autocommit([stmt], self.ex.settings.pg_version) is None and self._atomic(stmt, n):
            return
        else:
            self._alone(stmt, n)
        if self._idle() and self.done < n:
            conn.execute(self._progress(n))
            self.done = n

    def _atomic(self, stmt: Statement, n: int) -> bool:
        """Statement and progress in one transaction; False when Postgres refuses it in one."""
        conn = self.conn
        conn.execute("BEGIN")
        try:
            run_statements(conn, [stmt])
        except StatementFailure as failure:
            if failure.sqlstate != ACTIVE_SQL_TRANSACTION:
                raise
            conn.execute("ROLLBACK")
            return False
        if self._idle():
            # The statement ended the transaction itself (transaction control the word checks
            # missed): what it did is settled, so record it on its own.
            conn.execute(self._progress(n))
        else:
            conn.execute(self._progress(n) + "; COMMIT")
        self.done = n
        return True

    def _alone(self, stmt: Statement, n: int) -> None:
        """A statement that commits on its own: recorded as running first, as done after."""
        self.conn.execute(self._progress(self.done, n))
        self.running = n
        run_statements(self.conn, [stmt])
        self.conn.execute(self._progress(n))
        self.running, self.done = None, n

    # -- failures --------------------------------------------------------------------------------

    def _finish_failed(self, failure: StatementFailure | None = None) -> None:
        self.outcome.duration_ms = (time.perf_counter() - self.started) * 1000
        self.outcome.completed = self.done
        if failure is not None:
            self.outcome.error, self.outcome.line = failure.error, failure.line

    def _failed(self, index: int, stmt: Statement, failure: StatementFailure) -> MigrationFailed:
        self._finish_failed(failure)
        m, total, conn = self.migration, len(self.statements), self.conn
        lost = conn.closed or (failure.sqlstate or "").startswith(("08", "57P"))
        message = (
            f"{m.id} ({self.direction}, not transactional) failed at statement {index + 1} "
            f"(line {failure.line}): {failure.error}; {_kept(self.done, total)}"
        )
        hint = f"history marks it {self.status} ({self.done}/{total}); "
        fix = "fix the cause and run again"
        if self.running is not None and lost:
            message += (
                f"; database connection lost while statement {index + 1} ran outside a transaction: "
                "the next run checks in the catalog whether it took effect"
            )
        elif lost:
            message += "; database connection lost"
        else:
            if self.running is not None:
                # Postgres answered with an error: the statement did not take effect (a concurrent
                # index build may leave an INVALID index, reported below).
                set_progress(conn, self.schema, m.key, self.status, self.done)
                self.running = None
                left = [x for _, x in leftovers_for(conn, [stmt])]
                if left:
                    message += "; the failed build left INVALID index " + ", ".join(
                        f"{x.schema}.{x.name}" for x in left
                    )
                    fix = f"run `{' '.join(x.drop_sql for x in left)}`, fix the cause and run again"
            self.ex._refuse_environment(
                m, self.direction, failure, self.outcome, f"{_kept(self.done, total)} (history: {self.done})"
            )
        hint += f"{fix}: it resumes at statement {self.done + 1}"
        return MigrationFailed(self.outcome, message, hint)

    def _lost_message(self, exc: Exception) -> str:
        from guard.db.connect import redact

        return (
            f"{self.migration.id} ({self.direction}, not transactional): database connection lost or failed: "
            f"{redact(str(exc).strip())}; {_kept(self.done, len(self.statements))}"
        )

    def _lost_hint(self) -> str:
        command = "migrate" if self.direction == "up" else "rollback"
        return (
            f"history marks it {self.status} and holds every statement that committed; run "
            f"`migration-guard {command}` again: it resumes after them (a statement that was running "
            "outside a transaction is checked in the catalog first)"
        )
