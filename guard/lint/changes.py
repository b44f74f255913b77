"""The pure core of the change-set rules: both sides of a change as values in, findings out.

`compare(current, folder, base, settings)` takes the working tree's migrations and
the base's files and migrations (`BaseTree`) and reports edited, deleted and renamed
merged migrations, new migrations not later than the base, an expand and its
contract in one change, and a schema file out of step with the migrations. It reads
the working tree's files through the `read` callable it is given; git lives in
`guard.lint.changeset`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from guard.config import Settings
from guard.errors import InputError
from guard.layouts.files import is_excluded
from guard.lint.directives import read_file_directives
from guard.lint.registry import all_rules
from guard.model import Finding, Migration, version_key
from guard.parsing import split_statements
from guard.paths import display_path

EDITED = "avoid-changing-merged-migration"
ORDER = "require-later-version"
EXPAND_CONTRACT = "separate-expand-and-contract"
SCHEMA = "require-schema-file-sync"

#: (rule, file, line, message, fix, migration) -> records one finding.
_Sink = Callable[[str, str, int, str, str, "Migration | None"], None]

#: Lines of unified diff shown in an edit finding (the rest is summarised).
MAX_DIFF_LINES = 16


@dataclass(frozen=True)
class BaseTree:
    """The migrations folder as it was at the merge base (paths relative to the folder, posix)."""

    ref: str
    commit: str
    #: Every file under the folder at the merge base: path -> blob sha.
    paths: Mapping[str, str]
    #: The base's bytes of the files that differ in the working tree (edited or deleted), per git.
    changed: Mapping[str, bytes]
    #: The migrations at the merge base; paths relative to the folder.
    migrations: Sequence[Migration]
    #: Migrations merged into the base branch after the merge base: a new migration must be
    #: later than these too, or it runs out of order once merged.
    tip_migrations: Sequence[Migration] = ()
    #: `exclude` globs: changed `.sql` files matching them are not treated as migrations.
    exclude: Sequence[str] = ()


@dataclass(frozen=True)
class SchemaChange:
    """The schema file's bytes at the merge base and in the working tree (None = absent)."""

    display: str
    before: bytes | None
    after: bytes | None

    @property
    def changed(self) -> bool:
        """True when the file differs from the base at all."""
        return self.before != self.after


@dataclass
class ChangeSet:
    """What a change does to the migrations, and the findings about it."""

    new: list[Migration] = field(default_factory=list)
    edited: list[Migration] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: Migration files (relative to the folder) identical to the base: old findings there are not new.
    unchanged: set[str] = field(default_factory=set)


def rel_path(path: Path, folder: Path) -> str:
    """`path` relative to `folder`, posix (cheap when `path` was built under `folder`)."""
    if folder == Path(".") and not path.is_absolute():
        return path.as_posix()
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, folder)).as_posix()


def migration_files(m: Migration, folder: Path) -> list[str]:
    """The files of a migration (up, then down when separate), relative to `folder`."""
    files = [rel_path(m.up_path, folder)]
    if m.down_path is not None and rel_path(m.down_path, folder) not in files:
        files.append(rel_path(m.down_path, folder))
    return files


