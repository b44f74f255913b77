"""Assemble a fixed migration: its rewritten files and the new migrations that follow it, with
versions in the layout's scheme (contract stubs after every migration there is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from guard.config import Settings
from guard.fix import layout as lay
from guard.fix import read
from guard.fix.model import CONTRACT, FileChange, FixPlan, Source, StatementFix, Step
from guard.fix.rewrite import Replacement, edit_section, replacement, source_files, up_prepend
from guard.model import Finding, Migration, version_key
from guard.parsing import split_statements
from guard.sql import safe_sql
from guard.sql.facts import Setting
from guard.statement import Statement


def _outside_transaction(statements: tuple[str, ...] | list[str]) -> bool:
    """True when one of `statements` is a CONCURRENTLY form, which cannot run in a transaction."""
    return any("CONCURRENTLY" in s.upper().split(None, 4)[:4] for s in statements)


@dataclass
class _Rewrite:
    """What the statements of one migration become: line edits, new steps, the undo of the edits."""

    edits: list[Replacement] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    undo: list[str] = field(default_factory=list)
    can_regenerate: bool = True
    alone_in_place: bool = False
    done: list[tuple[Statement, StatementFix, list[Finding]]] = field(default_factory=list)


def _rewrite(plan: FixPlan, source: Source) -> _Rewrite:
    """Decide per fix: rewritten in place, moved to a migration of its own, or left (with the reason)."""
    m = source.migration
    fixed_idx = {stmt.index for stmt, _, _ in source.fixes}
    others = [s for s in source.statements if s.index not in fixed_idx and not isinstance(s.fact, Setting)]
    whole = not others
    out = _Rewrite()
    for stmt, fix, findings in source.fixes:
        moved = fix.alone_no_transaction and not (whole and len(source.fixes) == 1)
        if not whole and not fix.keeps_down and not moved:
            for f in findings:
                plan.leave(
                    f, "its migration holds other statements, so its down file would need editing by hand"
                )
            continue
        if moved:
            if fix.undo is None or (fix.keeps_down and not _movable(fix, m)):
                for f in findings:
                    plan.leave(
                        f, "it must run alone, outside a transaction: move it to a migration of its own first"
                    )
                continue
            slug = f"{m.name or 'fix'}_{fix.rules[0].replace('-', '_')}"
            out.steps.append(Step(slug, fix.now, fix.undo, True, ()))
            note = f"fix ({', '.join(fix.rules)}): {fix.note}; moved to the next migration"
            out.edits.append(replacement(stmt, (), note))
        else:
            out.alone_in_place = out.alone_in_place or fix.alone_no_transaction
            out.edits.append(replacement(stmt, fix.now, f"fix ({', '.join(fix.rules)}): {fix.note}"))
        out.steps.extend(fix.later)
        if fix.undo is None:
            out.can_regenerate = False
        else:
            out.undo[:0] = list(fix.undo)
        out.done.append((stmt, fix, findings))
    out.can_regenerate = out.can_regenerate and whole
    return out


def assemble(
    plan: FixPlan,
    source: Source,
    settings: Settings,
    existing: list[str],
    taken: set[str],
    now: datetime,
    with_base: bool,
) -> None:
    """Add to `plan` the files of one fixed migration and of the migrations that follow it.

    `existing` and `taken` are the versions in use (updated with the new ones); `now` dates contract
    stubs; `with_base` keeps contracts out of the change (printed as notices instead).
    """
    m = source.migration
    r = _rewrite(plan, source)
    steps, edits, done, undo = r.steps, r.edits, r.done, r.undo
    alone_in_place = r.alone_in_place
    if not done and not source.timeouts:
        return
    # A contract ships after the release that stops using the old name, so its stub goes after
    # every migration there is; with --base it waits for a later change altogether.
    contracts = [s for s in steps if CONTRACT in s.header]
    steps = [s for s in steps if s not in contracts]
    versions = lay.following_versions(m.version, existing, taken, len(steps), plan.layout) if steps else []
    if versions is not None and contracts and not with_base:
        last = max(existing, key=version_key)
        at_end = lay.following_versions(
            last, existing, taken | set(versions), len(contracts), plan.layout, now
        )
        versions = None if at_end is None else versions + at_end
        steps += contracts
    contract_later = contracts if with_base else []
    if versions is None:
        for _, _, findings in done:
            for f in findings:
                plan.leave(f, f"no free version between {m.version} and the next migration for the new ones")
        done, steps, edits, versions = [], [], [], []
        if not source.timeouts:
            return
    timeouts = _timeouts(settings) if settings.require_timeouts else []
    regenerate = r.can_regenerate and any(not fix.keeps_down for _, fix, _ in done)
    new_up = edit_section(
        m.up_sql,
        m.up_line,
        edits,
        up_prepend(m.up_sql, no_transaction=alone_in_place, timeouts=timeouts if source.timeouts else ()),
    )
    new_down = None
    if regenerate and lay.has_down_files(plan.layout):
        new_down = lay.sql_text(undo, no_transaction=_outside_transaction(undo))
    no_tx = alone_in_place or m.transaction is False
    for own, text in source_files(m, new_up, new_down, no_transaction=no_tx):
        _change(plan, Path(own), text)
    for f in source.timeouts:
        plan.fixed.append((m.id, f.rule, f.line, "SET lock_timeout and statement_timeout at the top"))
    for _, fix, findings in done:
        for f in findings:
            plan.fixed.append((m.id, f.rule, f.line, fix.note))
    for version, step in zip(versions, steps, strict=True):
        taken.add(version)
        existing.append(version)
        header = tuple(h.replace("{expand}", m.version) for h in step.header)
        up = lay.sql_text([*timeouts, *step.up], header, no_transaction=step.no_transaction)
        down = (
            lay.sql_text(step.down, no_transaction=_outside_transaction(step.down))
            if lay.has_down_files(plan.layout)
            else None
        )
        slug = safe_slug(step.slug)
        for path, text in lay.new_migration_files(
            plan.layout, m, version, slug, up, down, no_transaction=step.no_transaction
        ):
            _change(plan, path, text)
    for step in contract_later:
        lines = [h.replace("{expand}", m.version) for h in step.header] + [s + ";" for s in step.up]
        plan.notices.append(
            f"{m.id}: the contract step goes in a later change (a contract may not ship with its expand):\n"
            + "\n".join(lines)
        )


def _movable(fix: StatementFix, m: Migration) -> bool:
    """True when `fix` can move to a migration of its own while `m` keeps its down file: its statement
    changes no schema (a rebuild), or it builds an index `m`'s down drops only `IF EXISTS`, if at all."""
    if fix.rules == ("require-concurrent-reindex",):
        return True
    if fix.index is None:
        return False
    downs, _ = split_statements(m.down_sql or "")
    target = read.name_key(fix.index)
    return not any(
        (found := read.read_drop_index(s)) is not None and found[0].key == target and not found[1]
        for s in downs
    )


def _timeouts(settings: Settings) -> list[str]:
    return [
        safe_sql.set_timeout("lock_timeout", settings.lock_timeout),
        safe_sql.set_timeout("statement_timeout", settings.statement_timeout),
    ]


def safe_slug(text: str) -> str:
    """A migration name part made of lower-case letters, digits and underscores."""
    out = "".join(c if c.isalnum() and c.isascii() else "_" for c in text.lower()).strip("_")
    return "_".join(p for p in out.split("_") if p)[:60] or "fix"


def _change(plan: FixPlan, path: Path, text: str) -> None:
    for change in plan.changes:
        if change.path == path:
            change.after = text
            return
    before = path.read_text(encoding="utf-8") if path.exists() else None
    if before is not None and before == text:
        return
    plan.changes.append(FileChange(path, before, text))
