"""The `down` command: options -> throwaway Postgres -> `guard.down.draft` -> report -> exit code.

Prints the drafts (dry run) or, with `--write`, writes them where the layout keeps downs.
Exit 0 when every migration that needs a down got one, 1 when one was refused, 2 when the
command could not run (no server, bad flags, unreadable files).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from guard.cli.common import (
    config_options,
    database_command,
    format_option,
    resolve_migrations_dir,
    settings_for,
    shadow_options,
)
from guard.cli.signals import terminate_as_interrupt
from guard.errors import InputError
from guard.model import Migration
from guard.textsafe import safe_line


@click.command()
@click.argument("targets", nargs=-1, metavar="[PATH] [MIGRATION]...")
@click.option(
    "--write", is_flag=True, help="Write the drafts where the layout keeps downs (default: print them)."
)
@format_option()
@config_options
@shadow_options
@click.option("--pg-version", type=int, default=None, help="Target Postgres major version (default 15).")
@database_command
def down(
    targets: tuple[str, ...],
    write: bool,
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    shadow: str | None,
    shadow_url: str | None,
    image: str | None,
    pg_version: int | None,
) -> None:
    """Draft down migrations for ups that have none, or an empty, no-op or stub one.

    PATH is the migrations folder; MIGRATION names limit drafting to those migrations (id or
    version). Each draft is round-tripped (up, down, up) on a throwaway Postgres before it is
    shown or written; one that does not restore the schema is refused. Exit 0 when every
    migration that needs a down got one, 1 when one was refused, 2 when drafting could not run.
    """
    from guard.db.shadow import default_provider, start_server, throwaway_database
    from guard.down import files
    from guard.down.draft import draft_downs
    from guard.layouts import discover
    from guard.report.down import as_document, render_text

    path = Path(targets[0]) if targets and Path(targets[0]).is_dir() else None
    names = targets[1:] if path is not None else targets
    settings = settings_for(
        path,
        config_file,
        layout=(layout, "--layout"),
        shadow=(shadow, "--shadow"),
        shadow_image=(image, "--image"),
        pg_version=(pg_version, "--pg-version"),
    )
    provider = settings.shadow
    if settings.source_of("shadow") == "default":
        provider = "url" if shadow_url else default_provider()
    folder = resolve_migrations_dir(path, settings)
    discovery = discover(folder, settings.layout, exclude=settings.exclude)
    migrations = list(discovery.migrations)
    if not migrations:
        raise InputError(f"{folder}: no migrations found", "pass the folder that holds your migrations")
    only = _select(migrations, names) if names else None
    with (
        terminate_as_interrupt(),
        start_server(provider, settings, url=shadow_url) as server,
        throwaway_database(server, settings) as db,
    ):
        result = draft_downs(db, migrations, settings, only, _progress if sys.stderr.isatty() else None)
    if sys.stderr.isatty():
        click.echo("\r\033[K", err=True, nl=False)
    for f in discovery.findings:
        result.notices.append(f"{f.file}:{f.line}: {f.message}")
    if write:
        by_id = {m.id: m for m in migrations}
        for d in result.drafts:
            if d.status != "refused" and d.target is not None:
                files.write(by_id[d.id], d.target, d.sql)
                d.written = True
    if fmt == "json":
        import json

        click.echo(json.dumps(as_document(result, write=write), indent=2))
    else:
        render_text(result, sys.stdout, write=write)
    sys.stdout.flush()
    if result.environment_error is not None:
        from guard.cli import report_error

        report_error(result.environment_error)
    sys.exit(result.exit_code)


def _select(migrations: list[Migration], names: tuple[str, ...]) -> frozenset[str]:
    """Ids of the migrations `names` name (by id or version); an unknown name is an error."""
    chosen = set()
    for name in names:
        found = [m.id for m in migrations if name in (m.id, m.version)]
        if not found:
            raise InputError(
                f"{name}: no such migration", "name migrations by id (<version>_<name>) or version"
            )
        chosen.update(found)
    return frozenset(chosen)


def _progress(done: int, total: int, migration: str) -> None:
    shown = safe_line(f"[{done}/{total}] drafting {migration}")
    click.echo(f"\r\033[K{shown}", err=True, nl=False)
