"""Replaying the report of a lint run whose every folder is unchanged.

A warm run answered by folder snapshots (see `guard.lint.folder_cache`) still loads
every finding, rebuilds the report and encodes it (about a quarter of a warm run on a
large repository). When every folder's stat signature is the same as when a report was
written, the report is the same too: it is a function of each folder's findings (keyed by
the signature and the pack name: code, tool version and effective settings), each folder's
`fail_on` (not part of the pack name), the digest of each folder's lint baseline (applied
after the cache, see `guard.lint.baseline`) and the format. So the rendered text is stored next
to the snapshots under a key of exactly those, and replayed byte for byte with its exit code.

Only for output to a file or a pipe, outside GitHub Actions: a terminal gets colours or
indentation. The GitHub, SARIF and GitLab reports also depend on the repository root their paths
are relative to and on the working directory the findings' paths are relative to: both are part of
their key.
Racy folders (see `folder_cache.RACY_SECONDS`) are never replayed or stored. A replay file
that does not parse or whose digest does not match its text is ignored, never trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.lint.cache import LintCache
    from guard.lint.folder_cache import Signature

FORMAT = 1
#: Formats whose text depends on nothing but the findings and, for the rooted ones, the repository
#: root and the working directory (when not on a terminal).
REPLAYABLE = ("json", "text", "github", "sarif", "gitlab")


@dataclass(frozen=True)
class Replay:
    """Where a run's report is (or would be) stored, and under which key."""

    path: Path
    key: str


def prepare(
    folders: Sequence[tuple[Path, Settings, LintCache | None]],
    fmt: str,
    *,
    interactive: bool,
    baselines: Sequence[str] = (),
    root: Path | None = None,
) -> tuple[list[Signature | None], Replay | None]:
    """The folders' stat signatures (walked once: pass them on to `lint_paths`) and the run's
    replay slot (None when `interactive`: a terminal or GitHub Actions, or not replayable).
    `baselines` are the digests of the folders' baseline files ("" for none) and `root` the
    repository root of a rooted report: the report depends on them, so they are part of the key."""
    from guard.lint.folder_cache import folder_signature

    signatures = [
        folder_signature(folder, settings.exclude) if cache is not None else None
        for folder, settings, cache in folders
    ]
    return signatures, None if interactive else replay_slot(folders, signatures, fmt, baselines, root)


def replay_slot(
    folders: Sequence[tuple[Path, Settings, LintCache | None]],
    signatures: Sequence[Signature | None],
    fmt: str,
    baselines: Sequence[str] = (),
    root: Path | None = None,
) -> Replay | None:
    """The replay file for this run, or None when the run cannot be replayed (see module doc)."""
    if fmt not in REPLAYABLE or not folders:
        return None
    where = f"{os.getcwd()}|{root.resolve()}" if root is not None else ""
    h = hashlib.sha256(f"{FORMAT}|{fmt}|{','.join(baselines)}|{where}".encode())
    for (_folder, settings, cache), signature in zip(folders, signatures, strict=True):
        if cache is None or signature is None or signature.racy:
            return None
        h.update(f"|{cache.name}|{signature.digest}|{settings.fail_on}".encode())
    key = h.hexdigest()
    first = folders[0][2]
    assert first is not None
    return Replay(first.directory / f"report-{FORMAT}-{key[:40]}.txt", key)


def load(slot: Replay) -> tuple[str, int] | None:
    """(report text, exit code) stored for `slot`, or None when absent or not valid."""
    try:
        raw = slot.path.read_bytes()
        head, _, body = raw.partition(b"\n")
        header = json.loads(head)
        if not isinstance(header, dict) or header.get("key") != slot.key:
            return None
        code = header.get("exit")
        if type(code) is not int or header.get("digest") != hashlib.sha256(body).hexdigest():
            return None
        return body.decode("utf-8"), code
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None


def save(slot: Replay, text: str, exit_code: int) -> None:
    """Store the report of this run; failing to write is not an error (it is an optimisation)."""
    from guard.lint.cache import write_text_atomic

    with contextlib.suppress(OSError, UnicodeEncodeError):  # a lone surrogate cannot be stored
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        header = json.dumps({"key": slot.key, "exit": exit_code, "digest": digest})
        write_text_atomic(slot.path.parent, slot.path, header + "\n" + text)
