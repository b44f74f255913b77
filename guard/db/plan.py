"""The plan: what the files and the history say, and what `migrate` would do.

Pure except `read_plan` (one read of the history table) and `contract_checks`
(the database clock). Shared by `status`, `plan`, `migrate`, `rollback` and `exec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from guard.db.contract import ContractRefusal, ContractSpec, check_window, contract_spec
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


def contract_checks(
    plan: Plan, now: datetime, window_hours: float, refusals: list[ContractRefusal] | None = None
) -> dict[str, ContractSpec]:
    """The contract specs of the pending migrations, each window checked against `now`.

    Raises the first `ContractRefusal`, or, when `refusals` is given, collects every one
    there (the developer's `plan` shows them all) and leaves the refused specs out.
    """
    specs: dict[str, ContractSpec] = {}
    earlier: set[str] = set()
    for m in plan.pending:
        spec = contract_spec(m)
        if spec is not None:
            try:
                check_window(spec, plan.applied, now, window_hours, earlier)
                specs[m.version] = spec
            except ContractRefusal as exc:
                if refusals is None:
                    raise
                refusals.append(exc)
        earlier.add(m.version)
    return specs
