"""What a migrate / rollback / dry run did (`RunReport`), and how its failures end: an audited
`RunFailed` carrying the report so far, a lost runner lock (`LockLost`), or a signal
(audited as `interrupted`, then re-raised so the CLI exits 128 + the signal number)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from guard.db.apply import MigrationFailed, Outcome
from guard.db.contract import ContractWait
from guard.db.plan import Plan
from guard.db.session import Session
from guard.errors import DatabaseError, GuardError


class RunFailed(GuardError):
    """A migration failed or the run was refused; `report` holds what was done before."""

    def __init__(self, message: str, hint: str | None, report: RunReport) -> None:
        super().__init__(message, hint)
        self.report = report


class LockLost(DatabaseError):
    """The runner lock's connection was lost mid-run: the run stopped at a migration boundary."""


@dataclass
class RunReport:
    """What a migrate / rollback / dry run did."""

    action: str
    run_id: str
    plan: Plan | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    #: The contract that waits for its window (it and what is behind it were not applied).
    wait: ContractWait | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of migrate/rollback output."""
        return {
            "action": self.action,
            "run_id": self.run_id,
            "outcomes": [o.as_dict() for o in self.outcomes],
            "notes": self.notes,
            "error": self.error,
            "pending": [m.id for m in self.plan.pending] if self.plan else [],
            "waiting": self.wait.as_dict() if self.wait is not None else None,
        }


@contextlib.contextmanager
def failures_audited(
    session: Session, ids: list[str], report: RunReport, lost_hint: str, *, dry: bool = False
) -> Iterator[None]:
    """Turn a failed migration or a lost connection into an audited `RunFailed` carrying the report so far.

    A dry run keeps its outcomes until the end and rolls back each migration it tries, so an
    interrupted one says that nothing was applied rather than counting migrations."""
    import psycopg

    try:
        yield
    except KeyboardInterrupt as exc:
        if dry:
            session.audit_interrupted(exc, ids, " during a dry run")
            session.ctx.out(
                "dry run stopped; nothing was applied (a dry run rolls back every migration it tries)"
            )
            raise
        done = len(report.outcomes)
        where = f" during {ids[done]}" if done < len(ids) else ""
        where += f" after {done} of {len(ids)} migration(s) completed"
        session.audit_interrupted(exc, ids, where)
        session.ctx.out(f"stopped{where}; `migration-guard status` shows what is applied")
        raise
    except MigrationFailed as failed:
        report.outcomes.append(failed.outcome)
        report.error = failed.message
        try:
            session.audit("failed", ids, failed.message)
        except DatabaseError as exc:
            # Keep the migration's own hint: it says what stays applied (maybe part of a migration).
            raise RunFailed(f"{failed.message}; {exc.message}", failed.hint, report) from None
        raise RunFailed(failed.message, failed.hint, report) from None
    except psycopg.Error as exc:
        report.error = _lost(exc)
        # The connection that writes the audit may be the one that was lost.
        with contextlib.suppress(GuardError):
            session.audit("failed", ids, report.error)
        raise RunFailed(report.error, lost_hint, report) from None


def _lost(exc: Exception) -> str:
    from guard.db.connect import redact
    from guard.db.pgerror import pg_message

    return f"database connection lost or failed: {redact(pg_message(exc))}"
