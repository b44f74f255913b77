"""Records of a fix plan: what a recipe sees, what replaces an offending statement, the migrations that follow it,
the files to write, and the findings that are left for a person."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guard.model import Finding, Migration
    from guard.statement import Statement


#: The contract directive of a contract stub; `{expand}` becomes the fixed migration's version.
CONTRACT = "-- guard: contract {expand}"


@dataclass(frozen=True)
class Context:
    """What a recipe may look at besides the statement itself."""

    statement: Statement
    #: Every statement of the up file (to find a constraint's definition in the same file).
    statements: Sequence[Statement]
    pg_version: int
    #: (table, column) -> the column's SQL type after every earlier migration, if known.
    column_type: Callable[[str, str], str | None]
    #: (table, column) -> True when the column is declared NOT NULL before this statement.
    column_not_null: Callable[[str, str], bool]


@dataclass(frozen=True)
class Step:
    """A new migration that follows the one being fixed."""

    #: Name part of the new migration (`validate_orders_user_id_fkey`).
    slug: str
    up: tuple[str, ...]
    down: tuple[str, ...]
    no_transaction: bool = False
    #: Comment lines at the top of the up file; `{expand}` is replaced by the fixed migration's version.
    header: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatementFix:
    """How one offending statement is rewritten."""

    #: Rules whose findings this fix resolves.
    rules: tuple[str, ...]
    #: What the fix does, one line (shown in the summary and as a comment above `now`).
    note: str
    #: Statements that take the offending statement's place (may be empty: it moved to a step).
    now: tuple[str, ...]
    #: Statements that undo `now`; None when only the migration's own down file knows how.
    undo: tuple[str, ...] | None
    #: True when the migration's existing down still undoes `now` correctly.
    keeps_down: bool
    #: `now` must run alone, outside a transaction.
    alone_no_transaction: bool = False
    later: tuple[Step, ...] = ()
    #: The index an index build creates: moved out of a migration with other statements, it is
    #: then dropped by the new migration's down first, so the old down may drop it only IF EXISTS.
    index: str | None = None


@dataclass(frozen=True)
class Unfixable:
    """A finding `fix` leaves for a person, and why."""

    rule: str
    file: str
    line: int
    migration: str
    reason: str


@dataclass
class FileChange:
    """A file `fix` writes: its current text (None = new file) and its new text."""

    path: Path
    before: str | None
    after: str


@dataclass
class FixPlan:
    """Everything one `fix` run would change, and what it cannot."""

    folder: Path
    layout: str
    changes: list[FileChange] = field(default_factory=list)
    #: (migration id, rule, line, note) of every finding a change resolves.
    fixed: list[tuple[str, str, int, str]] = field(default_factory=list)
    unfixable: list[Unfixable] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def leave(self, f: Finding, reason: str) -> None:
        """Record finding `f` as one fix leaves for a person, with the reason."""
        self.unfixable.append(Unfixable(f.rule, f.file, f.line, f.migration or "", reason))


@dataclass
class Source:
    """One migration being fixed and what its statements become."""

    migration: Migration
    statements: list[Statement]
    fixes: list[tuple[Statement, StatementFix, list[Finding]]]
    timeouts: list[Finding]


#: What a recipe returns: the fix, or why it cannot fix the statement.
Result = StatementFix | str


def unreadable(what: str) -> str:
    """The reason given for a statement shape a recipe does not read."""
    return f"the statement is not a plain {what} that fix can rewrite safely"
