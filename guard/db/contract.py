"""Expand/contract timing, enforced: where the window binds (`contract_window_envs`, prod by
default), a contract migration runs only when its expand migration was applied to the same
database at least the configured window earlier; until then it waits (`ContractWait`). It
runs only when each of its precondition queries returns true, everywhere.

The clock is the database's (`now()`), the same clock that stamped `applied_at`, so a
runner on a machine with a skewed clock cannot open the window early.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from guard.db.history import APPLIED, AppliedMigration
from guard.errors import SafetyError
from guard.model import Migration, version_key
from guard.timefmt import format_remaining, utc

if TYPE_CHECKING:
    import psycopg


class ContractRefusal(SafetyError):
    """A contract migration is not allowed to run yet."""


@dataclass(frozen=True)
class ContractSpec:
    """What a migration's directives say about contracting."""

    migration: Migration
    expand: str
    line: int
    preconditions: list[tuple[int, str]] = field(default_factory=list)


def contract_spec(migration: Migration) -> ContractSpec | None:
    """The contract directive of `migration` (None when it is not a contract migration)."""
    from guard.lint.directives import read_file_directives
    from guard.lint.registry import all_rules
    from guard.parsing import split_statements

    _, comments = split_statements(migration.up_sql, migration.up_line)
    directives = read_file_directives(comments, all_rules().keys())
    if directives.contract is None:
        if directives.preconditions:
            return ContractSpec(migration, "", 0, list(directives.preconditions))
        return None
    return ContractSpec(
        migration, directives.contract, directives.contract_line, list(directives.preconditions)
    )


def _find_applied(applied: Mapping[str, AppliedMigration], version: str) -> AppliedMigration | None:
    row = applied.get(version)
    if row is None:  # `1.0` names `1`; a Prisma row is keyed by folder name, not version
        key = version_key(version)
        row = next((r for r in applied.values() if version_key(r.version) == key), None)
    return row if row is not None and row.status == APPLIED else None