def read_bytes(path: Path) -> bytes | None:
    """A file's bytes, or None when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def compare(
    current: Sequence[Migration],
    folder: Path,
    base: BaseTree,
    settings: Settings,
    *,
    schema: SchemaChange | None = None,
    now: datetime | None = None,
    read: Callable[[Path], bytes | None] = read_bytes,
) -> ChangeSet:
    """The change set of `current` (the working tree under `folder`) against `base`.

    Only files in `base.changed` are read: git has already said which files differ.
    """
    out = ChangeSet()
    base_name = f"{base.ref} (merge base {base.commit[:12]})"

    def finding(rule: str, file: str, line: int, message: str, fix: str, m: Migration | None) -> None:
        default = all_rules()[rule].severity
        out.findings.append(
            Finding(
                rule=rule,
                severity=settings.severity_of(rule, default),
                file=file,
                line=line,
                end_line=line,
                message=message,
                fix=fix,
                migration=m.id if m is not None else None,
            )
        )

    cur_files: dict[str, Migration] = {}
    for m in current:
        for rel in migration_files(m, folder):
            cur_files[rel] = m
    base_files: dict[str, Migration | None] = {}
    for m in base.migrations:
        for rel in migration_files(m, Path(".")):
            base_files[rel] = m
    for rel in base.changed:  # fail closed: a changed .sql file discovery did not place is still checked
        if (
            rel.endswith(".sql")
            and rel not in base_files
            and not is_excluded(PurePosixPath(rel), base.exclude)
        ):
            base_files[rel] = cur_files.get(rel)

    edited_ids: set[str] = set()
    renamed_to: set[str] = set()
    missing: list[tuple[str, Migration | None]] = []
    for rel, bm in base_files.items():
        if rel not in base.changed:
            out.unchanged.add(rel)
            continue
        before = base.changed[rel]
        after = read(folder / rel)
        shown = display_path(folder / rel)
        if after is None:
            missing.append((rel, bm))
            continue
        if after == before:
            out.unchanged.add(rel)  # git's filters (core.autocrlf) differ, the bytes do not
            continue
        owner = cur_files.get(rel)
        if owner is not None and owner.id not in edited_ids:
            edited_ids.add(owner.id)
            out.edited.append(owner)
        summary, first_line, diff = describe_edit(rel, before, after)
        finding(
            EDITED,
            shown,
            first_line,
            f"{rel} was already merged at {base_name} and this change edits it ({summary}); "
            "migrations are immutable once merged\n" + diff,
            f"restore it (`git checkout {base.commit[:12]} -- {shown}`) and put the change in a new migration",
            owner or bm,
        )

    new_paths = {rel: m for rel, m in cur_files.items() if rel not in base.paths}
    by_content: dict[bytes, str] = {}
    if missing:
        for rel in new_paths:
            data = read(folder / rel)
            if data is not None:
                by_content.setdefault(data, rel)
    for rel, bm in missing:
        shown = display_path(folder / rel)
        target = by_content.get(base.changed[rel])
        if target is not None:
            renamed_to.add(new_paths[target].id)
            finding(
                EDITED,
                display_path(folder / target),
                1,
                f"{target} is {rel} renamed; {rel} was already merged at {base_name}, and runners "
                "know migrations by their version and name, so the renamed one would run again "
                "(or the old one be reported missing)",
                f"rename it back to {rel}",
                new_paths[target],
            )
        else:
            finding(
                EDITED,
                shown,
                1,
                f"{rel} was already merged at {base_name} and this change deletes it; databases "
                "where it ran keep its changes, fresh ones would not get them",
                f"restore it (`git checkout {base.commit[:12]} -- {shown}`); undo its effect with a new migration instead",
                bm,
            )

    base_ups = {rel_path(m.up_path, Path(".")) for m in base.migrations}
    out.new = [m for m in current if rel_path(m.up_path, folder) not in base_ups and m.id not in renamed_to]
    _check_order(out.new, base, base_name, now or datetime.now(UTC), folder, finding)
    _check_expand_contract(out.new, folder, finding)
    if schema is not None:
        _check_schema(out.new, schema, base_name, folder, finding)
    return out


def _eol(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def describe_edit(rel: str, before: bytes, after: bytes) -> tuple[str, int, str]:
    """(what kind of edit, first changed line in the new file, short unified diff) of one file."""
    if _eol(before) == _eol(after):
        summary = "only line endings changed"
    elif before.split() == after.split():
        summary = "only whitespace changed"
    else:
        summary = "content changed"
    old = before.decode("utf-8", "replace").splitlines(keepends=True)
    new = after.decode("utf-8", "replace").splitlines(keepends=True)
    first_line = 1
    for tag, _i1, _i2, j1, _j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag != "equal":
            first_line = min(j1 + 1, max(len(new), 1))
            break
    lines = [
        _visible(line)
        for line in difflib.unified_diff(old, new, f"a/{rel}", f"b/{rel}", n=1)
        if not line.startswith(("---", "+++"))
    ]
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more diff lines"]
    return summary, first_line, "\n".join("    " + line for line in lines)


def _visible(line: str) -> str:
    """A diff line with its line ending and trailing spaces made visible (they are the edit)."""
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    stripped = body.rstrip(" \t")
    if stripped != body:
        body = stripped + body[len(stripped) :].replace(" ", "·").replace("\t", "→")
    return body + ("\\r\\n" if ending == "\r\n" else "\\r" if ending == "\r" else "")


def next_version(latest: str, now: datetime) -> str:
    """A version later than `latest`, in the same style (timestamp, epoch, counter or dotted)."""
    if latest.isdigit():
        candidates = [str(int(latest) + 1).zfill(len(latest))]
        if len(latest) == 14:
            candidates.append(now.strftime("%Y%m%d%H%M%S"))
        elif len(latest) == 13:
            candidates.append(str(int(now.timestamp() * 1000)))
        elif len(latest) == 10:
            candidates.append(str(int(now.timestamp())))
        return max(candidates, key=version_key)
    sep = "." if "." in latest else "_"
    parts = latest.split(sep)
    if parts and parts[-1].isdigit():
        parts[-1] = str(int(parts[-1]) + 1)
        return sep.join(parts)
    return latest + sep + "1"


def _check_order(
    new: Sequence[Migration], base: BaseTree, base_name: str, now: datetime, folder: Path, finding: _Sink
) -> None:
    merged = [*base.migrations, *base.tip_migrations]
    if not merged:
        return
    latest = max(merged, key=lambda m: m.version_key)
    suggestion = next_version(latest.version, now)
    on_tip = {rel_path(m.up_path, Path(".")) for m in base.tip_migrations}
    for m in new:
        if rel_path(m.up_path, folder) in on_tip:
            continue  # the same migration reached the base branch meanwhile (e.g. cherry-picked)
        if m.version_key <= latest.version_key:
            same = m.version_key == latest.version_key
            finding(
                ORDER,
                display_path(m.up_path),
                m.up_line,
                f"new migration {m.id} has version {m.version}, "
                + ("the same as" if same else "older than")
                + f" {latest.id}, already on {base.ref}; it would run out of order "
                "(or never, where runners skip versions older than the last applied)",
                f"rename it to version {suggestion} (later than {latest.version})",
                m,
            )


def _check_expand_contract(new: Sequence[Migration], folder: Path, finding: _Sink) -> None:
    new_versions = {version_key(m.version): m for m in new}
    known = all_rules().keys()
    for m in new:
        directives = read_file_directives(split_statements(m.up_sql, m.up_line)[1], known)
        if directives.contract is None:
            continue
        expand = new_versions.get(version_key(directives.contract))
        if expand is not None and expand is not m:
            finding(
                EXPAND_CONTRACT,
                display_path(m.up_path),
                directives.contract_line or m.up_line,
                f"{m.id} contracts {expand.id}, which is new in this same change; the destructive "
                "step would ship while old application code still uses what it removes",
                f"merge and deploy {expand.id} first; open the contract as a separate pull request after the contract window",
                m,
            )


def _check_schema(
    new: Sequence[Migration], schema: SchemaChange, base_name: str, folder: Path, finding: _Sink
) -> None:
    if schema.changed and not new:
        finding(
            SCHEMA,
            schema.display,
            1,
            f"the schema file {schema.display} changed since {base_name} but no migration was added; "
            "code would expect schema no database has",
            "add the migration that makes this change, or revert the schema file",
            None,
        )
    elif new and not schema.changed:
        last = new[-1]
        finding(
            SCHEMA,
            display_path(last.up_path),
            last.up_line,
            f"{len(new)} new migration(s) but the schema file {schema.display} is unchanged since {base_name}",
            f"regenerate it (`migration-guard verify --write-schema {schema.display}`) and commit it with the migration",
            last,
        )
