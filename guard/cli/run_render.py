"""Output of the runner commands: the plan (`status`, `plan`) and the run report (`migrate`,
`rollback`), as JSON or text on stdout."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import click

from guard.textsafe import one_line, safe_line

if TYPE_CHECKING:
    from guard.db.runner import Plan, RunReport


def _out(line: str) -> None:
    click.echo(safe_line(line))


def render_plan(plan: Plan, fmt: str, extra: dict[str, Any] | None = None) -> None:
    """`status` and `plan`: the plan as JSON, or one line per migration, drift and note, then counts."""
    if fmt == "json":
        click.echo(json.dumps({**plan.as_dict(), **(extra or {})}, indent=2, default=str))
        return
    # Ids come from file names and history rows, notes quote them: every line is printed safe.
    for a in plan.fully_applied:
        via = f"  via {a.applied_via}" if a.applied_via else ""
        _out(f"applied  {a.id}  {a.applied_at:%Y-%m-%d %H:%M:%S%z}  by {a.applied_by}{via}")
    for a in plan.partial:
        what = "up" if a.status == "partial" else "rollback"
        _out(
            f"partial  {a.id}  {a.statements_done} statements of its {what} done "
            f"(stopped {a.applied_at:%Y-%m-%d %H:%M:%S%z}, by {a.applied_by})"
        )
    for m in plan.not_started:
        _out(f"pending  {m.id}")
    drift = plan.drift
    for m, _ in drift.edited:
        _out(f"drift    {m.id}: edited since it was applied (checksum differs)")
    for m, a in drift.reused:
        _out(
            f"drift    {m.id}: {m.version} is already applied as {a.id}; give the new migration a later version"
        )
    for m, a in drift.ambiguous:
        _out(
            f"drift    {m.id}: shares its version with {a.id}, recorded by an earlier build; it may have run"
        )
    for a in drift.missing:
        _out(f"drift    {a.id}: applied, but no file")
    for m in drift.out_of_order:
        _out(f"drift    {m.id}: pending but older than the newest applied migration")
    for note in (extra or {}).get("notes", []):
        _out(f"note     {one_line(note)}")
    click.echo(
        f"{len(plan.fully_applied)} applied, {len(plan.partial)} partial, {len(plan.not_started)} pending, "
        f"{len(drift.edited) + len(drift.missing) + len(drift.out_of_order) + len(drift.reused) + len(drift.ambiguous)}"
        " drift"
    )


def render_report(
    report: RunReport, fmt: str, started: float | None = None, shown: set[str] | frozenset[str] = frozenset()
) -> None:
    """`migrate` and `rollback`: the report as JSON, or in text what the lines printed during the run
    (`shown`) did not say, then the count per status and the time since `started`."""
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2, default=str))
        return
    for o in report.outcomes:
        # Printed as it happened ("  applied X in N ms", "  rolled back X in N ms", a dry run's
        # headline): only details are left, each naming its migration.
        line = o.headline()
        streamed = o.status in ("applied", "rolled back") or line in shown
        if not streamed:
            _out(line)
        indent = f"  {o.migration}: " if streamed else "    "
        for u in o.locks:
            _out(f"{indent}lock {u.describe()}")
        if o.error:  # Postgres's DETAIL/HINT lines joined with " | "
            _out(f"{indent}error at line {o.line}: {one_line(o.error)}")
        for b in o.blockers:
            _out(f"{indent}{one_line(b.describe())}")
        for note in o.notes:
            _out(f"{indent}note: {one_line(note)}")
    if report.outcomes and started is not None:
        counts = Counter(o.status for o in report.outcomes)
        done = ", ".join(f"{n} {status}" for status, n in counts.items())
        _out(f"{done} in {time.perf_counter() - started:.1f}s")
    for note in report.notes:
        if note not in shown:
            _out(one_line(note))
    if report.wait is not None:
        _out(one_line(report.wait.message()))
        _out(f"  next: {one_line(report.wait.hint())}")
