"""Migration discovery: find every migration under a folder, in any supported layout.

`discover(path, layout="auto", exclude=())` walks the folder (see `guard.layouts.files`
for what is searched and what is refused), decides the layout, and returns a
`Discovery`: migrations sorted numerically by version then name, plus findings for
discovery problems (duplicate versions, unversioned up files, orphan downs, malformed
dbmate files, `.sql` files the layout does not run). Problems in the migration set are
findings; input that cannot be read at all (missing path, empty folder, no recognisable
migrations, binary or non-UTF-8 file, oversized file, permission denied) is an
`InputError`.

Auto-detection counts, for each layout, the `.sql` files whose shape it explains, and
picks the layout that explains the most; ties go to the first of `LAYOUT_SPECS`
(Prisma before Hasura: a Prisma tree whose every folder has a `down.sql` explains as
many files as Hasura would; Drizzle before plain: a drizzle-kit folder's numbered files are plain
files too, but only Drizzle reads the journal beside them). Files the chosen layout does not run are reported as
`ignored-migration-file`, never dropped silently.

A path that is a file is linted on its own: its partner (the `.down.sql` of an
`.up.sql`, the `down.sql` beside an `up.sql` or `migration.sql`, the Flyway undo) is
read with it, a dbmate file is split into its sections, and anything else is one plain
migration whose version is its leading digits (or its whole stem when it has none).
A down file given alone is linted together with its up file. `Discovery.root` is then the
file's folder, and `exclude` does not apply.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from guard.errors import InputError
from guard.layouts.collect import Collector, LayoutSpec, sha256_hex, split_versioned
from guard.layouts.drizzle import DRIZZLE
from guard.layouts.files import (
    MAX_FILE_BYTES,
    SqlFile,
    display,
    os_error,
    shown,
    walk_sql_files,
)
from guard.layouts.folders import HASURA, PRISMA
from guard.layouts.paired import FLYWAY, GOLANG_MIGRATE
from guard.layouts.single import DBMATE, PLAIN, parse_dbmate
from guard.model import Finding, Migration, Severity

__all__ = ["LAYOUT_SPECS", "MAX_FILE_BYTES", "Discovery", "discover", "parse_dbmate"]

#: Every layout, in tie-break order for auto-detection.
LAYOUT_SPECS: tuple[LayoutSpec, ...] = (PRISMA, HASURA, GOLANG_MIGRATE, DBMATE, FLYWAY, DRIZZLE, PLAIN)
_BY_NAME = {s.name: s for s in LAYOUT_SPECS}


@dataclass(frozen=True)
class Discovery:
    """What `discover` found: migrations in apply order, discovery findings, the layout used, the folder."""

    migrations: list[Migration]
    findings: list[Finding]
    layout: str
    root: Path


def discover(path: Path, layout: str = "auto", exclude: Sequence[str] = ()) -> Discovery:
    """Find the migrations under `path` (a folder, or one file) in `layout` (`auto` detects it).

    `exclude` holds glob patterns relative to the folder: a pattern without `/` matches a
    file or folder name at any depth, one with `/` matches the relative path.
    """
    if layout != "auto" and layout not in _BY_NAME:
        raise InputError(
            f"unknown layout {layout!r}", "use one of: auto, " + ", ".join(s.name for s in LAYOUT_SPECS)
        )
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise os_error(exc, path) from None
    if stat.S_ISREG(mode):
        return _discover_file(path, layout)
    if not stat.S_ISDIR(mode):
        raise InputError(f"{shown(path)}: not a folder or a regular file", "pass the migrations folder")
    files, links, others = walk_sql_files(path, exclude)
    if not files:
        what = f"no .sql files (and {others} other files)" if others else "is empty"
        raise InputError(
            f"{shown(path)}: {what}",
            "pass the folder that holds your migrations"
            + (" or check the `exclude` patterns" if exclude else ""),
        )
    spec = _choose(files, layout, path)
    out = Collector(spec.name)
    spec.collect(files, out)
    for link in links:
        out.finding(
            "ignored-migration-file",
            path / link,
            f"`{link}` is a symlinked folder, which discovery does not follow (loops, links outside the project)",
            "move the migrations into the folder, or run migration-guard on the link's target",
            severity=Severity.WARNING,
        )
    out.finish(files, LAYOUT_SPECS)
    if not out.migrations and not any(f.rule != "ignored-migration-file" for f in out.findings):
        raise _nothing_found(files, spec, path)
    return Discovery(out.migrations, out.findings, spec.name, path)


def _choose(files: Sequence[SqlFile], layout: str, root: Path) -> LayoutSpec:
    if layout != "auto":
        return _BY_NAME[layout]
    counts = [(sum(1 for f in files if s.explains(f)), -i, s) for i, s in enumerate(LAYOUT_SPECS)]
    best_count, _, best = max(counts, key=lambda c: (c[0], c[1]))
    if best_count == 0:
        raise _nothing_found(files, None, root)
    return best


def _nothing_found(files: Sequence[SqlFile], spec: LayoutSpec | None, root: Path) -> InputError:
    patterns = "; ".join(f"{s.name}: {s.pattern}" for s in LAYOUT_SPECS)
    if spec is None:
        return InputError(
            f"{shown(root)}: no recognisable migrations among {_files(len(files))}",
            f"name them like one of these layouts ({patterns}), or pass the right folder",
        )
    others = [(sum(1 for f in files if s.explains(f)), s.name) for s in LAYOUT_SPECS if s.name != spec.name]
    count, name = max(others)
    return InputError(
        f"{shown(root)}: no {spec.name} migrations ({spec.pattern}) among {_files(len(files))}",
        f"these look like {name} migrations: pass `--layout {name}` or `--layout auto`"
        if count
        else f"name them like {spec.pattern}, or pass the right folder",
    )


def _files(n: int) -> str:
    return f"{n} .sql file" + ("" if n == 1 else "s")


_FLYWAY_NAME = re.compile(r"^([VU])([^_]*__.*)$", re.S)


def _partners(path: Path) -> list[Path]:
    """Files read together with a single file given on the command line."""
    n = path.name
    if n.endswith(".up.sql"):
        names = [n[: -len(".up.sql")] + ".down.sql"]
    elif n.endswith(".down.sql"):
        names = [n[: -len(".down.sql")] + ".up.sql"]
    elif n in ("up.sql", "migration.sql"):
        names = ["down.sql"]
    elif n == "down.sql":
        names = ["up.sql", "migration.sql"]
    elif m := _FLYWAY_NAME.match(n):
        names = [("U" if m.group(1) == "V" else "V") + m.group(2)]
    else:
        names = []
    return [path.parent / p for p in names if (path.parent / p).is_file()]


def _discover_file(path: Path, layout: str) -> Discovery:
    root = path.parent
    target = SqlFile(path, PurePosixPath(path.name), root.name if root.name else str(root))
    files = [target] + [SqlFile(p, PurePosixPath(p.name), target.root_name) for p in _partners(path)]
    candidates = [_BY_NAME[layout]] if layout != "auto" else LAYOUT_SPECS
    for spec in candidates:
        if not spec.explains(target):
            continue
        out = Collector(spec.name)
        spec.collect(files, out)
        mine = [m for m in out.migrations if path in (m.up_path, m.down_path)]
        about = [f for f in out.findings if f.file == display(path)]
        if mine or about:
            out.finish([], LAYOUT_SPECS)
            return Discovery(mine, about, spec.name, root)
    return Discovery([_lone_migration(target)], [], "plain", root)


def _lone_migration(f: SqlFile) -> Migration:
    """A file no layout explains, as one migration (dbmate sections still split)."""
    stem = f.name[:-4] if f.name.lower().endswith(".sql") else f.name
    if f.name in ("up.sql", "down.sql", "migration.sql"):
        stem = f.folder
    version, name = split_versioned(stem) or (stem, "")
    if f.has_dbmate_marker():
        sections = parse_dbmate(f.text())
        if sections.up is not None:
            return Migration(
                version=version,
                name=name,
                layout="dbmate",
                up_path=f.path,
                up_sql=sections.up,
                down_path=f.path if sections.down is not None else None,
                down_sql=sections.down,
                checksum=sha256_hex(sections.up.encode("utf-8")),
                up_line=sections.up_line,
                down_line=sections.down_line,
                transaction=sections.transaction,
            )
    return Migration(
        version=version,
        name=name,
        layout="plain",
        up_path=f.path,
        up_sql=f.text(),
        checksum=sha256_hex(f.data()),
    )
