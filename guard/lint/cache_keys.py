"""The identities the findings cache is keyed by: the code, the settings and each migration.

See `guard.lint.cache` for how entries use them; kept apart so the keys can be read (and
tested) without the cache's storage.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from guard import __version__
from guard.config import Settings
from guard.model import Migration

#: Settings that cannot change which findings a migration gets.
#: `baseline` is applied to each run's findings after the cache (see `guard.lint.baseline`).
_IRRELEVANT_SETTINGS = frozenset(
    {"cache", "cache_dir", "fail_on", "migrations", "sources", "config_path", "baseline"}
)


def _display(path: Path | None) -> str | None:
    if path is None:
        return None
    from guard.paths import display

    return display(path)


def _plain(value: Any) -> Any:
    """A JSON-serialisable, order-stable form of a setting or migration field value."""
    if isinstance(value, Path):
        return _display(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Mapping):
        return sorted((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def _sha(*parts: str) -> str:
    # Each part with its length: the same bytes as one `update` per piece, in one call.
    chunks: list[bytes] = []
    for p in parts:
        data = p.encode("utf-8", "surrogatepass")
        chunks.append(len(data).to_bytes(8, "big"))
        chunks.append(data)
    return hashlib.sha256(b"".join(chunks)).hexdigest()


@cache
def code_identity() -> str:
    """Digest of the code that produces findings: versions plus every `guard` source file."""
    import importlib.util

    root = Path(__file__).resolve().parent.parent  # the guard package
    h = hashlib.sha256()
    h.update(f"{__version__}|{sys.implementation.name}|{sys.version_info[:3]}".encode())
    spec = importlib.util.find_spec("sqlglot")  # locates the package without importing it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        version_file = Path(folder) / "_version.py"
        if version_file.is_file():
            h.update(version_file.read_bytes())
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py"):
                path = Path(dirpath, name)
                h.update(path.relative_to(root).as_posix().encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def settings_identity(settings: Settings) -> str:
    """Digest of every setting that can change findings (all but cache/fail_on/migrations)."""
    items = [
        [f.name, _plain(getattr(settings, f.name))]
        for f in dataclasses.fields(settings)
        if f.name not in _IRRELEVANT_SETTINGS
    ]
    return _sha(json.dumps(items, sort_keys=True))


def migration_identity(migration: Migration) -> str:
    """Digest of every field of a migration, paths as they appear in findings."""
    parts: list[str] = []
    for name in _migration_fields():
        value = getattr(migration, name)
        if isinstance(value, str):  # the SQL text: hashed as is, no JSON escaping of megabytes
            parts += [name, "s", value]
        elif isinstance(value, Path):
            parts += [name, "p", _fast_display(value)]
        elif value is None or type(value) in (int, bool):
            parts += [name, "r", repr(value)]
        else:
            parts += [name, "j", json.dumps(_plain(value))]
    return _sha(*parts)


@cache
def _migration_fields() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(Migration))


def _fast_display(path: Path) -> str:
    return _display(path) or ""


def context_identity(migrations: Sequence[Migration], key: Callable[[Migration], str] | None = None) -> str:
    """Digest of the whole migrations list, for entries whose lint read it."""
    key = key or migration_identity
    return _sha(*(key(m) for m in migrations))


def earlier_identities(
    migrations: Sequence[Migration], key: Callable[[Migration], str] | None = None
) -> dict[int, str]:
    """For each migration (by `id()`), a digest of every migration with a lower version, in order.

    The input of a lint that only consulted the schema index (facts about earlier
    migrations): adding a later migration, the CI gate's usual change, leaves it unchanged.
    """
    key = key or migration_identity
    keyed = sorted(((m.version_key, i, m) for i, m in enumerate(migrations)), key=lambda x: x[:2])
    h = hashlib.sha256(b"earlier")
    out: dict[int, str] = {}
    i = 0
    while i < len(keyed):
        j = i
        digest = h.hexdigest()  # everything strictly earlier; equal versions are not earlier
        while j < len(keyed) and keyed[j][0] == keyed[i][0]:
            out[id(keyed[j][2])] = digest
            j += 1
        for _, _, m in keyed[i:j]:
            h.update(key(m).encode())
        i = j
    return out
