"""The Drizzle layout: `<out>/<tag>.sql` files ordered by `<out>/meta/_journal.json`.

drizzle-kit writes one file per migration, named by the journal entry's `tag`
(`0000_flimsy_jackal`, or `20240101120000_x` with the timestamp prefix), with
`--> statement-breakpoint` between statements, and lists every migration in the
journal (`entries`: `idx`, `version`, `when`, `tag`, `breakpoints`). The journal is
the truth for order and membership, as for drizzle-orm's migrator, which reads
`meta/_journal.json`, runs `<tag>.sql` for each entry in array order, splits each
file on the literal `--> statement-breakpoint`, hashes the text (sha256, CRLF made
LF) and applies every pending entry whose `when` is newer than the last recorded
`created_at`, all in one transaction (drizzle-orm `src/migrator.ts`
`readMigrationFiles`, `src/pg-core/dialect.ts` `PgDialect.migrate`).

So: a `.sql` file with no journal entry never runs, and an entry with no file makes
drizzle-kit fail (`drizzle-journal-mismatch`); an entry whose `when` is not newer
than the one before it is skipped for good by a database that applied the later one;
a breakpoint inside a string or in the middle of a statement splits differently for
drizzle than for migration-guard (`malformed-drizzle-migration`).

The version is the tag's leading digits (the journal `idx`, zero-padded like
drizzle-kit's default prefix, when the tag has none); the checksum is drizzle's own
hash, so it matches `drizzle.__drizzle_migrations.hash`. Drizzle has no down
migrations; a hand-written `<tag>.down.sql` beside the file is read as the down
(drizzle never runs it), otherwise `require_down` decides, as for Prisma.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from guard.errors import InputError
from guard.layouts.collect import Collector, LayoutSpec, sha256_hex
from guard.layouts.files import SqlFile, decode_utf8, read_checked, shown
from guard.model import Migration

JOURNAL = PurePosixPath("meta/_journal.json")
BREAKPOINT = "--> statement-breakpoint"
_TAG_VERSION = re.compile(r"^(\d+)(?:_(.*))?$", re.S)
_DIALECTS = ("postgresql", "pg")


@dataclass(frozen=True)
class JournalEntry:
    """One entry of `meta/_journal.json`, with the journal line it starts on (for findings)."""

    idx: int
    when: int
    tag: str
    breakpoints: bool
    line: int


@dataclass(frozen=True)
class Journal:
    """A parsed `meta/_journal.json`: its path and its entries in array (apply) order."""

    path: Path
    entries: tuple[JournalEntry, ...]


def journal_path(folder: Path | str) -> Path:
    """Where drizzle-kit keeps the journal of the migrations in `folder`."""
    return Path(folder) / JOURNAL


def _explains(f: SqlFile) -> bool:
    # `<tag>.down.sql` counts too: with every down written, golang-migrate would explain as many files.
    return not f.name.endswith(".up.sql") and f.beside_drizzle_journal()


def read_journal(folder: Path | str) -> Journal:
    """Parse `<folder>/meta/_journal.json`, refusing (`InputError`) what drizzle-kit could not read."""
    path = journal_path(folder)
    text = decode_utf8(read_checked(path), path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{shown(path)}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
            "restore the journal from git, or regenerate it with `drizzle-kit generate`",
        ) from None
    raw = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise InputError(f"{shown(path)}: no `entries` list", "restore the journal drizzle-kit wrote")
    dialect = data.get("dialect")
    if isinstance(dialect, str) and dialect not in _DIALECTS:
        raise InputError(
            f"{shown(path)}: the journal is for dialect {dialect!r}; migration-guard checks Postgres migrations",
            "point migration-guard at the Postgres migrations folder",
        )
    entries = []
    for n, item in enumerate(raw):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("tag"), str)
            and item["tag"]
            and _is_int(item.get("idx"))
            and _is_int(item.get("when"))
        ):
            raise InputError(
                f"{shown(path)}: entry {n} lacks an integer `idx`, an integer `when` or a `tag`",
                "restore the journal drizzle-kit wrote, or regenerate it with `drizzle-kit generate`",
            )
        entries.append(
            JournalEntry(
                idx=item["idx"],
                when=item["when"],
                tag=item["tag"],
                breakpoints=bool(item.get("breakpoints", True)),
                line=_line_of_tag(text, item["tag"]),
            )
        )
    return Journal(path, tuple(entries))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _line_of_tag(text: str, tag: str) -> int:
    at = text.find(json.dumps(tag))
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def drizzle_checksum(data: bytes) -> str:
    """drizzle-orm's migration hash: sha256 of the file text with CRLF made LF."""
    return sha256_hex(data.replace(b"\r\n", b"\n"))


def _collect(files: Sequence[SqlFile], out: Collector) -> None:
    folders: dict[PurePosixPath, list[SqlFile]] = {}
    for f in files:
        if f.beside_drizzle_journal():
            folders.setdefault(f.folder_rel, []).append(f)
    for group in folders.values():
        _collect_folder(group, out)


