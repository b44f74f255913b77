"""Paths of a migrations walk: which files and folders it looks at, and how a path is shown.

Shared by discovery (`guard.layouts.files.walk_sql_files`), the folder snapshot's stat walk
(`guard.lint.folder_cache`, which must see exactly what discovery would read) and every
finding's file. Its own module, outside `guard.layouts`, so a warm run that only stats
files does not import every layout.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

#: Folder names never searched: VCS metadata and package caches are never migrations.
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__"})


def is_excluded(rel: PurePosixPath | str, patterns: Sequence[str]) -> bool:
    """Whether `rel` (relative to the root, `/`-separated) matches an `exclude` glob.

    A pattern without `/` matches a file or folder name at any depth (`*.seed.sql`,
    `drafts`); a pattern with `/` matches the whole relative path (`default/old_*`),
    where `*` also crosses `/`. A trailing `/` is ignored.
    """
    text = str(rel)
    name = text.rpartition("/")[2]
    for raw in patterns:
        pat = raw.strip().rstrip("/")
        if pat.startswith("./"):
            pat = pat[2:]
        if not pat:
            continue
        if "/" in pat:
            if fnmatch.fnmatchcase(text, pat):
                return True
        elif fnmatch.fnmatchcase(name, pat):
            return True
    return False


def display_path(path: Path | None) -> str:
    """A finding's file for an optional path: `display(path)`, or "" when there is none."""
    return "" if path is None else display(path)


def display(path: Path | str) -> str:
    """A finding's file: relative to the current directory, as the lint engine writes it.

    The same text as `os.path.relpath(path)`, computed without normalising both sides on
    every call when `path` is already normal (as pathlib makes it): a lint shows thousands.
    """
    text = os.fspath(path)
    if os.sep == "/" and _is_normal(text):
        if not text.startswith("/"):
            return text or "."  # relative, normal and without `..`: relpath returns it as is
        cwd = os.getcwd()
        if text.startswith(cwd) and text[len(cwd) : len(cwd) + 1] == "/" and cwd != "/":
            return text[len(cwd) + 1 :]
        # posixpath.relpath's own steps, on parts that need no normalising.
        here = [p for p in cwd.split("/") if p]
        there = [p for p in text.split("/") if p]
        common = 0
        for a, b in zip(here, there, strict=False):
            if a != b:
                break
            common += 1
        return "/".join([".."] * (len(here) - common) + there[common:]) or "."
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _is_normal(text: str) -> bool:
    """True when `os.path.normpath` would leave `text` unchanged and it has no `..` part."""
    return (
        text != ""
        and "//" not in text
        and "/./" not in text
        and "/../" not in text
        and not text.startswith(("./", "../"))
        and not text.endswith(("/", "/.", "/.."))
        and text not in (".", "..")
    )
