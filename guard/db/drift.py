"""Drift: how the migration files and the history disagree (edited, missing, reused, out of order)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from guard.db.history import APPLIED, AppliedMigration, checksum_of
from guard.model import Migration, version_key


@dataclass
class Drift:
    """Differences between the files and the history."""

    #: Applied migrations whose file changed since: (file migration, history row).
    edited: list[tuple[Migration, AppliedMigration]] = field(default_factory=list)
    #: Applied versions with no file.
    missing: list[AppliedMigration] = field(default_factory=list)
    #: Pending migrations older than the newest applied one.
    out_of_order: list[Migration] = field(default_factory=list)
    #: New files that reuse the version of an applied migration: (file migration, history row).
    reused: list[tuple[Migration, AppliedMigration]] = field(default_factory=list)
    #: Prisma folders sharing the timestamp of a row an earlier build recorded under the bare
    #: version: that release kept one row per version, so these may have run too.
    ambiguous: list[tuple[Migration, AppliedMigration]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.edited or self.missing or self.out_of_order or self.reused or self.ambiguous)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape for status/plan."""
        return {
            "edited": [
                {"migration": m.id, "recorded": a.checksum, "file": checksum_of(m)} for m, a in self.edited
            ],
            "missing": [a.id for a in self.missing],
            "out_of_order": [m.id for m in self.out_of_order],
            "reused": [{"migration": m.id, "applied": a.id} for m, a in self.reused],
            "ambiguous": [{"migration": m.id, "recorded": a.id} for m, a in self.ambiguous],
        }


def compute_drift(migrations: Iterable[Migration], applied: Mapping[str, AppliedMigration]) -> Drift:
    """Edited applied migrations, new files reusing an applied version, applied rows without a file,
    and out-of-order pending ones. `applied` is keyed by `Migration.key`."""
    drift = Drift()
    files = {m.key: m for m in migrations}
    for key, row in applied.items():
        m = files.get(key)
        if m is None:
            drift.missing.append(row)
        elif m.name != row.name and checksum_of(m) != row.checksum:
            # Same version, other name and content: a new migration, not an edit of the applied one.
            drift.reused.append((m, row))
        elif checksum_of(m) != row.checksum:
            drift.edited.append((m, row))
    done = [version_key(r.version) for r in applied.values() if r.status == APPLIED]
    newest = max(done, default=None)
    if newest is not None:
        drift.out_of_order = [m for m in files.values() if m.key not in applied and m.version_key < newest]
        drift.out_of_order.sort(key=lambda m: m.version_key)
    return drift
