"""Plain data records shared by every layer: migrations, statements, findings and rules."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from guard.lint.context import FileContext


class Severity(enum.IntEnum):
    """How serious a finding is; ordered so comparisons work (`>= Severity.ERROR`)."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Read `info`, `warning` or `error` (any case)."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}; use info, warning or error") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Migration:
    """One migration as found on disk, in any layout.

    `up_line` / `down_line` are the 1-based line in the file where the section
    starts (dbmate keeps both sections in one file), so findings point at the
    right editor line.
    """

    version: str
    name: str
    layout: str
    up_path: Path
    up_sql: str
    down_path: Path | None = None
    down_sql: str | None = None
    checksum: str = ""
    up_line: int = 1
    down_line: int = 1
    #: False when the layout itself says so (dbmate `transaction:false`); None = not stated.
    transaction: bool | None = None

    @property
    def id(self) -> str:
        """`<version>_<name>`, the way people refer to a migration."""
        return f"{self.version}_{self.name}" if self.name else self.version

    @property
    def key(self) -> str:
        """The identity the layout's own tool keys its history by.

        Prisma keys `_prisma_migrations` by folder name, so two folders may share a
        timestamp; every other supported tool keys by version.
        """
        return self.id if self.layout == "prisma" else self.version

    @property
    def version_key(self) -> tuple[int, ...]:
        """Numeric ordering key: `1.2.10` sorts after `1.2.9`, `20240102` after `9`."""
        return version_key(self.version)


def version_key(version: str) -> tuple[int, ...]:
    """Split a version on `.` and `_` into integers for numeric ordering."""
    parts = version.replace("_", ".").split(".")
    return tuple(int(p) if p.isdigit() else 0 for p in parts if p != "")


@dataclass(frozen=True)
class Finding:
    """One problem, pointing at a file and 1-based line."""

    rule: str
    severity: Severity
    file: str
    line: int
    message: str
    fix: str = ""
    migration: str | None = None
    end_line: int | None = None
    #: Lock mode the statement takes, when the rule knows it (`ACCESS EXCLUSIVE`, ...).
    lock: str | None = None
    #: The flagged statement's identity for the lint baseline (`guard.lint.fingerprint`); "" for
    #: findings about a file, a down file or the migration set rather than one up statement.
    fingerprint: str = field(default="", compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape documented in docs/json-schema.md."""
        return {
            "rule": self.rule,
            "severity": str(self.severity),
            "file": self.file,
            "line": self.line,
            "end_line": self.end_line if self.end_line is not None else self.line,
            "message": self.message,
            "fix": self.fix,
            "migration": self.migration,
            "lock": self.lock,
        }


@dataclass(frozen=True)
class Hit:
    """What a rule check yields: the message and fix for one statement.

    The engine turns it into a `Finding` (file, line, severity, migration).
    """

    message: str
    fix: str = ""
    lock: str | None = None
    #: Only for file-scope rules: the line to point at (statement rules use the statement's).
    line: int | None = None
    #: Only when the finding belongs to another file than the up file (a down file).
    file: str | None = None
    #: This finding's severity when it differs from the rule's (a rule whose findings are not all
    #: equally serious); the config's `severity` for the rule still overrides it.
    severity: Severity | None = None


@dataclass(frozen=True)
class Rule:
    """One rule record: metadata that text, `explain`, SARIF and docs all render from."""

    id: str
    severity: Severity
    summary: str
    why: str
    fix: str
    bad: str
    good: str
    family: str
    #: Statement facts the check wants (`guard.sql.facts` classes); checked on statements whose
    #: fact is one of these.
    facts: frozenset[type] = frozenset()
    #: The lock the offending statement takes and what it blocks, for docs.
    lock: str | None = None
    check: Callable[[Any, FileContext], Iterable[Hit]] | None = field(default=None, compare=False, repr=False)
    #: Rules that look at files/migrations as a whole rather than statements.
    scope: str = "statement"
    #: False for rules no `ignore` directive, `disable` or `severity` setting can silence.
    suppressible: bool = True
