"""What happened to one migration (applied, rolled back, failed or dry-run), in the shape every
report renders, and the exception that carries it when a migration fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guard.db.locks import Blocker
from guard.db.lockuse import LockUse


@dataclass
class Outcome:
    """What happened to one migration (up, down or dry run)."""

    migration: str
    version: str
    direction: str  # "up" | "down"
    status: str  # applied | rolled back | failed | dry-run ok | dry-run failed | not dry-runnable
    transactional: bool
    duration_ms: float = 0.0
    statements: int = 0
    completed: int = 0
    error: str | None = None
    line: int | None = None
    attempts: int = 1
    blockers: list[Blocker] = field(default_factory=list)
    #: Dry runs: the table locks the migration needs (see `guard.db.lockuse`).
    locks: list[LockUse] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def headline(self) -> str:
        """The outcome's line in a text report: `dry-run ok       1_users  3 ms` (and the attempts
        when it took more than one); a dry run prints it as soon as the migration was tried."""
        line = f"{self.status:16} {self.migration}  {self.duration_ms:.0f} ms"
        return line + (f"  ({self.attempts} attempts)" if self.attempts > 1 else "")

    def as_dict(self) -> dict[str, Any]:
        """JSON shape for migrate/rollback output."""
        return {
            "migration": self.migration,
            "version": self.version,
            "direction": self.direction,
            "status": self.status,
            "transactional": self.transactional,
            "duration_ms": round(self.duration_ms, 3),
            "statements": self.statements,
            "completed": self.completed,
            "error": self.error,
            "line": self.line,
            "attempts": self.attempts,
            "blockers": [b.as_dict() for b in self.blockers],
            "locks": [u.as_dict() for u in self.locks],
            "notes": self.notes,
        }


class MigrationFailed(Exception):
    """A migration failed; `outcome` says where and what stays applied."""

    def __init__(self, outcome: Outcome, message: str, hint: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message
        self.hint = hint
