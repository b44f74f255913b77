"""The lint baseline: findings an existing project already has, accepted so adoption starts clean.

`migration-guard baseline` records today's findings in a committed file; `lint`, the CI gate
and the runner's lint gate then count those findings as accepted (`LintResult.baselined`)
and block only new ones, the way phpstan's, detekt's and eslint's baselines do.

An entry is (migration id, rule, statement fingerprint, count). The fingerprint is the
flagged statement's canonical spelling hashed (`guard.lint.fingerprint`), not its line, so
reformatting or moving a statement keeps it accepted, while a new statement in a baselined
migration is not covered, and the same statement repeated is accepted only as many times
as recorded. Findings about no statement (a missing down file, a down-file problem) have
an empty fingerprint and are matched by migration and rule with their count. Findings of no
migration (discovery problems) use the file's path relative to the migrations folder.

The file is JSON with one entry per line, sorted, with a format version: stable and
diff-friendly, so a reviewer sees an entry added. Entries that no longer occur are reported
(`unused-baseline-entry`, info, pointing at the entry's line) so the file can shrink;
`migration-guard baseline` rewrites it. Findings are cached raw and the baseline is applied
to every run afresh (the report replay key includes the file's digest), so a changed
baseline is never ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guard.errors import InputError
from guard.lint.protected import LOCKED_RULES
from guard.model import Finding, Severity, version_key

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.lint.engine import LintResult

FORMAT = 1
DEFAULT_NAME = "migration-guard-baseline.json"
STALE_RULE = "unused-baseline-entry"
#: How much of the normalized statement an entry shows (for people; matching uses the fingerprint).
EXCERPT_CHARS = 100

Key = tuple[str, str, str]  # (migration id or folder-relative path, rule, fingerprint)


@dataclass(frozen=True)
class Entry:
    """One accepted finding (or `count` identical ones)."""

    migration: str
    rule: str
    fingerprint: str
    count: int
    statement: str = ""
    #: Line of the entry in the baseline file (0 for an entry not read from a file).
    line: int = 0

    @property
    def key(self) -> Key:
        """What findings are matched on."""
        return (self.migration, self.rule, self.fingerprint)


@dataclass(frozen=True)
class Baseline:
    """A baseline file as read: the migrations folder it is for, its entries by key, its digest."""

    path: Path
    folder: Path
    entries: dict[Key, Entry]
    digest: str

    @property
    def total(self) -> int:
        """How many findings the file accepts."""
        return sum(e.count for e in self.entries.values())

    def covers(self, target: Path) -> bool:
        """Whether linting `target` (the folder, or a file in it) is judged against this file."""
        here = target.resolve()
        return here == self.folder or self.folder in here.parents


def baseline_path(settings: Settings, folder: Path) -> Path:
    """`baseline` when set, else `migration-guard-baseline.json` at the project root: the config
    file's folder, else the git work tree holding `folder`, else the folder's parent."""
    if settings.baseline is not None:
        return settings.baseline
    if settings.config_path is not None:
        return settings.config_path.parent / DEFAULT_NAME
    here = folder.resolve()
    if not here.is_dir():
        here = here.parent
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate / DEFAULT_NAME
    return here.parent / DEFAULT_NAME


def finding_key(finding: Finding, folder: Path) -> Key:
    """The key `finding` is matched on (see the module doc); `folder` is the migrations folder."""
    owner = finding.migration
    if owner is None:
        owner = Path(os.path.relpath(Path(finding.file).resolve(), folder.resolve())).as_posix()
    return (owner, finding.rule, finding.fingerprint)


def folder_field(path: Path, folder: Path) -> str:
    """The migrations folder as the file records it: relative to the file's own folder."""
    return Path(os.path.relpath(folder.resolve(), path.resolve().parent)).as_posix()


# --- reading and writing ------------------------------------------------------------------------


