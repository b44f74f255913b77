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
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from guard.errors import InputError
from guard.paths import SKIPPED_DIRS, display, is_excluded

__all__ = [
    "MAX_FILE_BYTES",
    "SKIPPED_DIRS",
    "SqlFile",
    "display",
    "is_excluded",
    "read_checked",
    "walk_sql_files",
]

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest migration file read (64 MiB). The linter handles a 50 MB data migration in
seconds because statements over `guard.parsing.MAX_PARSE_CHARS` are never parsed; above
this size the file is refused rather than risking minutes of work or memory pressure."""


_DBMATE_MARKER = re.compile(rb"^--[ \t]*migrate:(?:up|down)(?=[ \t\r\n]|$)", re.M)


def shown(path: Path) -> str:
    """A path for an error message: relative when below the current directory, else absolute."""
    rel = display(path)
    return os.path.abspath(path) if rel == ".." or rel.startswith(".." + os.sep) else rel


class SqlFile:
    """One `.sql` file found under the root; its bytes and text are read on first use.

    The walk hands plain strings (a corpus has thousands of files); `path` and `rel` are
    built on first use, and files of one folder share its `folder_rel`.
    """

    __slots__ = (
        "_data",
        "_folder_rel",
        "_journal",
        "_path",
        "_rel",
        "_text",
        "folder",
        "key",
        "name",
        "os_path",
        "root_name",
    )

    def __init__(
        self,
        path: Path | str,
        rel: PurePosixPath | str,
        root_name: str,
        folder_rel: PurePosixPath | None = None,
        journal: bool | None = None,
    ) -> None:
        self.os_path = os.fspath(path)
        self._path = path if isinstance(path, Path) else None
        #: The path relative to the root, `/`-separated (what `rel` prints as).
        self.key = str(rel)
        self._rel = rel if isinstance(rel, PurePosixPath) else None
        self.root_name = root_name
        parent, _, name = self.key.rpartition("/")
        #: The file name.
        self.name = name
        #: The name of the folder holding the file (the root's own name at the top level).
        self.folder = parent.rpartition("/")[2] or root_name
        self._folder_rel = folder_rel
        self._data: bytes | None = None
        self._text: str | None = None
        self._journal = journal

    @property
    def path(self) -> Path:
        """The file's path (as discovery was given the root, plus `rel`)."""
        if self._path is None:
            self._path = Path(self.os_path)
        return self._path

    @property
    def rel(self) -> PurePosixPath:
        """The path relative to the root."""
        if self._rel is None:
            self._rel = PurePosixPath(self.key)
        return self._rel

    @property
    def folder_rel(self) -> PurePosixPath:
        """The holding folder relative to the root (`.` at the top level)."""
        if self._folder_rel is None:
            self._folder_rel = self.rel.parent
        return self._folder_rel

    def data(self) -> bytes:
        """The file's bytes, checked: regular file, size limit, no NUL byte."""
        if self._data is None:
            self._data = read_checked(self.path if self._path is not None else self.os_path)
        return self._data

    def text(self) -> str:
        """The file decoded as UTF-8 (an `InputError` naming the byte offset otherwise)."""
        if self._text is None:
            self._text = decode_utf8(self.data(), self.path)
        return self._text

    def beside_drizzle_journal(self) -> bool:
        """True when the file's folder holds drizzle-kit's `meta/_journal.json` (the walk knows it per folder)."""
        if self._journal is None:
            self._journal = os.path.isfile(
                os.path.join(os.path.dirname(self.os_path), "meta", "_journal.json")
            )
        return self._journal

    def has_dbmate_marker(self) -> bool:
        """True when a line starts with `-- migrate:up` or `-- migrate:down` (space optional)."""
        return _DBMATE_MARKER.search(self.data()) is not None

    def __repr__(self) -> str:
        return f"SqlFile({self.key!r})"


