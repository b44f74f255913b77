"""The CI gate's view of the expand/contract window: a new contract whose expand reached the base
branch less than `contract_window_hours` ago is refused (`wait-for-contract-window`), with the
time it can merge.

Merged early, such a contract would make every production deploy stop before it (exit 3) until
the window opens, holding back every migration merged behind it; the merge is the cheap place
to wait. When the expand reached the base branch is the committer time of the first commit on
the branch's first-parent line that added the expand's up file (the merge, squash or rebased
commit), read from git; a shallow clone is deepened until that commit is in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from guard.config import Settings
from guard.lint.changes import BaseTree, rel_path
from guard.lint.directives import read_file_directives
from guard.lint.registry import all_rules
from guard.model import Finding, Migration, version_key
from guard.parsing import split_statements
from guard.paths import display_path
from guard.timefmt import format_remaining, utc

RULE = "wait-for-contract-window"


@dataclass
class WindowCheck:
    """The findings and the notices (what was measured, what git had to fetch) of the check."""

    findings: list[Finding] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Contract:
    migration: Migration
    line: int
    expand: Migration


def _contracts(new: Sequence[Migration], merged: Sequence[Migration]) -> list[_Contract]:
    """New contracts whose expand is already merged (an expand new in the same change is another rule's)."""
    by_version = {version_key(m.version): m for m in merged}
    new_versions = {version_key(m.version) for m in new}
    known = all_rules().keys()
    out = []
    for m in new:
        directives = read_file_directives(split_statements(m.up_sql, m.up_line)[1], known)
        if directives.contract is None:
            continue
        key = version_key(directives.contract)
        expand = by_version.get(key)
        if expand is not None and key not in new_versions:
            out.append(_Contract(m, directives.contract_line or m.up_line, expand))
    return out


def check_contract_windows(
    root: Path,
    folder_rel: str,
    new: Sequence[Migration],
    base: BaseTree,
    tip: str,
    settings: Settings,
    now: datetime,
    *,
    fetch: bool = True,
) -> WindowCheck:
    """Refuse each new contract of `new` whose expand reached `base.ref` (tip `tip`) less than the
    window before `now`. Nothing binds when the window is 0 or bound to no environment."""
    from guard import gitutil

    out = WindowCheck()
    hours = settings.contract_window_hours
    if hours <= 0 or not settings.contract_window_envs:
        return out
    contracts = _contracts(new, [*base.migrations, *base.tip_migrations])
    if not contracts:
        return out
    prefix = f"{folder_rel.rstrip('/')}/" if folder_rel else ""
    paths = {c.migration.id: prefix + rel_path(c.expand.up_path, Path(".")) for c in contracts}
    arrived = gitutil.arrivals(root, base.ref, tip, list(paths.values()), fetch=fetch)
    out.notices.extend(arrived.notes)
    severity = settings.severity_of(RULE, all_rules()[RULE].severity)
    for c in contracts:
        m, path = c.migration, paths[c.migration.id]
        hit = arrived.found.get(path)
        if hit is None:
            message = (
                f"{m.id} contracts {c.expand.id}, but git cannot tell when {path} reached {base.ref} "
                "(its history is not in this clone), so the contract window cannot be checked"
            )
            fix = "fetch the full history (`fetch-depth: 0` on actions/checkout, or `git fetch --unshallow`)"
        else:
            sha, when = hit
            opens = when + timedelta(hours=hours)
            if now >= opens:
                out.notices.append(
                    f"{m.id}: its expand {c.expand.id} reached {base.ref} at {utc(when)} "
                    f"(commit {sha[:12]}); the {hours:g}h contract window is open"
                )
                continue
            message = (
                f"{m.id} contracts {c.expand.id}, which reached {base.ref} at {utc(when)} (commit "
                f"{sha[:12]}); the {hours:g}h expand/contract window opens at {utc(opens)}, "
                f"{format_remaining(opens - now)} from now; merged before then, every production deploy "
                "stops before this contract until it opens, holding back what is merged behind it"
            )
            fix = f"merge it after {utc(opens)}; until then keep the pull request open (or in draft)"
        out.findings.append(
            Finding(
                rule=RULE,
                severity=severity,
                file=display_path(m.up_path),
                line=c.line,
                end_line=c.line,
                message=message,
                fix=fix,
                migration=m.id,
            )
        )
    return out
