"""Layouts with separate up and down files side by side: golang-migrate and Flyway.

- golang-migrate: `<version>_<name>.up.sql` and `<version>_<name>.down.sql`. An up and a
  down pair when folder, version and name all match (stricter than golang-migrate, which
  pairs by version only, so a renamed half is caught).
- Flyway: `V<version>__<name>.sql` and the optional undo `U<version>__<name>.sql`, paired by
  version. Versions may use `.` or `_` between parts (`V1_2__x` is version `1.2`) and order
  numerically (`1.2.10` after `1.2.9`). Repeatable migrations (`R__<name>.sql`) have no
  version and are re-run by Flyway whenever they change; migration-guard does not run or
  lint them and reports each one as an informational `ignored-migration-file` finding.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from guard.layouts.collect import Collector, LayoutSpec, same_version_key
from guard.layouts.files import SqlFile

_GOLANG = re.compile(r"^(\d+)_(.*)\.(up|down)\.sql$", re.S)
_GOLANG_SHAPE = re.compile(r"\.(up|down)\.sql$")


def _golang_explains(f: SqlFile) -> bool:
    return _GOLANG.match(f.name) is not None


def _golang_collect(files: Sequence[SqlFile], out: Collector) -> None:
    ups: dict[tuple[PurePosixPath, str, str], SqlFile] = {}
    downs: dict[tuple[PurePosixPath, str, str], SqlFile] = {}
    for f in files:
        m = _GOLANG.match(f.name)
        if m is None:
            if _GOLANG_SHAPE.search(f.name):
                out.unversioned(f, "`<version>_<name>.up.sql` / `.down.sql`")
            continue
        key = (f.folder_rel, m.group(1), m.group(2))
        (ups if m.group(3) == "up" else downs)[key] = f
    for key, up in ups.items():
        out.add(up, key[1], key[2], downs.get(key))
    for key, down in downs.items():
        if key not in ups:
            out.orphan_down(down, f"`{key[1]}_{key[2]}.up.sql`")


_FLYWAY = re.compile(r"^([VU])(\d+(?:[._]\d+)*)__(.*)\.sql$", re.S)
_FLYWAY_SHAPE = re.compile(r"^[VU][^_]*__.*\.sql$", re.S)


def _flyway_explains(f: SqlFile) -> bool:
    return _FLYWAY.match(f.name) is not None or f.name.startswith("R__")


def _flyway_collect(files: Sequence[SqlFile], out: Collector) -> None:
    ups: list[tuple[str, str, SqlFile]] = []
    undos: dict[tuple[PurePosixPath, tuple[int, ...]], SqlFile] = {}
    for f in files:
        m = _FLYWAY.match(f.name)
        if m is None:
            if _FLYWAY_SHAPE.match(f.name):
                out.unversioned(f, "`V<version>__<name>.sql`")
            continue
        version = m.group(2).replace("_", ".")
        if m.group(1) == "V":
            ups.append((version, m.group(3), f))
        else:
            undos.setdefault((f.folder_rel, same_version_key(version)), f)
    paired: set[tuple[PurePosixPath, tuple[int, ...]]] = set()
    for version, name, up in ups:
        key = (up.folder_rel, same_version_key(version))
        undo = None if key in paired else undos.get(key)
        paired.add(key)
        out.add(up, version, name, undo)
    for key, undo in undos.items():
        if key not in paired:
            out.orphan_down(undo, f"`V{'.'.join(map(str, key[1]))}__<name>.sql`")


GOLANG_MIGRATE = LayoutSpec(
    "golang-migrate", "<version>_<name>.up.sql (+ .down.sql)", _golang_explains, _golang_collect
)
FLYWAY = LayoutSpec(
    "flyway", "V<version>__<name>.sql (+ U<version>__<name>.sql)", _flyway_explains, _flyway_collect
)
