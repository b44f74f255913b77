"""Where new migrations go: versions that sort right after the fixed migration without colliding,
and the file names and text each layout expects (see `guard.layouts`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from guard.model import Migration, version_key
from guard.sql.safe_sql import no_transaction_directive

#: Layouts `fix` writes new migrations for (Drizzle's journal would need editing too).
WRITABLE = ("hasura", "prisma", "golang-migrate", "dbmate", "flyway", "plain")

_STAMP = "%Y%m%d%H%M%S"


def following_versions(
    source: str,
    existing: Sequence[str],
    taken: set[str],
    count: int,
    layout: str,
    now: datetime | None = None,
) -> list[str] | None:
    """`count` new versions after version `source`, before the next existing migration, none in `taken`.

    Timestamps step one second (or jump to `now`, when given, after the last migration); numbers
    take the next numbers, and Flyway a sub-version (`3.1`) when the next number is taken. None
    when there is no room before the next one.
    """
    later = sorted((v for v in existing if version_key(v) > version_key(source)), key=version_key)
    limit = version_key(later[0]) if later else None
    out: list[str] = []
    current = source
    keys = {version_key(v) for v in taken}
    for _ in range(count):
        candidate = _after(current, layout, now if limit is None else None)
        while candidate is not None and version_key(candidate) in keys:
            candidate = _after(candidate, layout, now if limit is None else None)
        if candidate is None or (limit is not None and version_key(candidate) >= limit):
            if layout == "flyway" and candidate is not None:
                candidate = _sub_version(current, keys, limit)
            if candidate is None or (limit is not None and version_key(candidate) >= limit):
                return None
        out.append(candidate)
        keys.add(version_key(candidate))
        current = candidate
    return out


def _after(version: str, layout: str, now: datetime | None) -> str | None:
    if version.isdigit() and len(version) == 14:
        try:
            stamp = datetime.strptime(version, _STAMP) + timedelta(seconds=1)
        except ValueError:
            return str(int(version) + 1)
        if now is not None and now.strftime(_STAMP) > stamp.strftime(_STAMP):
            return now.strftime(_STAMP)
        return stamp.strftime(_STAMP)
    if version.isdigit():
        return str(int(version) + 1).zfill(len(version))
    parts = version.split(".")
    if layout == "flyway" and all(p.isdigit() for p in parts):
        parts[-1] = str(int(parts[-1]) + 1)
        return ".".join(parts)
    return None


def _sub_version(version: str, keys: set[tuple[int, ...]], limit: tuple[int, ...] | None) -> str | None:
    for n in range(1, 1000):
        candidate = f"{version}.{n}"
        key = version_key(candidate)
        if key not in keys and (limit is None or key < limit):
            return candidate
    return None


def sql_text(statements: Sequence[str], header: Sequence[str] = (), *, no_transaction: bool = False) -> str:
    """A migration file body: directive and header comments, then one statement per paragraph."""
    lines = ([no_transaction_directive()] if no_transaction else []) + list(header)
    body = "\n\n".join(s.rstrip().rstrip(";") + ";" for s in statements)
    return "\n".join([*lines, body]) + "\n" if lines else body + "\n"


def new_migration_files(
    layout: str,
    source: Migration,
    version: str,
    slug: str,
    up: str,
    down: str | None,
    *,
    no_transaction: bool,
) -> list[tuple[Path, str]]:
    """(path, text) of every file of a new migration next to `source`, in `layout`'s naming."""
    folder = source.up_path.parent
    if layout in ("hasura", "prisma"):
        target = folder.parent / f"{version}_{slug}"
        up_name = "up.sql" if layout == "hasura" else "migration.sql"
        files = [(target / up_name, up)]
        return files + ([(target / "down.sql", down)] if down is not None else [])
    if layout == "golang-migrate":
        files = [(folder / f"{version}_{slug}.up.sql", up)]
        return files + ([(folder / f"{version}_{slug}.down.sql", down)] if down is not None else [])
    if layout == "flyway":
        files = [(folder / f"V{version}__{slug}.sql", up)]
        return files + ([(folder / f"U{version}__{slug}.sql", down)] if down is not None else [])
    if layout == "dbmate":
        return [(folder / f"{version}_{slug}.sql", dbmate_text(up, down, no_transaction=no_transaction))]
    if layout == "plain":
        return [(folder / f"{version}_{slug}.sql", up)]
    raise ValueError(f"fix does not write {layout} migrations")


def dbmate_text(up: str, down: str | None, *, no_transaction: bool, prefix: str = "") -> str:
    """A dbmate file: `-- migrate:up [transaction:false]`, the up section, `-- migrate:down`, the down."""
    marker = "-- migrate:up transaction:false" if no_transaction else "-- migrate:up"
    text = f"{prefix}{marker}\n{up.rstrip()}\n"
    if down is not None:
        text += f"\n-- migrate:down\n{down.rstrip()}\n"
    return text


def has_down_files(layout: str) -> bool:
    """True for layouts that keep a down (or undo) migration beside each up."""
    return layout != "plain"
