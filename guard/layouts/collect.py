"""What every layout shares: the `Collector` that gathers migrations and discovery findings,
then checks duplicates, reports files nobody claimed, and sorts numerically."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from guard.layouts.files import SqlFile, display
from guard.model import Finding, Migration, Severity, version_key

#: `<version>_<name>` (name optional) for folder and file stems; versions are digits only.
VERSIONED = re.compile(r"^(\d+)(?:_(.*))?$", re.S)


def split_versioned(stem: str) -> tuple[str, str] | None:
    """(`version`, `name`) of `20240101_add_users`, or None when the stem carries no version."""
    m = VERSIONED.match(stem)
    return (m.group(1), m.group(2) or "") if m else None


def sha256_hex(data: bytes) -> str:
    """The checksum the runner stores to detect edits to applied migrations."""
    return hashlib.sha256(data).hexdigest()


def same_version_key(version: str) -> tuple[int, ...]:
    """Key under which two versions are the same migration slot (`1.0` = `1`, `007` = `7`)."""
    key = list(version_key(version))
    while len(key) > 1 and key[-1] == 0:
        key.pop()
    return tuple(key)


@dataclass(frozen=True)
class LayoutSpec:
    """One layout: its name, which files it explains (for detection), and how it collects them."""

    name: str
    #: How the layout names files, for error hints.
    pattern: str
    explains: Callable[[SqlFile], bool]
    collect: Callable[[Sequence[SqlFile], Collector], None]


class Collector:
    """Accumulates one layout's migrations and findings over the files of one root."""

    def __init__(self, layout: str) -> None:
        self.layout = layout
        self.migrations: list[Migration] = []
        self.findings: list[Finding] = []
        #: `SqlFile.key` of every file the layout read or reported.
        self.claimed: set[str] = set()
        #: Migration id -> the files it came from, for duplicate messages.
        self._files: dict[str, str] = {}

    def claim(self, *files: SqlFile | None) -> None:
        """Mark files as read by the layout (no `ignored-migration-file` finding for them)."""
        for f in files:
            if f is not None:
                self.claimed.add(f.key)

    def add(
        self,
        up: SqlFile,
        version: str,
        name: str,
        down: SqlFile | None = None,
    ) -> Migration:
        """Add a migration made of a whole up file and an optional whole down file."""
        migration = Migration(
            version=version,
            name=name,
            layout=self.layout,
            up_path=up.path,
            up_sql=up.text(),
            down_path=down.path if down is not None else None,
            down_sql=down.text() if down is not None else None,
            checksum=sha256_hex(up.data()),
        )
        self.add_migration(migration, up, down)
        return migration

    def add_migration(self, migration: Migration, *files: SqlFile | None) -> None:
        """Add a migration built by the layout itself (dbmate sections)."""
        self.claim(*files)
        self.migrations.append(migration)

    def finding(
        self,
        rule: str,
        file: SqlFile | Path,
        message: str,
        fix: str,
        *,
        severity: Severity = Severity.ERROR,
        migration: str | None = None,
        line: int = 1,
    ) -> None:
        """Record a discovery finding against a file (claimed, so it is not also reported as ignored)."""
        if isinstance(file, SqlFile):
            self.claim(file)
            path = file.path
        else:
            path = file
        self.findings.append(
            Finding(
                rule=rule,
                severity=severity,
                file=display(path),
                line=line,
                end_line=line,
                message=message,
                fix=fix,
                migration=migration,
            )
        )

    def unversioned(self, f: SqlFile, expected: str) -> None:
        """An up (or down) file of this layout's shape whose name carries no version."""
        self.finding(
            "unversioned-migration",
            f,
            f"`{f.key}` has no version in its name, so it has no place in the {self.layout} order and is not linted",
            f"rename it to the {self.layout} pattern {expected}",
        )

    def orphan_down(self, f: SqlFile, up_hint: str) -> None:
        """A down file with no up file beside it."""
        self.finding(
            "orphan-down-migration",
            f,
            f"`{f.key}` is a down migration with no up migration ({up_hint} is missing)",
            "restore or rename the up file so both share the version and name, or delete the stray down file",
        )

    def finish(self, files: Iterable[SqlFile], others: Sequence[LayoutSpec]) -> None:
        """Report duplicate versions and unclaimed files, then sort migrations and findings."""
        self.migrations.sort(key=lambda m: (m.version_key, m.name, str(m.up_path)))
        self._duplicates()
        for f in files:
            if f.key in self.claimed:
                continue
            looks = next((o.name for o in others if o.name != self.layout and _safe_explains(o, f)), None)
            is_repeatable = self.layout == "flyway" and f.name.startswith("R__")
            reason = (
                "a Flyway repeatable migration, which migration-guard does not run or lint"
                if is_repeatable
                else f"it looks like a {looks} migration"
                if looks
                else "its name matches no migration pattern"
            )
            self.finding(
                "ignored-migration-file",
                f,
                f"`{f.key}` is not read as a {self.layout} migration ({reason}), so it is not linted",
                "rename it to the layout's pattern, move it elsewhere, list it under `exclude`, or pass `--layout`",
                severity=Severity.INFO if is_repeatable else Severity.WARNING,
            )
        self.findings.sort(key=lambda f: (f.file, f.line, f.rule))

    def _duplicates(self) -> None:
        groups: dict[tuple[int, ...], list[Migration]] = {}
        for m in self.migrations:
            groups.setdefault(same_version_key(m.version), []).append(m)
        for group in groups.values():
            if len(group) < 2:
                continue
            first = group[0]
            for m in group[1:]:
                if self.layout == "prisma":
                    # Prisma records migrations by folder name and applies same-timestamp folders
                    # in name order, so this is legal for Prisma (and migration-guard's runner, which
                    # keys Prisma history by folder name) but ambiguous for version-keyed tools.
                    message = (
                        f"version {m.version} is shared with `{first.id}`; Prisma and migration-guard apply "
                        "both, in folder-name order, but tools that key history by version cannot tell them apart"
                    )
                    severity = Severity.WARNING
                else:
                    message = f"version {m.version} is used by both `{first.id}` and `{m.id}`"
                    severity = Severity.ERROR
                self.finding(
                    "duplicate-version",
                    m.up_path,
                    message,
                    "give one of them a new, later version (rename its file or folder)",
                    severity=severity,
                    migration=m.id,
                    line=m.up_line,
                )


def _safe_explains(spec: LayoutSpec, f: SqlFile) -> bool:
    """`spec.explains(f)` for a hint only: a file that cannot be read explains nothing."""
    from guard.errors import InputError

    try:
        return spec.explains(f)
    except InputError:
        return False
