"""Layouts with one folder per migration: Hasura (`<version>_<name>/up.sql` + `down.sql`, at any
depth, e.g. `migrations/<database>/...`) and Prisma (`<timestamp>_<name>/migration.sql`, with an
optional hand-written `down.sql` beside it; `migration_lock.toml` is not SQL and is ignored).

Real Hasura folder names contain dots and spaces; everything after the first `_` is the name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

from guard.layouts.collect import Collector, LayoutSpec, split_versioned
from guard.layouts.files import SqlFile


def _by_folder(files: Sequence[SqlFile], names: tuple[str, ...]) -> dict[PurePosixPath, dict[str, SqlFile]]:
    groups: dict[PurePosixPath, dict[str, SqlFile]] = {}
    for f in files:
        if f.name in names:
            groups.setdefault(f.folder_rel, {})[f.name] = f
    return groups


def _collect(files: Sequence[SqlFile], out: Collector, up_name: str, expected: str) -> None:
    for group in _by_folder(files, (up_name, "down.sql")).values():
        up, down = group.get(up_name), group.get("down.sql")
        anyone = up or down
        assert anyone is not None
        parsed = split_versioned(anyone.folder)
        if up is None:
            if down is not None and parsed is not None:
                out.orphan_down(down, f"`{down.folder_rel / up_name}`")
            continue  # a lone down.sql in an unversioned folder is nobody's migration: reported as ignored
        if parsed is None:
            out.unversioned(up, expected)
            out.claim(down)
            continue
        out.add(up, parsed[0], parsed[1], down)


def _hasura_explains(f: SqlFile) -> bool:
    return f.name in ("up.sql", "down.sql") and split_versioned(f.folder) is not None


def _hasura_collect(files: Sequence[SqlFile], out: Collector) -> None:
    _collect(files, out, "up.sql", "`<version>_<name>/up.sql`")


def _prisma_explains(f: SqlFile) -> bool:
    # down.sql is not counted: in a tie with Hasura (every Prisma folder has a down.sql),
    # Prisma is listed first and wins; a Hasura tree has no migration.sql at all.
    return f.name == "migration.sql" and split_versioned(f.folder) is not None


def _prisma_collect(files: Sequence[SqlFile], out: Collector) -> None:
    _collect(files, out, "migration.sql", "`<timestamp>_<name>/migration.sql`")


HASURA = LayoutSpec("hasura", "<version>_<name>/up.sql (+ down.sql)", _hasura_explains, _hasura_collect)
PRISMA = LayoutSpec(
    "prisma", "<timestamp>_<name>/migration.sql (+ down.sql)", _prisma_explains, _prisma_collect
)