# O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused after `fstat`);
# regular files ignore the flag.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_checked(path: Path | str) -> bytes:
    """Read a migration file's bytes, refusing non-regular, oversized and binary files.

    The checks are made on the opened file itself (`fstat`), so what is checked is what is read.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise InputError(
                    f"{shown(Path(path))}: not a regular file",
                    "point at SQL files or the folder that holds them (not a device, FIFO or socket)",
                )
            if st.st_size > MAX_FILE_BYTES:
                raise InputError(
                    f"{shown(Path(path))}: {_mib(st.st_size)} is over the {_mib(MAX_FILE_BYTES)} limit for a migration file",
                    "split the data load into smaller migrations, or list the file under `exclude` in the config",
                )
            data = _read_all(fd, st.st_size)
        finally:
            os.close(fd)
    except OSError as exc:
        raise os_error(exc, Path(path)) from None
    if len(data) > MAX_FILE_BYTES:  # grew while we read it
        raise InputError(
            f"{shown(Path(path))}: file is over the {_mib(MAX_FILE_BYTES)} limit for a migration file"
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(
            f"{shown(Path(path))}: binary file (NUL byte at offset {nul}), not SQL text",
            "remove it from the migrations folder or list it under `exclude` in the config",
        )
    return data


def _read_all(fd: int, size: int) -> bytes:
    """Up to `MAX_FILE_BYTES + 1` bytes of `fd`: usually one read of `size` bytes and one at the end."""
    parts: list[bytes] = []
    left = MAX_FILE_BYTES + 1
    while left > 0:
        chunk = os.read(fd, min(left, max(size + 1, 65_536)))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


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


def walk_sql_files(root: Path, exclude: Sequence[str] = ()) -> tuple[list[SqlFile], list[PurePosixPath], int]:
    """All `.sql` files under `root` (sorted), symlinked folders not followed, and the count of other files.

    The order is `os.walk`'s top-down order with names sorted: a folder's files, then its
    subfolders one by one. Paths stay strings here: this loop sees every file of the tree.
    """
    found: list[SqlFile] = []
    links: list[PurePosixPath] = []
    others = 0
    root_name = root.name
    top = os.fspath(root)
    sep = "" if top.endswith(os.sep) else os.sep
    stack: list[tuple[str, str]] = [("", top)]  # (relative folder, real folder), popped last first
    while stack:
        rel_dir, real_dir = stack.pop()
        folder_rel = PurePosixPath(rel_dir) if rel_dir else PurePosixPath(".")
        dirs: list[str] = []
        files: list[str] = []
        try:
            with os.scandir(real_dir) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()  # follows links, as os.walk does
                    except OSError:
                        is_dir = False
                    (dirs if is_dir else files).append(entry.name)
        except OSError as exc:
            raise os_error(exc, root) from None
        prefix = f"{rel_dir}/" if rel_dir else ""
        base = real_dir + (sep if not rel_dir else os.sep)
        journal = "meta" in dirs and os.path.isfile(os.path.join(base, "meta", "_journal.json"))
        for name in sorted(files):
            rel = prefix + name
            if exclude and is_excluded(rel, exclude):
                continue
            if name.lower().endswith(".sql"):
                found.append(SqlFile(base + name, rel, root_name, folder_rel, journal))
            else:
                others += 1
        below: list[tuple[str, str]] = []
        for d in sorted(dirs):
            rel = prefix + d
            if d.startswith(".") or d in SKIPPED_DIRS or (exclude and is_excluded(rel, exclude)):
                continue
            if d.lower().endswith(".sql"):
                # Walking into it would skip the migration it stands for (an `up.sql` that is a folder
                # leaves its down an orphan): refuse instead of linting around the hole.
                raise InputError(
                    f"{shown(Path(base + d))}: is a directory, where a migration file is expected",
                    "a migration must be a file: replace the directory with the SQL file, or rename it",
                )
            if os.path.islink(base + d):
                links.append(PurePosixPath(rel))
                continue
            below.append((rel, base + d))
        stack.extend(reversed(below))
    return found, links, others
