"""Finding and reading the `.sql` files under a migrations folder, failing closed on bad input.

Walking never follows symlinked directories (a link loop or a link to `/` cannot
hang or escape discovery); they are reported so nothing is skipped silently.
Hidden folders (`.git`, ...) and `node_modules` are not searched. A directory
that cannot be listed is an `InputError`, never a silent skip.

Reading refuses, with the file and the reason: anything that is not a regular
file (a FIFO would block forever), files over `MAX_FILE_BYTES`, binary files
(a NUL byte), text that is not UTF-8 (with the byte offset), and permission
errors. Files are read lazily and once, so a bad file that no layout needs
never stops discovery.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from guard.errors import InputError

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest migration file read (64 MiB). The linter handles a 50 MB data migration in
seconds because statements over `guard.parsing.MAX_PARSE_CHARS` are never parsed; above
this size the file is refused rather than risking minutes of work or memory pressure."""

#: Folder names never searched: VCS metadata and package caches are never migrations.
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__"})

_DBMATE_MARKER = re.compile(rb"^--[ \t]*migrate:(?:up|down)(?=[ \t\r\n]|$)", re.M)


def display(path: Path) -> str:
    """A finding's file: relative to the current directory, as the lint engine writes it."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def shown(path: Path) -> str:
    """A path for an error message: relative when below the current directory, else absolute."""
    rel = display(path)
    return os.path.abspath(path) if rel == ".." or rel.startswith(".." + os.sep) else rel


class SqlFile:
    """One `.sql` file found under the root; its bytes and text are read on first use."""

    __slots__ = ("_data", "_text", "path", "rel", "root_name")

    def __init__(self, path: Path, rel: PurePosixPath, root_name: str) -> None:
        self.path = path
        self.rel = rel
        self.root_name = root_name
        self._data: bytes | None = None
        self._text: str | None = None

    @property
    def name(self) -> str:
        """The file name."""
        return self.rel.name

    @property
    def folder(self) -> str:
        """The name of the folder holding the file (the root's own name at the top level)."""
        return self.rel.parent.name or self.root_name

    @property
    def folder_rel(self) -> PurePosixPath:
        """The holding folder relative to the root (`.` at the top level)."""
        return self.rel.parent

    def data(self) -> bytes:
        """The file's bytes, checked: regular file, size limit, no NUL byte."""
        if self._data is None:
            self._data = read_checked(self.path)
        return self._data

    def text(self) -> str:
        """The file decoded as UTF-8 (an `InputError` naming the byte offset otherwise)."""
        if self._text is None:
            self._text = decode_utf8(self.data(), self.path)
        return self._text

    def has_dbmate_marker(self) -> bool:
        """True when a line starts with `-- migrate:up` or `-- migrate:down` (space optional)."""
        return _DBMATE_MARKER.search(self.data()) is not None

    def __repr__(self) -> str:
        return f"SqlFile({str(self.rel)!r})"


def read_checked(path: Path) -> bytes:
    """Read a migration file's bytes, refusing non-regular, oversized and binary files."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise InputError(
                f"{shown(path)}: not a regular file",
                "point at SQL files or the folder that holds them (not a device, FIFO or socket)",
            )
        if st.st_size > MAX_FILE_BYTES:
            raise InputError(
                f"{shown(path)}: {_mib(st.st_size)} is over the {_mib(MAX_FILE_BYTES)} limit for a migration file",
                "split the data load into smaller migrations, or list the file under `exclude` in the config",
            )
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise os_error(exc, path) from None
    if len(data) > MAX_FILE_BYTES:  # grew while we read it
        raise InputError(f"{shown(path)}: file is over the {_mib(MAX_FILE_BYTES)} limit for a migration file")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(
            f"{shown(path)}: binary file (NUL byte at offset {nul}), not SQL text",
            "remove it from the migrations folder or list it under `exclude` in the config",
        )
    return data


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def decode_utf8(data: bytes, path: Path) -> str:
    """Decode strictly as UTF-8; the error names the first bad byte and its offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{shown(path)}: not UTF-8 text (byte 0x{bad:02x} at offset {exc.start}, line {line})",
            "re-save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`",
        ) from None


def os_error(exc: OSError, path: Path) -> InputError:
    """Turn an OS error on `path` into a one-line `InputError` that names the cause."""
    shown_path = shown(Path(exc.filename) if exc.filename else path)
    if exc.errno == errno.ELOOP:
        return InputError(f"{shown_path}: symlink loop", "replace the symlink with the real file or folder")
    if isinstance(exc, PermissionError):
        return InputError(f"{shown_path}: permission denied", "make it readable by this user (chmod/chown)")
    if isinstance(exc, FileNotFoundError):
        return InputError(
            f"{shown_path}: no such file (a broken symlink, or it was removed while reading)",
            "pass the folder that holds your migrations",
        )
    if exc.errno == errno.EISDIR:
        return InputError(f"{shown_path}: is a directory where a file was expected")
    return InputError(f"{shown_path}: cannot read ({exc.strerror or exc})")


def is_excluded(rel: PurePosixPath, patterns: Sequence[str]) -> bool:
    """Whether `rel` (relative to the root) matches an `exclude` glob.

    A pattern without `/` matches a file or folder name at any depth (`*.seed.sql`,
    `drafts`); a pattern with `/` matches the whole relative path (`default/old_*`),
    where `*` also crosses `/`. A trailing `/` is ignored.
    """
    text = str(rel)
    for raw in patterns:
        pat = raw.strip().rstrip("/")
        if pat.startswith("./"):
            pat = pat[2:]
        if not pat:
            continue
        if "/" in pat:
            if fnmatch.fnmatchcase(text, pat):
                return True
        elif fnmatch.fnmatchcase(rel.name, pat):
            return True
    return False


def walk_sql_files(root: Path, exclude: Sequence[str] = ()) -> tuple[list[SqlFile], list[PurePosixPath], int]:
    """All `.sql` files under `root` (sorted), symlinked folders not followed, and the count of other files."""
    found: list[SqlFile] = []
    links: list[PurePosixPath] = []
    others = 0

    def fail(exc: OSError) -> None:
        raise os_error(exc, root)

    for current, dirnames, filenames in os.walk(root, onerror=fail, followlinks=False):
        here = Path(current)
        rel_here = PurePosixPath(here.relative_to(root).as_posix())
        keep = []
        for d in sorted(dirnames):
            rel = rel_here / d
            if d.startswith(".") or d in SKIPPED_DIRS or is_excluded(rel, exclude):
                continue
            if (here / d).is_symlink():
                links.append(rel)
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            rel = rel_here / name
            if is_excluded(rel, exclude):
                continue
            if name.lower().endswith(".sql"):
                found.append(SqlFile(here / name, rel, root.name))
            else:
                others += 1
    return found, links, others
