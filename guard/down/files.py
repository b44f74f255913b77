"""Which migrations need a down, where each layout keeps it, and writing it there.

A migration needs a down when it has none, or when its down is empty, only comments, a
no-op or Hasura's "Could not auto-generate a down migration" stub (the linter's
`avoid-noop-down-migration` notion, `noop_reason`). A real down is never touched.

Where downs go, as discovery reads them (`guard.layouts`): Hasura and Prisma `down.sql`
beside the up, golang-migrate `<version>_<name>.down.sql`, dbmate the `-- migrate:down`
section of the same file, Flyway `U<version>__<name>.sql`, Drizzle `<tag>.down.sql` beside
`<tag>.sql`. The plain layout has no down convention, so nothing is drafted for it.
"""

from __future__ import annotations

import re
from pathlib import Path

from guard.errors import InputError
from guard.lint.directives import declared_irreversible
from guard.lint.rules.reversibility import noop_reason
from guard.model import Migration

#: dbmate's section marker, as `guard.layouts.single` reads it.
_DOWN_MARKER = re.compile(r"^--[ \t]*migrate:down(?=[ \t\r\n]|$)[^\n]*$", re.M)
_UP_MARKER = re.compile(r"^--[ \t]*migrate:up(?=[ \t\r\n]|$)[^\n]*$", re.M)


def need(migration: Migration) -> str | None:
    """Why `migration` needs a drafted down (None: it has a real one, or its up declares itself
    irreversible with `-- guard: irreversible reason: ...`, which lint and verify honour)."""
    if declared_irreversible(migration.up_sql, migration.down_sql) is not None:
        return None
    if migration.down_sql is None:
        return "has no down migration"
    return noop_reason(migration.down_sql)


def target(migration: Migration) -> Path | None:
    """Where the layout keeps the down of `migration`; None when the layout has no down convention."""
    up, layout = migration.up_path, migration.layout
    if layout in ("hasura", "prisma"):
        return up.parent / "down.sql"
    if layout == "golang-migrate":
        return up.with_name(up.name[: -len(".up.sql")] + ".down.sql")
    if layout == "dbmate":
        return up
    if layout == "flyway":
        return up.with_name("U" + up.name[1:])
    if layout == "drizzle":
        return up.with_name(up.name[: -len(".sql")] + ".down.sql")
    return None


def write(migration: Migration, path: Path, text: str) -> None:
    """Write the drafted down `text` where the layout expects it; refuses to replace a real down."""
    try:
        if migration.layout == "dbmate":
            path.write_text(_dbmate_with_down(path.read_text(encoding="utf-8"), text), encoding="utf-8")
            return
        if path.exists():
            current = path.read_text(encoding="utf-8")
            if noop_reason(current) is None:
                raise InputError(
                    f"{path}: not written, it holds a real down migration (changed since it was read)",
                    "review it by hand",
                )
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from None


def _dbmate_with_down(current: str, text: str) -> str:
    """The dbmate file with its down section replaced by `text` (or appended when it has none)."""
    down = _DOWN_MARKER.search(current)
    if down is None:
        sep = "" if current.endswith("\n") or not current else "\n"
        # No blank line before the marker: the up section (up to the marker's line) keeps its checksum.
        return f"{current}{sep}-- migrate:down\n{text}"
    start = down.end() + 1 if down.end() < len(current) else down.end()
    up = _UP_MARKER.search(current, down.end())
    end = up.start() if up is not None else len(current)
    section = current[start:end]
    if noop_reason(section) is None:
        raise InputError(
            "the dbmate file's down section is a real down migration (changed since it was read)"
        )
    prefix = current[:start] if down.end() < len(current) else current + "\n"
    suffix = current[end:]
    return prefix + text + ("\n" if suffix and not text.endswith("\n") else "") + suffix
