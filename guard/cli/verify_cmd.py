"""The `verify` command: options -> throwaway Postgres -> `guard.verify` -> report -> exit code.

Exit 0 when every migration round-trips (and the schema file matches), 1 when one
does not, 2 when verification could not run (no server, bad flags, unreadable files).

Output is written as verification goes, one flushed line per migration with the time it
took: the text report itself on stdout, or (other formats, whose report comes at the end)
a progress line per migration on stderr. Under GitHub Actions, annotations and a job
summary are added, as `lint` does.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from guard.cli.common import (
    config_options,
    database_command,
    path_argument,
    resolve_migrations_dir,
    settings_for,
    shadow_options,
)
from guard.cli.signals import terminate_as_interrupt
from guard.errors import ConfigError, InputError
from guard.textsafe import safe_line

if TYPE_CHECKING:
    from guard.model import Finding
    from guard.verify_result import Outcome

FORMATS = ("text", "json", "github", "sarif")


@click.command()
@path_argument
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Output format."
)
@config_options
@shadow_options
@click.option(
    "--since", "since", default=None, metavar="REF", help="Verify only migrations added since this git ref."
)
@click.option(
    "--data",
    "data_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="SQL that loads representative rows; table contents are then compared too.",
)
@click.option(
    "--data-after",
    default=None,
    metavar="VERSION",
    help="Load --data after this migration (default: before the first verified one).",
)
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Committed schema file (.json from --write-schema, or a .sql dump) the migrations must produce.",
)
@click.option(
    "--write-schema",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the migrations' normalized schema to this .json file.",
)
@click.option("--pg-version", type=int, default=None, help="Target Postgres major version (default 15).")
@database_command
def verify(
    path: Path | None,
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    shadow: str | None,
    shadow_url: str | None,
    image: str | None,
    since: str | None,
    data_file: Path | None,
    data_after: str | None,
    schema_file: Path | None,
    write_schema: Path | None,
    pg_version: int | None,
) -> None:
    """Prove each down migration undoes its up on a throwaway Postgres.

    For each migration: snapshot, up, snapshot, down (schema and data must
    equal the first snapshot), up again (must equal the second). PATH is the
    migrations folder. Exit 0 when all round-trip, 1 when one does not, 2 when
    verification could not run.
    """
    from guard.db.shadow import default_provider, start_server, throwaway_database
    from guard.layouts import discover
    from guard.lint.changeset import new_since
    from guard.lint.run import ROOTED_FORMATS, report_root
    from guard.report.verify import header_line, publish_to_actions, render_verify
    from guard.verify import VerifyOptions, verify_migrations
    from guard.verify_schema import check_schema_file, read_text, write_schema_file

    settings = settings_for(
        path,
        config_file,
        layout=(layout, "--layout"),
        shadow=(shadow, "--shadow"),
        shadow_image=(image, "--image"),
        schema_file=(str(schema_file) if schema_file else None, "--schema"),
        pg_version=(pg_version, "--pg-version"),
    )
    provider = settings.shadow
    if settings.source_of("shadow") == "default":
        provider = "url" if shadow_url else default_provider()
    if write_schema is not None and write_schema.suffix.lower() == ".sql":
        raise ConfigError(
            "--write-schema writes the normalized JSON schema, not SQL", "use a .json file name"
        )
    folder = resolve_migrations_dir(path, settings)
    discovery = discover(folder, settings.layout, exclude=settings.exclude)
    migrations = list(discovery.migrations)
    if not migrations:
        raise InputError(f"{folder}: no migrations found", "pass the folder that holds your migrations")
    only, since_notes = new_since(folder, since, migrations) if since else (None, [])
    data_sql = read_text(data_file, "--data") if data_file else None
    expected_path = settings.schema_file
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    root = report_root(folder) if in_actions or fmt in ROOTED_FORMATS else None
    started = time.perf_counter()
    with (
        terminate_as_interrupt(),
        start_server(provider, settings, url=shadow_url) as server,
    ):
        if fmt == "text":
            _write_line(header_line(server.description))
        setup = time.perf_counter()
        with throwaway_database(server, settings) as db:
            setup = time.perf_counter() - setup
            options = VerifyOptions(
                only=only,
                data_sql=data_sql,
                data_name=str(data_file),
                data_after=data_after,
                progress=_progress if sys.stderr.isatty() else None,
                on_outcome=_outcome_text if fmt == "text" else _outcome_progress,
            )
            result = verify_migrations(db, migrations, settings, options)
            result.timings.setup = setup
        _clear_progress()
        if expected_path is not None and result.complete:
            check_schema_file(result, server, settings, expected_path)
    for f in discovery.findings:
        result.notices.append(f"{f.file}:{f.line}: {f.message}")
    if since:
        result.notices += since_notes
        result.notices.append(f"--since {since}: verifying {len(only or ())} new migration(s)")
    if write_schema is not None:
        write_schema_file(result, write_schema)
    elapsed = time.perf_counter() - started
    render_verify(result, fmt, sys.stdout, elapsed, discovery.layout, streamed=fmt == "text", root=root)
    if in_actions:
        publish_to_actions(
            result,
            fmt=fmt,
            layout=discovery.layout,
            summary_file=os.environ.get("GITHUB_STEP_SUMMARY"),
            stdout=sys.stdout,
            stderr=sys.stderr,
            root=root,
        )
    sys.stdout.flush()
    if result.environment_error is not None:
        from guard.cli import report_error

        report_error(result.environment_error)
    sys.exit(result.exit_code)


def _progress(done: int, total: int, migration: str, step: str) -> None:
    shown = safe_line(f"[{done}/{total}] {step} {migration} ({total - done} left)")
    click.echo(f"\r\033[K{shown}", err=True, nl=False)


def _clear_progress() -> None:
    if sys.stderr.isatty():
        click.echo("\r\033[K", err=True, nl=False)


def _write_line(text: str) -> None:
    """Write report lines to stdout at once (a CI log shows them as they come, not at exit)."""
    _clear_progress()
    sys.stdout.write(text)
    sys.stdout.flush()


def _outcome_text(outcome: Outcome, findings: list[Finding]) -> None:
    from guard.report.verify import outcome_lines

    _write_line(outcome_lines(outcome, findings))


def _outcome_progress(outcome: Outcome, findings: list[Finding]) -> None:
    """Other formats report at the end: meanwhile one line per migration on stderr (not on a
    terminal, where the progress line is redrawn instead)."""
    if sys.stderr.isatty() or outcome.status == "not-reached":
        return
    sys.stderr.write(safe_line(f"verify: {outcome.status} {outcome.id} {outcome.seconds:.2f}s") + "\n")
    sys.stderr.flush()
