"""Which migration files another tool's history says are applied. Pure: no database, no disk.

Each tool keys its history its own way, and `identity` is the one place that maps a file
to that key (`Migration.key` for Prisma's folder names, the version elsewhere, the
journal's `when` for Drizzle):

- Hasura and golang-migrate store the version as a bigint (`0001` is `1`);
- dbmate stores the version text exactly as in the file name;
- Flyway treats `1`, `1.0` and `1_0` as one version;
- Prisma stores the folder name (`Migration.key`);
- Drizzle stores the journal's `when` of the file (`meta/_journal.json`, tag = file stem).
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from guard.db.foreign_history import ToolHistory, ToolRow
from guard.db.history import checksum_of
from guard.layouts.collect import same_version_key
from guard.model import Migration

#: The pseudo-tool of `adopt --through VERSION` (a database migrated by hand).
BY_HAND = "hand"


@dataclass
class Match:
    """The files a tool applied, and what does not line up between its history and the files."""

    tool: str
    table: str
    #: Files the tool applied, in version order, with the tool's row (None when implied by `through`).
    applied: list[tuple[Migration, ToolRow | None]] = field(default_factory=list)
    #: Keys the tool applied that no file has (refused: the files are not the ones that ran).
    without_file: list[str] = field(default_factory=list)
    #: Files at or below the newest applied one that the tool never applied (warned; they stay pending).
    never_applied: list[Migration] = field(default_factory=list)
    #: Files whose checksum differs from the one the tool recorded (warned; recorded as they are now).
    edited: list[Migration] = field(default_factory=list)
    #: Keys the tool left dirty, failed or unfinished (refused).
    broken: list[str] = field(default_factory=list)

    @property
    def applied_keys(self) -> set[str]:
        """`Migration.key` of every applied file."""
        return {m.key for m, _ in self.applied}

    def pending(self, migrations: Sequence[Migration]) -> list[Migration]:
        """The files the tool has not applied, in version order."""
        done = self.applied_keys
        return [m for m in sorted(migrations, key=lambda m: m.version_key) if m.key not in done]


def _int_key(text: str) -> tuple[int, ...] | None:
    return (int(text),) if text.isdigit() else None


def identity(tool: str, migration: Migration, journal: Mapping[str, int] | None = None) -> Hashable | None:
    """The key `tool` stores for this file, comparable with `row_identity` (None: it has none)."""
    if tool == "prisma":
        return migration.key
    if tool == "dbmate":
        return migration.version
    if tool in ("hasura", "golang-migrate"):
        return _int_key(migration.version)
    if tool == "drizzle":
        when = (journal or {}).get(migration.up_path.stem)
        return (when,) if when is not None else None
    return same_version_key(migration.version)  # flyway, by hand


def row_identity(tool: str, key: str) -> Hashable | None:
    """The comparable form of a key as `tool` stored it."""
    if tool in ("prisma", "dbmate"):
        return key
    if tool in ("hasura", "golang-migrate", "drizzle"):
        return _int_key(key)
    return same_version_key(key)


def _checksums(migration: Migration) -> set[str]:
    """The checksums a tool may have recorded for this file: ours, and sha256 of its text with
    line endings as written or normalised to LF (drizzle-orm normalises; Prisma hashes the file)."""
    text = migration.up_sql
    out = {checksum_of(migration)}
    for variant in (text, text.replace("\r\n", "\n")):
        out.add(hashlib.sha256(variant.encode("utf-8")).hexdigest())
    return out


def match_files(
    history: ToolHistory, migrations: Sequence[Migration], journal: Mapping[str, int] | None = None
) -> Match:
    """Line the tool's history up with the files (see the module docstring for each tool's key)."""
    tool = history.tool
    ordered = sorted(migrations, key=lambda m: m.version_key)
    by_identity: dict[Hashable, Migration] = {}
    for m in ordered:
        ident = identity(tool, m, journal)
        if ident is not None:
            by_identity.setdefault(ident, m)
    out = Match(tool, history.table, broken=list(history.broken))
    rows: dict[str, ToolRow] = {}
    for row in history.rows:
        found = by_identity.get(row_identity(tool, row.key))
        if found is None:
            out.without_file.append(row.key)
            continue
        rows[found.key] = row
        if row.checksum is not None and row.checksum not in _checksums(found):
            out.edited.append(found)
    through = row_identity(tool, history.through) if history.through is not None else None
    for m in ordered:
        ident = identity(tool, m, journal)
        implied = through is not None and ident is not None and ident <= through  # type: ignore[operator]
        if m.key in rows or implied:
            out.applied.append((m, rows.get(m.key)))
    if out.applied:
        newest = max(m.version_key for m, _ in out.applied)
        done = out.applied_keys
        out.never_applied = [m for m in ordered if m.key not in done and m.version_key < newest]
    return out


def by_hand(migrations: Sequence[Migration], through: str) -> ToolHistory | None:
    """The history of a database migrated by hand up to `through` (None: no file has that version)."""
    slot = same_version_key(through)
    if not any(same_version_key(m.version) == slot for m in migrations):
        return None
    return ToolHistory(BY_HAND, f"--through {through}", (), through=through)


def sources_of(migrations: Sequence[Migration]) -> set[str]:
    """The folder names a Hasura project's migrations live under (`migrations/<database>/<version>_x/`),
    which name the database in Hasura's catalog state."""
    return {m.up_path.parent.parent.name for m in migrations if m.up_path.parent.parent.name}
