"""A runner session: the runner lock and the work lock held, the history tables present,
and every audit row of one run tagged with its run id.

The runner lock is session-level and lives on a connection of its own (see
`guard.db.locks`), so a `CREATE INDEX CONCURRENTLY` never waits on it; both locks
are released in `__exit__`, and Postgres drops them anyway when a killed runner's
backend ends.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from guard import __version__
from guard.db.history import ensure_tables, write_audit
from guard.db.locks import acquire, lock_key, release
from guard.db.pgerror import pg_message
from guard.errors import DatabaseError, GuardError, LockBusyError

if TYPE_CHECKING:
    import psycopg

    from guard.config import Settings


@dataclass
class RunnerContext:
    """Everything a run needs: two autocommit connections (work + lock) and who is running it."""

    conn: psycopg.Connection
    lock_conn: psycopg.Connection
    settings: Settings
    #: Client machine name recorded in `applied_by` (`dbuser@host`).
    host: str = ""
    out: Callable[[str], None] = lambda line: None
    tool_version: str = __version__
    #: The environment the gates confirmed (the marker matched it): where the lint gate and the
    #: contract window bind depends on it. Production unless told otherwise, so gates fail closed;
    #: a tampered audit trail refuses the run on prod and is re-armed with a warning elsewhere.
    env: str = "prod"
    #: Opens a fresh autocommit connection to the same database: audit rows are written on it
    #: when the lock connection is lost, so the outcome of a run is recorded all the same.
    reconnect: Callable[[], psycopg.Connection] | None = None


class Session:
    """Runner lock + work lock held, history tables present, audit rows tagged with one run id."""

    def __init__(
        self,
        ctx: RunnerContext,
        action: str,
        target: str | None = None,
        *,
        read_only: bool = False,
        check_trail: bool = True,
    ) -> None:
        self.ctx = ctx
        #: A dry run: never create the history tables; audit only where the audit table exists.
        self.read_only = read_only
        self._can_audit = True
        self.check_trail = check_trail
        self.action = action
        self.target = target
        self.run_id = uuid.uuid4().hex
        self.schema = ctx.settings.history_schema
        self.actor = ""
        self._keys: list[tuple[psycopg.Connection, int]] = []
        #: Set once an `interrupted` row is written, so `__exit__` does not write a second one.
        self.interrupt_audited = False

    def __enter__(self) -> Session:
        ctx = self.ctx
        wait = ctx.settings.runner_lock_wait_seconds
        try:
            row = ctx.conn.execute("SELECT current_user").fetchone()
            self.actor = f"{row[0] if row else '?'}@{ctx.host or 'unknown host'}"
            for conn, role, what in (
                (ctx.lock_conn, "runner", "the migration runner lock"),
                (
                    ctx.conn,
                    "work",
                    "the migration work lock (a previous runner's statement is still running)",
                ),
            ):
                key = lock_key(self.schema, role)
                acquire(conn, key, wait, what=what, out=ctx.out)
                self._keys.append((conn, key))
            if self.check_trail:
                self._check_trail()
            if read_only := self.read_only:
                from guard.db.history import audit_exists

                self._can_audit = audit_exists(ctx.conn, self.schema)
            if not read_only:
                ensure_tables(ctx.conn, self.schema)
        except LockBusyError as exc:
            self._release()
            self._audit_busy(exc)
            raise
        except BaseException:
            self._release()
            raise
        return self

    def _check_trail(self) -> None:
        """Tampering refuses (prod) or is re-armed with a warning; an older trail is armed."""
        from guard.db.audit_guard import check_before_run
        from guard.db.hardlock import PROD

        check_before_run(
            self.ctx.conn,
            self.schema,
            strict=self.ctx.env == PROD,
            writes=not self.read_only,
            action=self.action,
            record=lambda action, outcome, error: self.audit(outcome, (), error, action=action),
            out=self.ctx.out,
        )

    def _audit_busy(self, exc: LockBusyError) -> None:
        """A run refused because another holds the lock is an attempt too: record it when the
        audit table exists (creating it would race the holder's DDL)."""
        import psycopg

        from guard.db.history import audit_exists

        with contextlib.suppress(psycopg.Error, GuardError):
            if audit_exists(self.ctx.lock_conn, self.schema):
                self.audit("refused", (), exc.message)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if isinstance(exc, KeyboardInterrupt) and not self.interrupt_audited:
                self.audit_interrupted(exc, ())
        finally:
            self._release()

    def audit_interrupted(self, exc: KeyboardInterrupt, attempted: Sequence[str], where: str = "") -> None:
        """Record that a signal stopped the run (best effort: the signal wins over a failed write)."""
        import psycopg

        from guard.errors import signal_name

        self.interrupt_audited = True
        with contextlib.suppress(psycopg.Error, GuardError):
            self.audit("interrupted", attempted, f"interrupted by {signal_name(exc)}{where}")

    def _release(self) -> None:
        for conn, key in reversed(self._keys):
            release(conn, key)
        self._keys.clear()

    def audit(
        self,
        outcome: str,
        attempted: Sequence[str] = (),
        error: str | None = None,
        *,
        action: str | None = None,
    ) -> None:
        """Append an audit row on the lock connection (autocommit: it survives any rollback);
        `action` defaults to the session's.

        A read-only session on a database without the audit table writes nothing."""
        import psycopg

        if not self._can_audit:
            return

        def write(conn: psycopg.Connection) -> None:
            write_audit(
                conn,
                self.schema,
                run_id=self.run_id,
                actor=self.actor,
                action=action or self.action,
                target=self.target,
                attempted=attempted,
                outcome=outcome,
                error=error,
                tool_version=self.ctx.tool_version,
            )

        lock_conn = self.ctx.lock_conn
        try:
            write(lock_conn)
            return
        except psycopg.Error as exc:
            if not (lock_conn.closed or lock_conn.broken) or self.ctx.reconnect is None:
                raise DatabaseError(
                    f"could not write the audit row ({outcome}): {pg_message(exc)}",
                    "the database stays at a migration boundary; check the connection and run again",
                ) from None
        # The runner lock's connection is gone (and the lock with it): record on a fresh one.
        try:
            with self.ctx.reconnect() as fresh:
                write(fresh)
        except (psycopg.Error, GuardError) as exc:
            detail = exc.message if isinstance(exc, GuardError) else pg_message(exc)
            raise DatabaseError(
                f"could not write the audit row ({outcome}): the runner lock connection was lost and "
                f"a fresh connection failed ({detail})",
                "check the database is up; `migration-guard status` shows what is applied",
            ) from None

    def refuse(self, exc: GuardError, attempted: Sequence[str] = ()) -> GuardError:
        """Audit a refusal and hand the error back to raise."""
        self.audit("refused", attempted, exc.message)
        return exc
