"""Plan a `fix` run: lint the folder, pick the findings of migrations not merged yet, rewrite
each offending statement with its recipe, and lay the follow-up migrations out in the layout.

`plan_fixes` writes nothing; `apply_plan` writes what a plan holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from guard.config import Settings
from guard.fix import layout as lay
from guard.fix import read
from guard.fix.assemble import assemble
from guard.fix.model import Context, FixPlan, Source, StatementFix
from guard.fix.reasons import why_not
from guard.fix.recipes import RECIPES
from guard.fix.rewrite import shares_a_line
from guard.lint.schema_index import SchemaIndex
from guard.model import Finding, Migration
from guard.parsing import split_statements
from guard.paths import display_path

TIMEOUTS = "require-timeouts"


def plan_fixes(
    folder: Path,
    settings: Settings,
    *,
    base: str | None = None,
    only: Sequence[str] | None = None,
    fetch: bool = True,
    now: datetime | None = None,
) -> FixPlan:
    """What `fix` would write for the migrations under `folder`: only those new since `base` when
    given, and only those `only` names (ids, versions or files) when given."""
    from guard.layouts import discover
    from guard.lint.engine import lint_path

    discovery = discover(folder, settings.layout, settings.exclude)
    result = lint_path(folder, settings)  # no findings cache: a dry run writes nothing
    plan = FixPlan(folder, discovery.layout)
    by_id = {m.id: m for m in discovery.migrations}
    open_ids = set(by_id)
    if base is not None:
        from guard.lint.changeset import new_since

        new, notes = new_since(folder, base, discovery.migrations, fetch=fetch)
        open_ids = set(new)
        plan.notices += notes
        merged = sum(1 for f in result.findings if f.migration in by_id and f.migration not in open_ids)
        if merged:
            plan.notices.append(
                f"{merged} findings in migrations merged before {base} left alone (merged migrations never change)"
            )
    if only is not None:
        open_ids &= _selected(discovery.migrations, only)
    blocking = [f for f in result.findings if f.severity >= settings.fail_on]
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for f in blocking:
        if f.migration is None or f.migration not in by_id:
            if only is None:
                plan.leave(f, "the finding is about the migration set, not a statement fix can rewrite")
            continue
        if f.migration in open_ids:
            grouped[f.migration].append(f)
    if discovery.layout not in lay.WRITABLE:
        for items in grouped.values():
            for f in items:
                plan.leave(f, f"fix does not write {discovery.layout} migrations (its journal lists them)")
        return plan
    index = SchemaIndex(discovery.migrations)
    taken = {m.version for m in discovery.migrations}
    existing = [m.version for m in discovery.migrations]
    clock = now or datetime.now(UTC)
    order = {m.id: i for i, m in enumerate(discovery.migrations)}
    for mid in sorted(grouped, key=order.__getitem__):
        source = _read_source(plan, by_id[mid], grouped[mid], settings, index)
        if source is not None:
            assemble(plan, source, settings, existing, taken, clock, base is not None)
    return plan


def _selected(migrations: Sequence[Migration], names: Sequence[str]) -> set[str]:
    from guard.errors import InputError

    out: set[str] = set()
    for n in names:
        path = Path(n).resolve() if Path(n).exists() else None
        hits = {
            m.id
            for m in migrations
            if n in (m.id, m.version)
            or (
                path is not None
                and path in (m.up_path.resolve(), m.down_path.resolve() if m.down_path else None)
            )
        }
        if not hits:
            raise InputError(
                f"{n}: no such migration in the folder", "name a migration by its id, version or file"
            )
        out |= hits
    return out


def _read_source(
    plan: FixPlan, m: Migration, findings: list[Finding], settings: Settings, index: SchemaIndex
) -> Source | None:
    statements, _ = split_statements(m.up_sql, m.up_line)
    up_file = display_path(m.up_path)
    source = Source(m, statements, [], [])

    per_statement: dict[int, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.rule == TIMEOUTS and f.file == up_file:
            source.timeouts.append(f)
            continue
        stmt = next((s for s in statements if s.line <= f.line <= s.end_line), None)
        if f.file != up_file or stmt is None or not any(r == f.rule for r in RECIPES):
            plan.leave(f, why_not(f.rule))
            continue
        per_statement[stmt.index].append(f)
    for stmt in statements:
        found = per_statement.get(stmt.index)
        if not found:
            continue
        if shares_a_line(stmt, statements):
            for f in found:
                plan.leave(f, "the statement shares a line with another one; put it on lines of its own")
            continue
        ctx = Context(stmt, statements, settings.pg_version, *read.column_facts(index, m, statements, stmt))
        outcome = _first_recipe(ctx, found)
        if isinstance(outcome, str):
            for f in found:
                plan.leave(f, outcome)
            continue
        covered = [f for f in found if f.rule in outcome.rules]
        for f in found:
            if f.rule not in outcome.rules:
                plan.leave(f, why_not(f.rule))
        source.fixes.append((stmt, outcome, covered))
    return source if source.fixes or source.timeouts else None


def _first_recipe(ctx: Context, found: Sequence[Finding]) -> StatementFix | str:
    reason = ""
    for f in found:
        try:
            outcome = RECIPES[f.rule](ctx)
        except ValueError as exc:  # a writer refused a piece: fail closed, never write SQL that may not parse
            outcome = f"the rewritten SQL would not parse ({exc})"
        if not isinstance(outcome, str):
            return outcome
        reason = reason or outcome
    return reason


def apply_plan(plan: FixPlan) -> list[Path]:
    """Write every file of `plan`; returns the paths written. Refuses when a file changed since the
    plan read it; an unwritable file is an `InputError` naming it."""
    from guard.errors import InputError
    from guard.layouts.files import os_error

    written = []
    try:
        for change in plan.changes:
            now = change.path.read_text(encoding="utf-8") if change.path.exists() else None
            if now != change.before:
                raise InputError(f"{change.path}: changed while fix ran", "run fix again")
        for change in plan.changes:
            change.path.parent.mkdir(parents=True, exist_ok=True)
            change.path.write_text(change.after, encoding="utf-8")
            written.append(change.path)
    except OSError as exc:
        raise os_error(exc, Path(exc.filename or plan.folder)) from None
    return written
