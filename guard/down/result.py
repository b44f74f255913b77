"""What `down` produced: one `Draft` per migration that needed a down, and the run's summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from guard.errors import GuardError

#: Draft statuses: `verified` (the round trip restores the schema), `irreversible` (the schema
#: cannot be restored whole; the draft says what stays), `refused` (no draft; `reason` says why).
STATUSES = ("verified", "irreversible", "refused")


@dataclass
class Draft:
    """The down drafted for one migration, or why none could be."""

    id: str
    #: Why the migration needed a down (`has no down migration`, `is empty`, a no-op, Hasura's stub).
    need: str
    status: str
    #: `inversion` or `catalog` (how the statements were found); "" when refused.
    method: str = ""
    #: The draft's text as it is written (header comments, directive, statements).
    sql: str = ""
    #: Why the draft cannot undo everything (the irreversible directive's reasons).
    irreversible: list[str] = field(default_factory=list)
    #: Why no draft was accepted (refused), or what was tried before the accepted one.
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    #: Where `--write` puts it (None: the layout has no down convention).
    target: Path | None = None
    written: bool = False

    def as_dict(self, shown_target: str | None) -> dict[str, Any]:
        """The JSON shape documented in docs/json-formats.md."""
        return {
            "id": self.id,
            "need": self.need,
            "status": self.status,
            "method": self.method or None,
            "target": shown_target,
            "written": self.written,
            "irreversible": list(self.irreversible),
            "reason": self.reason or None,
            "notes": list(self.notes),
            "sql": self.sql or None,
        }


@dataclass
class DownResult:
    """Every draft in apply order, with notices, the server used and timings."""

    drafts: list[Draft] = field(default_factory=list)
    #: Migrations whose down is a real one (left alone).
    with_down: int = 0
    notices: list[str] = field(default_factory=list)
    server: str = ""
    seconds: float = 0.0
    #: Why drafting stopped for the server's reasons (an extension it lacks): exit 2.
    environment_error: GuardError | None = None

    def count(self, status: str) -> int:
        """How many drafts ended with `status`."""
        return sum(1 for d in self.drafts if d.status == status)

    @property
    def exit_code(self) -> int:
        """0 when every migration that needed a down got a draft, 1 when one was refused, 2 when the
        server stopped the run."""
        if self.environment_error is not None:
            return 2
        return 1 if self.count("refused") else 0

    def summary(self) -> dict[str, Any]:
        """Counts for text and JSON output."""
        return {
            "needed": len(self.drafts),
            "drafted": self.count("verified") + self.count("irreversible"),
            "verified": self.count("verified"),
            "irreversible": sum(1 for d in self.drafts if d.status != "refused" and d.irreversible),
            "refused": self.count("refused"),
            "written": sum(1 for d in self.drafts if d.written),
            "with_down": self.with_down,
            "exit_code": self.exit_code,
        }