def _collect_folder(group: list[SqlFile], out: Collector) -> None:
    journal = read_journal(group[0].path.parent)
    by_name = {f.name: f for f in group}
    listed: set[str] = set()
    previous: JournalEntry | None = None
    ordered: list[tuple[JournalEntry, Migration]] = []
    for entry in journal.entries:
        name = f"{entry.tag}.sql"
        rel = f"{group[0].folder_rel / name}"
        if name in listed:
            _mismatch(out, journal, entry, f"`{entry.tag}` is listed twice in the journal")
            continue
        listed.add(name)
        if "/" in entry.tag or "\\" in entry.tag:
            _mismatch(
                out,
                journal,
                entry,
                f"journal entry {entry.idx} names `{entry.tag}.sql`, outside the journal's folder, "
                "which migration-guard does not read, so it is not linted",
                "keep every migration beside meta/ as drizzle-kit generates it",
            )
            continue
        up = by_name.get(name)
        if up is None and (journal.path.parent.parent / name).is_file():
            continue  # left out by an `exclude` pattern
        if up is None:
            _mismatch(
                out,
                journal,
                entry,
                f"journal entry {entry.idx} names `{rel}`, which does not exist, "
                "so `drizzle-kit migrate` fails before applying anything",
                "restore the file, or remove the entry with `drizzle-kit drop`",
            )
            continue
        migration = _migration(up, entry, by_name.get(f"{entry.tag}.down.sql"), out.layout)
        out.add_migration(migration, up, by_name.get(f"{entry.tag}.down.sql"))
        ordered.append((entry, migration))
        if previous is not None and entry.when <= previous.when:
            _mismatch(
                out,
                journal,
                entry,
                f"journal entry `{entry.tag}` has `when` {entry.when}, not later than `{previous.tag}` "
                f"({previous.when}): `drizzle-kit migrate` skips it for good on a database that applied "
                f"`{previous.tag}`",
                "give it a `when` later than every entry before it (regenerate the migration)",
                migration=migration.id,
            )
        _check_breakpoints(up, migration, out)
        previous = entry
    _check_order(ordered, out, journal)
    for f in group:
        if f.name in listed or f.name.endswith((".down.sql", ".up.sql")):
            continue
        out.finding(
            "drizzle-journal-mismatch",
            f,
            f"`{f.key}` has no entry in {JOURNAL}, so `drizzle-kit migrate` never runs it and it is not linted",
            "create migrations with `drizzle-kit generate` (`--custom` for hand-written SQL), "
            "or delete the stray file",
        )
    for f in group:
        if f.name.endswith(".down.sql") and f.name[: -len(".down.sql")] + ".sql" not in listed:
            out.orphan_down(f, f"`{f.name[: -len('.down.sql')]}.sql` in the journal")


def _check_order(ordered: list[tuple[JournalEntry, Migration]], out: Collector, journal: Journal) -> None:
    """The runner orders by version: the journal must agree, or the two tools apply in different orders."""
    for (_, before), (entry, after) in itertools.pairwise(ordered):
        if after.version_key < before.version_key:
            _mismatch(
                out,
                journal,
                entry,
                f"the journal lists `{entry.tag}` after `{before.up_path.stem}`, but its version {after.version} "
                f"sorts before {before.version}: drizzle and migration-guard would apply them in different orders",
                "keep the journal order and the file numbers in step (regenerate the later migration)",
                migration=after.id,
            )
            return


def _mismatch(
    out: Collector,
    journal: Journal,
    entry: JournalEntry,
    message: str,
    fix: str = "restore the journal drizzle-kit wrote",
    migration: str | None = None,
) -> None:
    out.finding("drizzle-journal-mismatch", journal.path, message, fix, line=entry.line, migration=migration)


def _migration(up: SqlFile, entry: JournalEntry, down: SqlFile | None, layout: str) -> Migration:
    m = _TAG_VERSION.match(entry.tag)
    version, name = (m.group(1), m.group(2) or "") if m else (f"{entry.idx:04d}", entry.tag)
    return Migration(
        version=version,
        name=name,
        layout=layout,
        up_path=up.path,
        up_sql=up.text(),
        down_path=down.path if down is not None else None,
        down_sql=down.text() if down is not None else None,
        checksum=drizzle_checksum(up.data()),
    )


def _check_breakpoints(f: SqlFile, migration: Migration, out: Collector) -> None:
    """drizzle splits on the literal marker, migration-guard on `;`: report where the two differ.

    drizzle sends each piece between markers as one query, so a marker inside a quote or a
    block comment cuts a statement in two, and a statement without `;` before a marker is one
    statement for drizzle's split but runs into the next one for migration-guard's.
    """
    from guard.parsing import split_statements

    text = migration.up_sql.replace("\r\n", "\n")
    if BREAKPOINT not in text:
        return
    pieces: list[str] = []
    line = 1
    for chunk in text.split(BREAKPOINT):
        statements = split_statements(chunk, line)[0]
        cut = next((s for s in statements if s.unterminated), None)
        if cut is not None and cut.unterminated is not None:
            what = cut.unterminated.removeprefix("unterminated ")
            out.finding(
                "malformed-drizzle-migration",
                f,
                f"`{f.key}`: a `{BREAKPOINT}` falls inside a {what} that starts on line {cut.line}: "
                "drizzle splits the file there and sends the halves as two broken statements",
                f"keep `{BREAKPOINT}` on a line of its own between statements",
                migration=migration.id,
                line=cut.line,
            )
            return
        pieces.extend(s.text for s in statements)
        line += chunk.count("\n")
    for whole in split_statements(text)[0]:
        if whole.text not in pieces:
            out.finding(
                "malformed-drizzle-migration",
                f,
                f"`{f.key}`: the statement on line {whole.line} has no `;` before its `{BREAKPOINT}`, so "
                "drizzle runs it as two statements and migration-guard as one",
                f"end the statement with `;` before `{BREAKPOINT}`",
                migration=migration.id,
                line=whole.line,
            )
            return


DRIZZLE = LayoutSpec("drizzle", "<tag>.sql listed in meta/_journal.json", _explains, _collect)
