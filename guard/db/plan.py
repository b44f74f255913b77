"""The plan: what the files and the history say, and what `migrate` would do.

Pure except `read_plan` (one read of the history table); `contract_checks` is handed
the database clock. Shared by `status`, `plan`, `migrate`, `rollback` and `exec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from guard.db.contract import ContractRefusal, ContractSpec, ContractWait, contract_spec, window_opens
from guard.db.history import PARTIAL, PARTIAL_DOWN, AppliedMigration, Drift, compute_drift, read_history
from guard.errors import InputError, SafetyError
from guard.model import Migration, version_key

if TYPE_CHECKING:
    from datetime import datetime

    import psycopg

    from guard.config import Settings


@dataclass
class Plan:
    """What the files and the history say, and what `migrate` would do (computed without a database)."""

    migrations: list[Migration]
    applied: dict[str, AppliedMigration]
    pending: list[Migration]
    drift: Drift
    target: str | None = None
    #: Migrations left part-way by a failed non-transactional run.
    partial: list[AppliedMigration] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape for status/plan."""
        return {
            "applied": [a.as_dict() for a in self.applied.values()],
            "pending": [m.id for m in self.pending],
            "partial": [a.as_dict() for a in self.partial],
            "drift": self.drift.as_dict(),
            "target": self.target,
        }


def build_plan(
    migrations: Sequence[Migration], applied: dict[str, AppliedMigration], to: str | None = None
) -> Plan:
    """Pending migrations in version order (up to `to` inclusive), drift and partial runs. Pure."""
    ordered = sorted(migrations, key=lambda m: m.version_key)
    if to is not None and not any(m.version == to for m in ordered) and to not in applied:
        raise InputError(
            f"--to {to}: no migration has this version", "run `migration-guard status` to list them"
        )
    pending = [m for m in ordered if m.version not in applied or applied[m.version].status == PARTIAL]
    if to is not None:
        pending = [m for m in pending if m.version_key <= version_key(to)]
    partial = [a for a in applied.values() if a.status in (PARTIAL, PARTIAL_DOWN)]
    return Plan(list(ordered), dict(applied), pending, compute_drift(ordered, applied), to, partial)


def read_plan(
    conn: psycopg.Connection, migrations: Sequence[Migration], settings: Settings, to: str | None = None
) -> Plan:
    """The plan against a database, read-only (no tables are created, no lock taken)."""
    return build_plan(migrations, read_history(conn, settings.history_schema), to)


def check_drift(plan: Plan) -> None:
    """Refuse (`SafetyError`) edited or missing applied migrations and a rollback stopped part-way."""
    drift = plan.drift
    if drift.edited:
        names = ", ".join(m.id for m, _ in drift.edited)
        raise SafetyError(
            f"applied migrations were edited since they ran: {names} (checksum differs from the history)",
            "restore the applied files and put the change in a new migration",
        )
    if drift.missing:
        names = ", ".join(a.id for a in drift.missing)
        raise SafetyError(
            f"applied migrations have no file: {names}",
            "deploy code that contains them (is this an older build?), or restore the files",
        )
    down = [a.id for a in plan.partial if a.status == PARTIAL_DOWN]
    if down:
        raise SafetyError(
            f"a rollback stopped part-way: {', '.join(down)}",
            "finish it with `migration-guard rollback` before migrating",
        )


@dataclass
class ContractGate:
    """The contracts among the pending migrations: their specs (preconditions are checked right
    before each runs) and the first one that must wait for its window, if any."""

    specs: dict[str, ContractSpec] = field(default_factory=dict)
    wait: ContractWait | None = None

    def runnable(self, pending: Sequence[Migration]) -> list[Migration]:
        """The pending migrations before the waiting contract (all of them when none waits)."""
        if self.wait is None:
            return list(pending)
        stop = self.wait.spec.migration.version
        return list(pending[: next(i for i, m in enumerate(pending) if m.version == stop)])


def contract_checks(
    plan: Plan,
    now: datetime,
    window_hours: float,
    *,
    window_binds: bool = True,
    refusals: list[ContractRefusal] | None = None,
) -> ContractGate:
    """The contract specs of the pending migrations, and the first one whose window (measured
    from its expand's `applied_at`, against `now`) has not opened; that one and everything
    behind it wait. With `window_binds` False (an environment where the application is not
    live) no contract waits: a fresh or dev database replays expand and contract in one run.

    A contract whose expand is neither applied nor earlier in the run raises `ContractRefusal`,
    or, when `refusals` is given, is collected there (the developer's `plan` shows them all).
    """
    gate = ContractGate()
    earlier: set[str] = set()
    for i, m in enumerate(plan.pending):
        spec = contract_spec(m)
        if spec is not None:
            try:
                wait = window_opens(spec, plan.applied, now, window_hours if window_binds else 0, earlier)
            except ContractRefusal as exc:
                if refusals is None:
                    raise
                refusals.append(exc)
                earlier.add(m.version)
                continue
            if wait is not None:  # what comes after it waits too, whatever it is
                gate.wait = replace(wait, behind=tuple(plan.pending[i + 1 :]))
                break
            gate.specs[m.version] = spec
        earlier.add(m.version)
    return gate
