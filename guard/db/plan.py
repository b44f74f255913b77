"""The plan: what the files and the history say, and what `migrate` would do.

Pure except `read_plan` (one read of the history table); `contract_checks` is handed
the database clock. Shared by `status`, `plan`, `migrate`, `rollback` and `exec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from guard.db.contract import ContractRefusal, ContractSpec, ContractWait, contract_spec, window_opens
from guard.db.drift import Drift, compute_drift
from guard.db.history import (
    PARTIAL,
    PARTIAL_DOWN,
    AppliedMigration,
    checksum_of,
    read_history,
)
from guard.errors import InputError, SafetyError
from guard.layouts.collect import same_version_key
from guard.model import Migration, version_key
from guard.paths import display

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
    #: Rows stored under an older key than `Migration.key` (new key -> stored key); the runner
    #: rewrites them (`rekey_history`) before it writes history.
    rekeyed: dict[str, str] = field(default_factory=dict)

    @property
    def fully_applied(self) -> list[AppliedMigration]:
        """History rows of migrations applied whole (`applied` also holds the partial ones)."""
        return [a for a in self.applied.values() if a.status not in (PARTIAL, PARTIAL_DOWN)]

    @property
    def not_started(self) -> list[Migration]:
        """Pending migrations no run has started (`pending` also holds the partial ones `migrate` resumes)."""
        return [m for m in self.pending if m.key not in self.applied]

    def as_dict(self) -> dict[str, Any]:
        """JSON shape for status/plan: each migration in exactly one of applied, partial, pending."""
        return {
            "applied": [a.as_dict() for a in self.fully_applied],
            "pending": [m.id for m in self.not_started],
            "partial": [a.as_dict() for a in self.partial],
            "drift": self.drift.as_dict(),
            "target": self.target,
        }


def build_plan(
    migrations: Sequence[Migration], applied: dict[str, AppliedMigration], to: str | None = None
) -> Plan:
    """Pending migrations in order (up to `to` inclusive), drift and partial runs. Pure.

    `applied` is keyed by what each row is stored under; rows an earlier build stored under
    a Prisma migration's bare version are matched to their folder by version and name.
    """
    ordered = sorted(migrations, key=order_key)
    applied, rekeyed, ambiguous = _recognise_legacy(ordered, applied)
    limit = _limit(ordered, applied, to)
    pending = [m for m in ordered if m.key not in applied or applied[m.key].status == PARTIAL]
    if limit is not None:
        pending = [m for m in pending if order_key(m) <= limit]
    partial = [a for a in applied.values() if a.status in (PARTIAL, PARTIAL_DOWN)]
    drift = compute_drift(ordered, applied)
    drift.ambiguous = ambiguous
    return Plan(list(ordered), applied, pending, drift, to, partial, rekeyed)


def order_key(m: Migration) -> tuple[tuple[int, ...], str]:
    """Apply order: numeric version, then name (Prisma applies same-timestamp folders by name)."""
    return (m.version_key, m.name)


def _limit(
    ordered: Sequence[Migration], applied: dict[str, AppliedMigration], to: str | None
) -> tuple[tuple[int, ...], str] | None:
    """The last position `--to` includes: a version (every migration of it) or a key/id (that one)."""
    if to is None:
        return None
    named = next((m for m in ordered if to in (m.key, m.id)), None)
    if named is not None and to != named.version:
        return order_key(named)
    if named is None and to not in applied and not any(m.version == to for m in ordered):
        raise InputError(
            f"--to {to}: no migration has this version", "run `migration-guard status` to list them"
        )
    return (version_key(to), "\U0010ffff")


def _recognise_legacy(
    ordered: Sequence[Migration], applied: dict[str, AppliedMigration]
) -> tuple[dict[str, AppliedMigration], dict[str, str], list[tuple[Migration, AppliedMigration]]]:
    """Re-key rows stored under a Prisma migration's bare version (builds before history keys) to its folder name.

    Returns the history keyed by `Migration.key`, the renames (new key -> stored key), and the
    Prisma folders that share such a row's version: those builds kept one row per version
    (the last folder applied), so whether they ran cannot be told from the history.
    """
    keys = {m.key for m in ordered}
    prisma = {(m.version, m.name): m for m in ordered if m.layout == "prisma"}
    out: dict[str, AppliedMigration] = {}
    rekeyed: dict[str, str] = {}
    ambiguous: list[tuple[Migration, AppliedMigration]] = []
    for stored, row in applied.items():
        legacy = prisma.get((stored, row.name)) if stored not in keys else None
        if legacy is None:
            out[stored] = row
            continue
        rekeyed[legacy.key] = stored
        if legacy.key in applied:
            continue  # also recorded under its folder name (by `exec` or `adopt`): the old row goes
        out[legacy.key] = replace(row, key=legacy.key)
        ambiguous.extend(
            (m, row)
            for m in ordered
            if m.layout == "prisma"
            and m.version == legacy.version
            and m is not legacy
            and m.key not in applied
        )
    return out, rekeyed, ambiguous


def check_duplicates(migrations: Sequence[Migration]) -> None:
    """Refuse two migrations that share a version where the layout's tool keys history by version.

    Every layout but Prisma keys by version, so one of the two would be skipped or recorded
    over the other; Prisma keys by folder name and applies both (see `Migration.key`).
    """
    seen: dict[tuple[int, ...], Migration] = {}
    for m in migrations:
        if m.key != m.version:
            continue
        slot = same_version_key(m.version)
        first = seen.setdefault(slot, m)
        if first is not m:
            raise InputError(
                f"version {m.version} is used by both {display(first.up_path)} and {display(m.up_path)}; "
                "nothing was applied",
                "give one of them a new, later version (rename its file or folder)",
            )


def read_plan(
    conn: psycopg.Connection, migrations: Sequence[Migration], settings: Settings, to: str | None = None
) -> Plan:
    """The plan against a database, read-only (no tables are created, no lock taken)."""
    return build_plan(migrations, read_history(conn, settings.history_schema), to)


def check_drift(plan: Plan) -> None:
    """Refuse (`SafetyError`) edited or missing applied migrations and a rollback stopped part-way."""
    drift = plan.drift
    if drift.reused:
        m, row = drift.reused[0]
        raise SafetyError(
            f"{m.version} is already applied as {row.id}; {m.id} reuses its version",
            "give the new migration a later version (rename its file or folder)",
        )
    if drift.ambiguous:
        m, row = drift.ambiguous[0]
        raise SafetyError(
            f"{m.id} shares version {m.version} with {row.id}, which an older migration-guard recorded "
            f"under the bare version, one row for both: whether {m.id} ran cannot be told",
            f"if its changes are in the database, add its history row (version '{m.key}', name '{m.name}', "
            f"checksum '{checksum_of(m)}') and migrate again; if they are not, apply it by hand and add the row",
        )
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
        stop = self.wait.spec.migration.key
        return list(pending[: next(i for i, m in enumerate(pending) if m.key == stop)])


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
            gate.specs[m.key] = spec
        earlier.add(m.version)
    return gate
