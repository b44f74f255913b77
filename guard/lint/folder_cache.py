"""Whole-folder answers of the findings cache: a warm run stats files instead of reading them.

The per-migration cache (`guard.lint.cache`) still reads, decodes and hashes every
file to compute its keys. When nothing in a migrations folder changed, even that
is wasted: this module keeps, next to the pack, a *folder snapshot* holding the
complete lint result of the folder (findings, migration count, layout) keyed by
a *stat signature* of what discovery would read, the way git's index trusts a
file whose size, mtime, inode and ctime are unchanged.

The signature covers every `.sql` file discovery sees under the folder (relative
path, size, mtime and ctime in nanoseconds, inode, device), the symlinked folders
it reports, the other files by name, and the working directory (findings show paths
relative to it); the snapshot lives under the pack's
name, so code, tool version and effective settings are part of its identity too.

Racy files are never trusted: when a file's mtime or ctime is within
`RACY_SECONDS` of the moment the folder was walked, a later edit could keep the
same stat on a coarse-clock file system, so no snapshot is written (the next run
reads the files and uses the per-migration cache). A snapshot that does not
parse, has another format or identity, or whose digest does not match its
content is ignored: it is an optimisation only, never trusted blindly.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from guard.model import Finding

if TYPE_CHECKING:
    from guard.lint.cache import LintCache

FORMAT = 2  # 2: findings carry their baseline fingerprint
#: Files changed this recently (seconds) are racy: their stat may not change on the next edit.
RACY_SECONDS = 2.0


@dataclass(frozen=True)
class Signature:
    """What discovery would read under a folder, by stat; `racy` when too fresh to trust later."""

    digest: str
    racy: bool
    #: How much SQL discovery would read (bytes, files): what sharing folders out between
    #: processes weighs them by.
    sql_bytes: int = 0
    sql_files: int = 0


def folder_signature(folder: Path, exclude: Sequence[str]) -> Signature | None:
    """The stat signature of `folder`, or None when it is not a folder or cannot be walked.

    It covers at least everything discovery reads (see `guard.layouts.files.walk_sql_files` and `guard.paths`):
    the same folders are skipped (hidden, `node_modules`, excluded), every other file
    counts, `.sql` or not, and symlinked folders count by name. Any error returns None
    and leaves the reporting to discovery.
    """
    from guard.paths import SKIPPED_DIRS, is_excluded

    walked_at = time.time_ns()
    rows: list[str] = []
    newest = sql_bytes = sql_files = 0
    stack = [("", os.fspath(folder))]
    try:
        if not folder.is_dir():
            return None
        while stack:
            rel_dir, real_dir = stack.pop()
            prefix = f"{rel_dir}/" if rel_dir else ""
            with os.scandir(real_dir) as entries:
                for entry in entries:
                    name = entry.name
                    if entry.is_dir():  # follows links, as os.walk does
                        if name.startswith(".") or name in SKIPPED_DIRS:
                            continue
                        if exclude and is_excluded(prefix + name, exclude):
                            continue
                        if entry.is_symlink():
                            rows.append(f"L\0{prefix}{name}")
                        else:
                            stack.append((prefix + name, entry.path))
                        continue
                    if name[-4:].lower() != ".sql":
                        rows.append(f"O\0{prefix}{name}")  # discovery only counts them
                        continue
                    st = entry.stat()  # follows a symlinked file to what discovery reads
                    mtime, ctime, size = st.st_mtime_ns, st.st_ctime_ns, st.st_size
                    if mtime > newest or ctime > newest:
                        newest = max(mtime, ctime)
                    sql_bytes += size
                    sql_files += 1
                    rows.append(
                        f"F\0{prefix}{name}\0{size}\0{mtime}\0{ctime}\0{st.st_ino}\0{st.st_dev}\0{st.st_mode}"
                    )
    except (OSError, ValueError):
        return None
    rows.sort()
    # Findings show paths relative to the working directory: another one is another result.
    h = hashlib.sha256(f"{FORMAT}|{folder}|{os.getcwd()}".encode("utf-8", "surrogatepass"))
    h.update("\n".join(rows).encode("utf-8", "surrogatepass"))
    racy = newest >= walked_at - int(RACY_SECONDS * 1e9)
    return Signature(h.hexdigest(), racy, sql_bytes, sql_files)


@dataclass(frozen=True)
class FolderResult:
    """A folder's complete lint result as stored in its snapshot."""

    findings: list[Finding]
    migrations: int
    layout: str
    rule_ids: frozenset[str]


def _path(cache: LintCache) -> Path:
    return cache.directory / f"folder-{FORMAT}-{cache.name}.json"


def load(cache: LintCache, signature: Signature) -> FolderResult | None:
    """The stored result for `signature`, or None when absent, stale, racy or not valid."""
    from guard.lint.cache import _decode

    if signature.racy:
        return None
    try:
        raw = _path(cache).read_bytes()
        head, _, body_raw = raw.partition(b"\n")
        header = json.loads(head)
        # The digest covers the body's exact bytes: a truncated or edited snapshot is ignored.
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            return None
        if header.get("digest") != hashlib.sha256(body_raw).hexdigest():
            return None
        body = json.loads(body_raw)
        if not isinstance(body, dict):
            return None
        if (body.get("code"), body.get("settings"), body.get("signature")) != (
            cache.code,
            cache.settings_id,
            signature.digest,
        ):
            return None
        rows, count, layout, rule_ids = (
            body.get(k) for k in ("findings", "migrations", "layout", "rule_ids")
        )
        if not (
            isinstance(rows, list)
            and type(count) is int
            and isinstance(layout, str)
            and isinstance(rule_ids, list)
            and all(isinstance(r, str) for r in rule_ids)
        ):
            return None
        return FolderResult([_decode(r) for r in rows], count, layout, frozenset(rule_ids))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None


def save(
    cache: LintCache,
    signature: Signature,
    findings: Sequence[Finding],
    migrations: int,
    layout: str,
    rule_ids: frozenset[str],
) -> None:
    """Store a folder's result for `signature` (not when racy); failing to write is not an error."""
    from guard.lint.cache import _encode, write_text_atomic

    if signature.racy:
        return
    body = json.dumps(
        {
            "code": cache.code,
            "settings": cache.settings_id,
            "signature": signature.digest,
            "migrations": migrations,
            "layout": layout,
            "rule_ids": sorted(rule_ids),
            "findings": [_encode(f) for f in findings],
        },
        separators=(",", ":"),
    )
    header = json.dumps({"format": FORMAT, "digest": hashlib.sha256(body.encode("utf-8")).hexdigest()})
    try:
        write_text_atomic(cache.directory, _path(cache), header + "\n" + body)
    except OSError as exc:
        cache.stats.write_error = exc.strerror or type(exc).__name__