@dataclass(frozen=True)
class ContractWait:
    """A contract whose expand/contract window has not opened: it and every migration behind it wait."""

    #: `migrate` applied what it could and stopped before the contract: not a failure (exit 2
    #: would page people and fail every deploy for up to the window), not plain success (what
    #: waits did not run, so a release that needs it must not roll out). See docs/safety-gates.md.
    exit_code: ClassVar[int] = 3

    spec: ContractSpec
    window_hours: float
    #: The expand's history row; None when the expand is applied in this same run.
    expand_row: AppliedMigration | None
    #: When the window opens (for an expand applied in this run: at the earliest, now + window).
    opens: datetime
    now: datetime
    #: Pending migrations after the contract, which wait with it (version order).
    behind: tuple[Migration, ...] = ()

    def message(self) -> str:
        """What waits, until when, and why; one paragraph for the deploy log."""
        m = self.spec.migration
        expand = self.expand_row.id if self.expand_row is not None else self.spec.expand
        applied = (
            f"applied {utc(self.expand_row.applied_at)}"
            if self.expand_row is not None
            else "applied in this run"
        )
        text = (
            f"{m.id} waits for its expand/contract window: it contracts {expand} ({applied}); "
            f"the {self.window_hours:g}h window opens at {utc(self.opens)}, "
            f"in {format_remaining(self.opens - self.now)}"
        )
        if self.behind:
            text += f"; waiting behind it: {', '.join(b.id for b in self.behind)}"
        return text

    def hint(self) -> str:
        """The next step: when to run again."""
        return (
            f"nothing failed: run migrate again after {utc(self.opens)} to apply the contract"
            + (" and what waits behind it" if self.behind else "")
            + " (old application code may still use what the contract removes)"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of the wait."""
        return {
            "migration": self.spec.migration.id,
            "expand": self.expand_row.id if self.expand_row is not None else self.spec.expand,
            "window_hours": self.window_hours,
            "opens_at": self.opens.astimezone(UTC).isoformat(),
            "remaining_seconds": max(0, int((self.opens - self.now).total_seconds())),
            "behind": [b.id for b in self.behind],
        }


def window_opens(
    spec: ContractSpec,
    applied: Mapping[str, AppliedMigration],
    now: datetime,
    window_hours: float,
    pending: Collection[str] = (),
) -> ContractWait | None:
    """The wait of `spec` when its expand was applied less than `window_hours` before `now`
    (None: the window is open). `pending` holds versions applied earlier in the same run:
    an expand among them has its whole window ahead.

    Refuses (`ContractRefusal`) a contract whose expand is neither applied nor earlier in
    the run: there is no window to wait for, the order is wrong.
    """
    if not spec.expand:
        return None
    window = timedelta(hours=window_hours)
    row = _find_applied(applied, spec.expand)
    if row is None:
        if spec.expand in pending:
            return ContractWait(spec, window_hours, None, now + window, now) if window_hours > 0 else None
        m = spec.migration
        wait = (
            f" and let it run in production for {window_hours:g}h (contract_window_hours)"
            if window_hours > 0
            else ""
        )
        raise ContractRefusal(
            f"{m.id} contracts expand migration {spec.expand} (line {spec.line}), which is not applied "
            "to this database and not pending before it",
            f"apply {spec.expand} first{wait}, then migrate again; check the version in `-- guard: contract`",
        )
    opens = row.applied_at + window
    return ContractWait(spec, window_hours, row, opens, now) if now < opens else None


_QUERY_HEADS = frozenset({"SELECT", "WITH", "VALUES", "TABLE"})


def check_precondition_shape(spec: ContractSpec) -> None:
    """Refuse (`ContractRefusal`) a precondition that is not exactly one query (checked before
    anything runs: `SELECT true; COMMIT; CREATE TABLE x ...` must never reach the database)."""
    from guard.parsing import split_statements

    for line, query in spec.preconditions:
        statements = split_statements(query, line)[0]
        heads = [s.words[0] if s.words else "" for s in statements]
        if len(statements) != 1 or heads[0] not in _QUERY_HEADS or statements[0].unterminated:
            what = (
                f"{len(statements)} statements"
                if len(statements) != 1
                else f"a {heads[0] or 'non-query'} statement"
            )
            raise ContractRefusal(
                f"precondition of {spec.migration.id} line {line} is {what}, not one read-only query: {query}",
                "write one query that returns a single true value (SELECT ...), without `;` between statements",
            )


def check_preconditions(conn: psycopg.Connection, spec: ContractSpec, statement_timeout: str) -> None:
    """Run each precondition query in a READ ONLY transaction and roll it back; refuse, quoting
    the query, unless it returns true. Inside a transaction (a dry run) it runs in a savepoint
    made read-only the same way."""
    import psycopg
    from psycopg import pq

    check_precondition_shape(spec)
    nested = conn.info.transaction_status != pq.TransactionStatus.IDLE
    begin, end = (
        (
            "SAVEPOINT guard_precondition; SET TRANSACTION READ ONLY",
            "ROLLBACK TO SAVEPOINT guard_precondition",
        )
        if nested
        else ("BEGIN READ ONLY", "ROLLBACK")
    )
    for line, query in spec.preconditions:
        where = f"{spec.migration.id} line {line}"
        conn.execute(f"{begin}; SET LOCAL statement_timeout = '{_quote(statement_timeout)}'")
        try:
            row = conn.execute(query).fetchone()  # the directive text is the SQL: one query (checked above)
        except psycopg.Error as exc:
            diag = getattr(exc, "diag", None)
            message = (diag.message_primary if diag is not None else None) or str(exc)
            raise ContractRefusal(
                f"precondition of {where} failed to run: {query}\n  {message.strip()}",
                "fix the precondition query (it must return a single true value)",
            ) from None
        finally:
            if not conn.closed and conn.info.transaction_status != pq.TransactionStatus.IDLE:
                conn.execute(end)
        value = row[0] if row else None
        if value is not True:
            raise ContractRefusal(
                f"precondition of {where} is not met: {query} returned {value!r}, not true",
                "finish the work the precondition checks (e.g. the backfill), then migrate again",
            )


def _quote(value: str) -> str:
    return value.replace("'", "''")


def db_now(conn: psycopg.Connection) -> datetime:
    """The database's clock (`now()` of a fresh statement)."""
    row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    value: datetime = row[0]
    return value