def load(path: Path) -> Baseline | None:
    """The baseline at `path`, or None when there is no such file; InputError when it is unreadable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the lint baseline: {exc.strerror}") from None
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _broken(path, f"not valid JSON ({exc})") from None
    if (
        not isinstance(doc, dict)
        or doc.get("format") != FORMAT
        or not isinstance(doc.get("findings"), list)
        or not isinstance(doc.get("migrations"), str)
    ):
        raise _broken(path, f"not a migration-guard baseline of format {FORMAT}")
    lines = _entry_lines(raw)
    if len(lines) != len(doc["findings"]):  # not laid out as `render` writes it: no line numbers
        lines = []
    entries: dict[Key, Entry] = {}
    for i, item in enumerate(doc["findings"]):
        entry = _entry(item, lines[i] if i < len(lines) else 0)
        if entry is None:
            raise _broken(path, f"entry {i + 1} is not {{migration, rule, fingerprint, count >= 1}}")
        if entry.key in entries:
            raise _broken(path, f"entry {i + 1} repeats an earlier one ({entry.migration} {entry.rule})")
        entries[entry.key] = entry
    folder = (path.resolve().parent / doc["migrations"]).resolve()
    return Baseline(path, folder, entries, hashlib.sha256(raw).hexdigest())


def _broken(path: Path, why: str) -> InputError:
    return InputError(
        f"{path}: the lint baseline is {why}",
        "regenerate it with `migration-guard baseline`, or fix the file",
    )


def _entry(item: Any, line: int) -> Entry | None:
    if not isinstance(item, dict):
        return None
    migration, rule, fingerprint = item.get("migration"), item.get("rule"), item.get("fingerprint")
    count, statement = item.get("count"), item.get("statement", "")
    if not (
        isinstance(migration, str)
        and migration
        and isinstance(rule, str)
        and rule
        and isinstance(fingerprint, str)
        and type(count) is int
        and count >= 1
        and isinstance(statement, str)
    ):
        return None
    return Entry(migration, rule, fingerprint, count, statement, line)


def _entry_lines(raw: bytes) -> list[int]:
    """1-based line of each entry in a file written by `render` (one entry per line)."""
    return [
        n for n, text in enumerate(raw.split(b"\n"), start=1) if text.lstrip().startswith(b'{"migration"')
    ]


def render(entries: Iterable[Entry], migrations: str) -> str:
    """The file's text: a format version, the migrations folder (`folder_field`), then one entry
    per line, sorted by migration order."""
    ordered = sorted(
        entries,
        key=lambda e: (
            version_key(e.migration.split("_", 1)[0]),
            e.migration,
            e.rule,
            e.statement,
            e.fingerprint,
        ),
    )
    rows = [
        json.dumps(
            {
                "migration": e.migration,
                "rule": e.rule,
                "count": e.count,
                "fingerprint": e.fingerprint,
                "statement": e.statement,
            },
            ensure_ascii=False,
        )
        for e in ordered
    ]
    body = ",\n".join("    " + row for row in rows)
    return (
        "{\n"
        f'  "format": {FORMAT},\n'
        '  "about": "lint findings accepted when migration-guard was adopted; '
        'regenerate with `migration-guard baseline`",\n'
        f'  "migrations": {json.dumps(migrations, ensure_ascii=False)},\n'
        '  "findings": [\n' + (body + "\n" if rows else "") + "  ]\n}\n"
    )


def entries_for(
    findings: Sequence[Finding], folder: Path, statements: Callable[[Finding], str] | None = None
) -> list[Entry]:
    """Entries accepting exactly `findings` (identical keys counted); `statements(finding)` gives
    the normalized statement text shown in an entry (matching never reads it)."""
    counts: dict[Key, int] = {}
    shown: dict[Key, str] = {}
    for f in findings:
        key = finding_key(f, folder)
        counts[key] = counts.get(key, 0) + 1
        if key not in shown and statements is not None and f.fingerprint:
            text = statements(f)
            shown[key] = text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 3] + "..."
    return [Entry(k[0], k[1], k[2], n, shown.get(k, "")) for k, n in counts.items()]


# --- applying -------------------------------------------------------------------------------------


def apply(
    result: LintResult,
    baseline: Baseline | None,
    settings: Settings,
    *,
    eligible: Callable[[Finding], bool] | None = None,
    linted: Callable[[str], bool] | None = None,
    why_not: str = "",
) -> LintResult:
    """`result` without the findings `baseline` accepts, counted in `baselined`.

    Per key, the first `count` findings (in file and line order) are accepted and the rest
    stay. `eligible(finding)` False keeps a finding whatever the file says (the CI gate: a
    migration new in the change is never baselined; `why_not` says so in the report).
    `linted(owner)` says which entries the run could have matched; those left unmatched are
    reported as `unused-baseline-entry` (None: no such report, e.g. the runner's gate, which
    lints pending migrations only).
    """
    if baseline is None:
        return result
    left = {k: e.count for k, e in baseline.entries.items()}
    refused: set[Key] = set()
    kept: list[Finding] = []
    accepted = 0
    for f in sorted(result.findings, key=lambda f: (f.file, f.line, f.rule)):
        key = finding_key(f, baseline.folder)
        if left.get(key, 0) > 0 and f.rule not in LOCKED_RULES and (eligible is None or eligible(f)):
            left[key] -= 1
            accepted += 1
        else:
            if key in left:
                refused.add(key)
            kept.append(f)
    if linted is not None:
        kept.extend(_stale(baseline, left, refused, settings, linted, why_not))
    return replace(result, findings=kept, baselined=result.baselined + accepted)


def _stale(
    baseline: Baseline,
    left: dict[Key, int],
    refused: set[Key],
    settings: Settings,
    linted: Callable[[str], bool],
    why_not: str,
) -> list[Finding]:
    if STALE_RULE in settings.disable:
        return []
    from guard.paths import display

    severity = settings.severity_of(STALE_RULE, Severity.INFO)
    shown = display(baseline.path)
    out = []
    for key, n in left.items():
        entry = baseline.entries[key]
        if n <= 0 or not linted(entry.migration):
            continue
        what = f"{n} of {entry.count}" if n != entry.count else "it"
        if key in refused:
            message = f"baseline entry for {entry.rule} in {entry.migration} is not honoured: {why_not}"
        else:
            message = f"baseline entry for {entry.rule} in {entry.migration} no longer occurs ({what})"
        out.append(
            Finding(
                STALE_RULE,
                severity,
                shown,
                entry.line or 1,
                message,
                "run `migration-guard baseline` to rewrite the file without it",
                migration=None,
            )
        )
    return out


def load_for(settings: Settings, target: Path) -> Baseline | None:
    """The baseline that judges linting `target` (a migrations folder or a file in it): the
    file at `baseline_path`, when it exists and was written for that folder; else None."""
    found = load(baseline_path(settings, target))
    return found if found is not None and found.covers(target) else None
