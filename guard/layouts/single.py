"""Layouts with one file per migration: dbmate (`<version>_<name>.sql` with `-- migrate:up` and
`-- migrate:down` sections) and plain (`<timestamp>_<name>.sql`, e.g. Supabase; no downs).

dbmate sections follow dbmate's own parser: the marker is `--` then optional spaces then
`migrate:up` / `migrate:down` at the start of a line (so `--migrate:up` counts), options such
as `transaction:false` follow on the marker line, and only the first marker of each kind
counts. A second marker, SQL before the first marker, or a file with no `-- migrate:up` is a
`malformed-dbmate-migration` finding. The up section is the text after the up marker's line
up to the down marker's line (or the end); its checksum is the SHA-256 of that text's UTF-8
bytes, and `up_line` is the line after the marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from guard.layouts.collect import Collector, LayoutSpec, sha256_hex
from guard.layouts.files import SqlFile
from guard.model import Migration

#: dbmate and plain files: leading digits are the version (`^(\d+).*\.sql$` in dbmate).
_VERSIONED_FILE = re.compile(r"^(\d+)[_-]?(.*)\.sql$", re.S)
_PAIRED_SHAPE = re.compile(r"\.(up|down)\.sql$")
_MARKER = re.compile(r"^--[ \t]*migrate:(up|down)(?=[ \t\r\n]|$)([^\n]*)$", re.M)


@dataclass
class DbmateSections:
    """The parts of a dbmate file, with 1-based start lines and parser problems."""

    up: str | None = None
    up_line: int = 1
    down: str | None = None
    down_line: int = 1
    transaction: bool | None = None
    #: (1-based line, message) for each way the file breaks dbmate's rules.
    problems: list[tuple[int, str]] = field(default_factory=list)


def parse_dbmate(text: str) -> DbmateSections:
    """Split a dbmate file into its up and down sections the way dbmate does."""
    out = DbmateSections()
    markers = list(_MARKER.finditer(text))
    firsts: dict[str, re.Match[str]] = {}
    for m in markers:
        firsts.setdefault(m.group(1), m)
    for kind in ("up", "down"):
        extra = [m for m in markers if m.group(1) == kind][1:]
        if extra:
            line = text.count("\n", 0, extra[0].start()) + 1
            out.problems.append(
                (
                    line,
                    f"a second `-- migrate:{kind}` marker: dbmate uses only the first, "
                    "so the SQL after it runs as part of another section",
                )
            )
    up, down = firsts.get("up"), firsts.get("down")
    if up is None:
        out.problems.append((1, "no `-- migrate:up` marker, so dbmate refuses to run it"))
        return out
    head = text[: min(m.start() for m in firsts.values())]
    for number, before in enumerate(head.splitlines(), start=1):
        if before.strip() and not before.lstrip().startswith("--"):
            out.problems.append(
                (number, "SQL before the first `-- migrate:` marker, which dbmate refuses to run")
            )
            break
    if "transaction:false" in up.group(2).split():
        out.transaction = False
    out.up, out.up_line = _section(text, up, down)
    if down is not None:
        out.down, out.down_line = _section(text, down, up)
    return out


def _section(text: str, start: re.Match[str], other: re.Match[str] | None) -> tuple[str, int]:
    begin = start.end() + 1 if start.end() < len(text) else start.end()  # skip the marker's newline
    end = other.start() if other is not None and other.start() > start.start() else len(text)
    return text[begin:end], text.count("\n", 0, begin) + 1


def _versioned(f: SqlFile) -> re.Match[str] | None:
    return None if _PAIRED_SHAPE.search(f.name) else _VERSIONED_FILE.match(f.name)


def _dbmate_explains(f: SqlFile) -> bool:
    return _versioned(f) is not None and f.has_dbmate_marker()


def _folders_with(files: Sequence[SqlFile], pred: Callable[[SqlFile], bool]) -> set[PurePosixPath]:
    return {f.folder_rel for f in files if pred(f)}


def _dbmate_collect(files: Sequence[SqlFile], out: Collector) -> None:
    # Like dbmate, every versioned .sql file in a folder of dbmate migrations is a migration.
    folders = _folders_with(files, _dbmate_explains)
    for f in files:
        if f.folder_rel not in folders or _PAIRED_SHAPE.search(f.name):
            continue
        m = _versioned(f)
        if m is None:
            if f.has_dbmate_marker():
                out.unversioned(f, "`<version>_<name>.sql`")
            continue
        version, name = m.group(1), m.group(2)
        sections = parse_dbmate(f.text())
        mid = f"{version}_{name}" if name else version
        for line, problem in sections.problems:
            out.finding(
                "malformed-dbmate-migration",
                f,
                f"`{f.key}`: {problem}",
                "keep one `-- migrate:up` and one `-- migrate:down` marker, with all SQL below them",
                migration=mid,
                line=line,
            )
        out.claim(f)
        if sections.up is None:
            continue
        has_down = sections.down is not None
        out.add_migration(
            Migration(
                version=version,
                name=name,
                layout=out.layout,
                up_path=f.path,
                up_sql=sections.up,
                down_path=f.path if has_down else None,
                down_sql=sections.down,
                checksum=sha256_hex(sections.up.encode("utf-8")),
                up_line=sections.up_line,
                down_line=sections.down_line if has_down else 1,
                transaction=sections.transaction,
            ),
            f,
        )


def _plain_explains(f: SqlFile) -> bool:
    # Beside a drizzle-kit journal the numbered files are Drizzle's, which only the journal orders.
    return _versioned(f) is not None and not f.beside_drizzle_journal() and not f.has_dbmate_marker()


def _plain_collect(files: Sequence[SqlFile], out: Collector) -> None:
    folders = _folders_with(files, _plain_explains)
    for f in files:
        if f.folder_rel not in folders or _PAIRED_SHAPE.search(f.name):
            continue
        m = _versioned(f)
        if m is None:
            out.unversioned(f, "`<timestamp>_<name>.sql`")
        elif not f.has_dbmate_marker():  # linting a dbmate file whole would lint its down section
            out.add(f, m.group(1), m.group(2))


DBMATE = LayoutSpec(
    "dbmate", "<version>_<name>.sql with -- migrate:up / -- migrate:down", _dbmate_explains, _dbmate_collect
)
PLAIN = LayoutSpec("plain", "<timestamp>_<name>.sql", _plain_explains, _plain_collect)
