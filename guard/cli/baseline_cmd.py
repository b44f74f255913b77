"""The `baseline` command: record the findings existing migrations have today, so that
`lint`, the CI gate and the runner's lint gate block only new ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from guard.cli.common import (
    config_options,
    format_option,
    jobs_option,
    path_argument,
    resolve_migrations_dir,
    settings_for,
)


@click.command()
@path_argument
@format_option()
@config_options
@click.option(
    "--check",
    is_flag=True,
    default=False,
    help="Write nothing; exit 1 when the file is not what `baseline` would write "
    "(findings it lacks, or entries that no longer occur).",
)
@jobs_option
def baseline(
    path: Path | None, fmt: str, config_file: Path | None, layout: str | None, check: bool, jobs: int
) -> None:
    """Write the lint baseline of a migrations folder: today's findings, accepted.

    The file (setting `baseline`, default migration-guard-baseline.json at the project root)
    is meant to be committed. Findings are matched by migration, rule and statement text
    (normalised: whitespace, comments and keyword case do not matter), never by line, with a
    count; new findings still block. Run it again to drop entries that no longer occur.
    Exit 0 when written (or up to date with --check), 1 with --check when it is not.
    """
    from guard.lint.baseline_update import update_baseline

    settings = settings_for(path, config_file, layout=(layout, "--layout"))
    folder = resolve_migrations_dir(path, settings)
    update = update_baseline(folder, settings, check=check, jobs=jobs)
    if fmt == "json":
        doc = {
            "path": str(update.path),
            "findings": update.findings,
            "entries": len(update.entries),
            "migrations": update.migrations,
            "added": update.added,
            "removed": update.removed,
            "changed": update.changed,
            "written": update.written,
        }
        click.echo(json.dumps(doc, indent=2))
    else:
        state = "wrote" if update.written else ("would change" if update.changed else "up to date:")
        click.echo(
            f"{state} {update.path}: {update.findings} findings accepted in {len(update.entries)} entries "
            f"({update.migrations} migrations; {update.added} added, {update.removed} no longer occur)"
        )
    sys.exit(1 if check and update.changed else 0)
