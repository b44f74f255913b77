"""Expand/contract timing, enforced: a contract migration runs only when its expand migration
was applied to the same database at least the configured window earlier, and only when
each of its precondition queries returns true.

The clock is the database's (`now()`), the same clock that stamped `applied_at`, so a
runner on a machine with a skewed clock cannot open the window early.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from guard.db.history import APPLIED, AppliedMigration
from guard.errors import SafetyError
from guard.model import Migration, version_key

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
    if row is None:
        key = version_key(version)
        row = next((r for v, r in applied.items() if version_key(v) == key), None)
    return row if row is not None and row.status == APPLIED else None


def format_remaining(delta: timedelta) -> str:
    """`13h 05m` / `2d 01h` / `42s`: how long until the window opens."""
    total = max(0, int(delta.total_seconds()))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"


def check_window(
    spec: ContractSpec,
    applied: Mapping[str, AppliedMigration],
    now: datetime,
    window_hours: float,
    pending: Collection[str] = (),
) -> None:
    """Refuse (`ContractRefusal`) unless the expand migration was applied `window_hours` before `now`.

    `pending` holds versions that would be applied earlier in the same run: an expand
    among them still has its whole window ahead.
    """
    if not spec.expand:
        return
    m = spec.migration
    window = timedelta(hours=window_hours)
    row = _find_applied(applied, spec.expand)
    if row is None:
        in_run = spec.expand in pending
        raise ContractRefusal(
            f"{m.id} contracts expand migration {spec.expand} (line {spec.line}), which "
            + ("is only being applied in this same run" if in_run else "is not applied to this database"),
            f"apply {spec.expand} first and let it run in production for {window_hours:g}h "
            f"(contract_window_hours); then migrate again"
            + ("; use --to to stop before the contract" if in_run else ""),
        )
    opens = row.applied_at + window
    if now < opens:
        raise ContractRefusal(
            f"{m.id} contracts {row.id}, applied {row.applied_at:%Y-%m-%d %H:%M:%S %Z}; the "
            f"{window_hours:g}h expand/contract window opens at {opens:%Y-%m-%d %H:%M:%S %Z}, "
            f"{format_remaining(opens - now)} from now",
            "wait for the window (old application code may still read what this removes), "
            "or migrate with --to to apply only the migrations before it",
        )


def check_preconditions(conn: psycopg.Connection, spec: ContractSpec, statement_timeout: str) -> None:
    """Run each precondition query read-only and roll it back; refuse, quoting the query, unless it
    returns true. Works both outside a transaction and inside one (a dry run), via a savepoint."""
    import psycopg
    from psycopg import pq

    nested = conn.info.transaction_status != pq.TransactionStatus.IDLE
    begin, end = (
        ("SAVEPOINT guard_precondition", "ROLLBACK TO SAVEPOINT guard_precondition")
        if nested
        else ("BEGIN", "ROLLBACK")
    )
    for line, query in spec.preconditions:
        where = f"{spec.migration.id} line {line}"
        conn.execute(
            f"{begin}; SET LOCAL transaction_read_only = on;"
            f" SET LOCAL statement_timeout = '{_quote(statement_timeout)}'"
        )
        try:
            row = conn.execute(query).fetchone()  # the directive text is the SQL
        except psycopg.Error as exc:
            diag = getattr(exc, "diag", None)
            message = (diag.message_primary if diag is not None else None) or str(exc)
            raise ContractRefusal(
                f"precondition of {where} failed to run: {query}\n  {message.strip()}",
                "fix the precondition query (it must return a single true value)",
            ) from None
        finally:
            if not conn.closed:
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
