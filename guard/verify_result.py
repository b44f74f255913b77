"""What a verification run found: each migration's outcome, the findings, and where the time went."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from guard.errors import GuardError
from guard.model import Finding, Severity

if TYPE_CHECKING:
    from guard.db.snapshot import Snapshot


@dataclass
class Outcome:
    """What happened to one migration: `ok`, `failed`, `applied` (prerequisite, not verified) or `not-reached`."""

    id: str
    status: str
    seconds: float = 0.0


@dataclass
class Timings:
    """Where the wall time went, in seconds."""

    server_start: float = 0.0
    setup: float = 0.0
    migrations: float = 0.0
    snapshots: float = 0.0
    data: float = 0.0
    rebuilds: float = 0.0
    #: How many catalog snapshots were taken.
    snapshot_count: int = 0

    def as_dict(self) -> dict[str, float]:
        """Rounded to milliseconds, for JSON."""
        return {k: round(v, 3) for k, v in self.__dict__.items()}


@dataclass
class VerifyResult:
    """Outcome of a verification run: per-migration status, findings in words, timings."""

    outcomes: list[Outcome] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    server: str = ""
    final_schema: Snapshot | None = None
    #: Whether every migration was applied (the final schema is the migrations' schema).
    complete: bool = False
    schema_checked: bool = False
    #: Why verification stopped early for the server's reasons (an extension it lacks): exit 2.
    environment_error: GuardError | None = None

    @property
    def exit_code(self) -> int:
        """0 when every migration round-trips (and the schema file matches), 1 when one does not,
        2 when the server stopped verification (what was verified before still stands)."""
        if self.environment_error is not None:
            return 2
        return 1 if any(f.severity >= Severity.ERROR for f in self.findings) else 0

    def count(self, status: str) -> int:
        """How many migrations ended with `status`."""
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self) -> dict[str, Any]:
        """Counts for text and JSON output."""
        return {
            "migrations": len(self.outcomes),
            "verified": self.count("ok") + self.count("failed"),
            "ok": self.count("ok"),
            "failed": self.count("failed"),
            "applied_only": self.count("applied"),
            "not_reached": self.count("not-reached"),
            "problems": len(self.findings),
            "schema_checked": self.schema_checked,
            "exit_code": self.exit_code,
        }
