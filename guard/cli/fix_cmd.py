"""The `fix` command: rewrite fixable lint findings of unmerged migrations into the safe sequence."""

from __future__ import annotations

import json
from pathlib import Path

import click

from guard.cli.common import config_options, format_option, resolve_migrations_dir, settings_for
from guard.errors import InputError


@click.command("fix")
@click.argument("targets", nargs=-1, type=click.Path(path_type=Path))
@format_option(("text", "json"))
@config_options
@click.option("--pg-version", type=int, default=None, help="Target Postgres major version (default 15).")
@click.option(
    "--base",
    metavar="REF",
    default=None,
    help="Fix only migrations new since the merge base of REF (merged migrations never change).",
)
@click.option("--write", is_flag=True, default=False, help="Write the files (default: print a unified diff).")
def fix(
    targets: tuple[Path, ...],
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    pg_version: int | None,
    base: str | None,
    write: bool,
) -> None:
    """Rewrite fixable lint findings into the safe sequence of migrations.

    TARGETS: the migrations folder (default: the configured one, then the usual places),
    optionally followed by migrations (ids, versions or files) to fix only those. Without
    --write, prints the unified diff of what it would write. Exit 0 when no finding is left
    (or, without --write, none at all), 1 when findings remain, 2 on usage or input errors.
    """
    from guard.fix.plan import apply_plan, plan_fixes
    from guard.fix.report import as_json, summary, unified_diff

    folders = [t for t in targets if t.is_dir()]
    if len(folders) > 1:
        raise click.UsageError("fix takes one migrations folder, then optional migrations to fix")
    folder_arg = folders[0] if folders else None
    settings = settings_for(
        folder_arg, config_file, layout=(layout, "--layout"), pg_version=(pg_version, "--pg-version")
    )
    folder = resolve_migrations_dir(folder_arg, settings)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder", "pass the migrations folder first, then the migrations")
    chosen = [str(t) for t in targets if t not in folders]
    plan = plan_fixes(folder, settings, base=base, only=chosen or None)
    if write:
        apply_plan(plan)
    if fmt == "json":
        click.echo(json.dumps(as_json(plan, written=write), indent=2))
    else:
        if not write:
            click.echo(unified_diff(plan), nl=False)
        # The diff alone goes to stdout, so it can be piped to `git apply`.
        click.echo(summary(plan, written=write), nl=False, err=not write)
    left = bool(plan.unfixable) or (not write and bool(plan.fixed))
    raise SystemExit(1 if left else 0)
