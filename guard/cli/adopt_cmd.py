"""`adopt`: record in our history what another tool (or a person) already applied; and the part of
`exec` that reads and records the wrapped tool's history.

settings -> runtime -> gates (hard lock for prod, marker) -> `guard.db.adopt` -> render -> exit code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from guard.cli.common import database_options

if TYPE_CHECKING:
    from guard.db.adopt import AdoptReport
    from guard.db.runner import RunnerContext
    from guard.db.wrapped import ToolState
    from guard.layouts import Discovery


def tool_inputs(discovery: Discovery) -> dict[str, Any]:
    """What reading another tool's history needs from the files: Hasura's database folder names
    and Drizzle's journal (read here, at the edge)."""
    from guard.db.adopt_match import sources_of
    from guard.layouts.drizzle import journal_path, read_journal

    folders = {discovery.root, *(m.up_path.parent for m in discovery.migrations)}
    journal = {
        e.tag: e.when for f in sorted(folders) if journal_path(f).is_file() for e in read_journal(f).entries
    }
    return {"sources": sources_of(discovery.migrations), "journal": journal}


def wrapped_state(ctx: RunnerContext, discovery: Discovery) -> ToolState | None:
    """For `exec`, before the tool runs: what it has applied (None when the layout names no tool)."""
    from guard.db.wrapped import tool_state

    return tool_state(
        ctx.conn, ctx.settings, discovery.migrations, layout=discovery.layout, **tool_inputs(discovery)
    )


def record_wrapped(ctx: RunnerContext, discovery: Discovery, tool: str | None) -> list[str]:
    """For `exec`, after the tool exited 0: record what it applied; returns the ids recorded."""
    from guard.db.wrapped import record_tool_run

    return record_tool_run(
        ctx.conn,
        ctx.settings,
        discovery.migrations,
        tool,
        host=ctx.host,
        tool_version=ctx.tool_version,
        **tool_inputs(discovery),
    )


def _render(report: AdoptReport, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    verb = "would record" if report.dry_run else "recorded"
    for mid in report.recorded:
        click.echo(f"{verb:12} {mid}")
    for mid in report.already:
        click.echo(f"{'already':12} {mid}")
    for line in report.warnings:
        click.echo(f"warning      {line}")
    click.echo(
        f"{len(report.recorded)} {'to record' if report.dry_run else 'recorded'} from {report.table} ({report.tool}), "
        f"{len(report.already)} already recorded, {len(report.warnings)} warning(s)"
    )


@click.command()
@database_options
@click.option(
    "--through",
    default=None,
    metavar="VERSION",
    help="The database was migrated by hand up to VERSION: record every migration up to it.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be recorded; change nothing.")
def adopt(
    path: Path | None,
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    env: str | None,
    database_url: str | None,
    through: str | None,
    dry_run: bool,
) -> None:
    """Record in migration-guard's history the migrations this database already has, without
    running them, read from the history table of the tool that applied them (Hasura, Prisma,
    dbmate, golang-migrate, Flyway, Drizzle; detected from the layout and the tables present),
    or every migration up to `--through VERSION` for a database migrated by hand.

    Same gates as `migrate` (hard lock for prod, marker), audited. A dirty or failed migration
    of the other tool, or one it applied that has no file, refuses (exit 2); a file it never
    applied below its newest one, or one edited since it ran, is a warning.
    """
    from guard.cli.run_cmd import _discover, _err, _setup
    from guard.cli.runner_ctx import runner_context
    from guard.db.adopt import adopt as adopt_db
    from guard.db.adopt import preview
    from guard.gates import open_gated_connection

    settings, runtime = _setup(path, config_file, layout, env, database_url)
    if dry_run:
        conn = open_gated_connection(
            settings, runtime, mutating=False, out=lambda line: click.echo(line, err=True)
        )
        try:
            discovery = _discover(path, settings)
            report = preview(
                conn,
                discovery.migrations,
                settings.history_schema,
                layout=discovery.layout,
                through=through,
                **tool_inputs(discovery),
            )
        finally:
            conn.close()
    else:
        with runner_context(settings, runtime, mutating=True, out=_err) as ctx:
            discovery = _discover(path, settings)
            report = adopt_db(
                ctx, discovery.migrations, layout=discovery.layout, through=through, **tool_inputs(discovery)
            )
    _render(report, fmt)
