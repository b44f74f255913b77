"""Commands of the safety gates: safety, marker (init, show), doctor."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from guard.cli.common import (
    config_options,
    database_command,
    database_options,
    database_url_option,
    env_option,
    format_option,
    path_argument,
    settings_for,
)
from guard.textsafe import one_line, safe_line

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.gates import Runtime

F = TypeVar("F", bound=Callable[..., Any])


def _runtime(settings: Settings, env: str | None, database_url: str | None) -> Runtime:
    from guard.gates import resolve_runtime

    return resolve_runtime(settings, os.environ, Path.cwd(), env_flag=env, database_url=database_url)


def _echo_err(line: str) -> None:
    click.echo(safe_line(line), err=True)


def _echo(line: str) -> None:
    click.echo(safe_line(line))


@click.command()
@database_options
def safety(
    path: Path | None,
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    env: str | None,
    database_url: str | None,
) -> None:
    """Run the safety gates a migration would pass, and change nothing.

    In order: the production hard lock (when the expected environment is prod:
    CONFIRM_PROD_MIGRATE must be exactly YES in the process environment, and
    DATABASE_URL set), then the target and settings sources are printed for
    prod, then the database's environment marker must match the expected
    environment. Exit 0 when every gate passes, 2 on any refusal.
    """
    from guard.gates import run_gates

    settings = settings_for(path, config_file, layout=(layout, "--layout"))
    runtime = _runtime(settings, env, database_url)
    conn, report = run_gates(
        settings,
        runtime,
        mutating=True,
        out=_echo_err,
        # `safety` itself changes nothing: the refusal says what it predicts, not what it refused.
        action="let a migration through: `migrate` on this production database would be refused "
        "(this check changed nothing)",
    )
    conn.close()
    if fmt == "json":
        click.echo(json.dumps({"ok": True, **asdict(report)}, indent=2))
        return
    _echo(
        f"ok: {report.marker_table} says {report.marker_env!r} as expected "
        f"(from {report.expected_source}) on {report.target}; hard lock {report.hard_lock}"
    )


@click.group()
def marker() -> None:
    """Create or show the environment marker row (`bk_env_marker` by default) of a database."""


@marker.command("init")
@path_argument
@format_option()
@config_options
@click.option(
    "--env", "env", required=True, metavar="ENV", help="Environment to mark the database as (dev, prod, ...)."
)
@click.option(
    "--allow-prod", is_flag=True, help="Required to mark a database as prod (with CONFIRM_PROD_MIGRATE=YES)."
)
@click.option("--force", is_flag=True, help="Change a marker that already holds a different environment.")
@database_url_option
@database_command
def marker_init(
    path: Path | None,
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    env: str,
    allow_prod: bool,
    force: bool,
    database_url: str | None,
) -> None:
    """Create the marker table and its single row for ENV; a no-op when it already says ENV.

    Marking a database as prod needs --allow-prod and the hard lock
    (CONFIRM_PROD_MIGRATE=YES in the process environment), checked before
    connecting. Changing an existing marker needs --force, and changing a prod
    marker also needs the hard lock.
    """
    from guard.db.connect import connect, describe_connection
    from guard.db.hardlock import PROD
    from guard.db.marker import init_marker, init_marker_audited, read_marker
    from guard.db.session import RunnerContext
    from guard.errors import GuardError, SafetyError
    from guard.gates import check_hard_lock, check_prod_settings, describe_sources

    settings = settings_for(path, config_file, layout=(layout, "--layout"))
    runtime = _runtime(settings, env, database_url)
    if env == PROD:
        if not allow_prod:
            raise SafetyError(
                "refusing to mark a database as prod without --allow-prod",
                "pass --allow-prod, with CONFIRM_PROD_MIGRATE=YES in the process environment",
            )
        check_hard_lock(runtime, action="mark a database as prod")
        check_prod_settings(runtime)
    if not runtime.database_url:
        raise SafetyError(
            "DATABASE_URL is not set; refusing to guess which database to mark", "set DATABASE_URL"
        )
    try:
        check_hard_lock(runtime)
        unlocked = True
    except GuardError:
        unlocked = False
    with connect(runtime.database_url) as conn:
        target = describe_connection(conn)
        if env == PROD:
            for line in describe_sources(runtime, target):
                _echo_err(line)
        before = read_marker(conn, settings)
        if before.env != PROD and env != PROD:
            result = init_marker(conn, settings, env, allow_change=force, prod_unlocked=unlocked)
        else:
            if env != PROD:  # demoting a production database: say which one, like every prod command
                _echo_err(f"changing a production marker to {env!r}")
                for line in describe_sources(runtime, target):
                    _echo_err(line)
            with connect(runtime.database_url, application_name="migration-guard lock") as lock_conn:
                ctx = RunnerContext(conn, lock_conn, settings, host=socket.gethostname(), out=_echo_err)
                result = init_marker_audited(ctx, env, before, allow_change=force, prod_unlocked=unlocked)
    if fmt == "json":
        click.echo(json.dumps({**asdict(result), "target": target}, indent=2))
        return
    if result.action == "created":
        _echo(f"created {result.table} = {env!r} on {target}")
    elif result.action == "unchanged":
        _echo(f"{result.table} already says {env!r} on {target}; nothing to do")
    else:
        _echo(f"changed {result.table} from {result.previous!r} to {env!r} on {target}")


@marker.command("show")
@path_argument
@format_option()
@config_options
@database_url_option
@database_command
def marker_show(
    path: Path | None, fmt: str, config_file: Path | None, layout: str | None, database_url: str | None
) -> None:
    """Print the marker of the target database (read only; no gate). Exit 2 when it is missing or invalid."""
    from guard.db.connect import connect, describe_connection
    from guard.db.marker import read_marker
    from guard.environment import layered, lookup, read_dotenv_files
    from guard.errors import ConfigError, SafetyError

    settings = settings_for(path, config_file, layout=(layout, "--layout"))
    url = database_url
    if not url:
        found = lookup(layered(os.environ, read_dotenv_files(Path.cwd())), "DATABASE_URL")
        url = found.value if found else None
    if not url:
        raise ConfigError("DATABASE_URL is not set", "set DATABASE_URL, or pass --database-url")
    with connect(url) as conn:
        target = describe_connection(conn)
        reading = read_marker(conn, settings)
    if fmt == "json":
        click.echo(json.dumps({**asdict(reading), "target": target}, indent=2))
    if reading.problem is not None:
        raise SafetyError(
            f"{reading.table} on {target}: {reading.problem}",
            "create it with `migration-guard marker init --env ENV`",
        )
    if fmt != "json":
        _echo(f"{reading.table} = {reading.env!r} on {target}")


@click.command()
@path_argument
@format_option()
@config_options
@env_option
@click.option("--no-db", is_flag=True, help="Skip the database reachability and marker checks.")
def doctor(
    path: Path | None, fmt: str, config_file: Path | None, layout: str | None, env: str | None, no_db: bool
) -> None:
    """Check the local setup: secrets in .env, .env.local ignored and not committed, the hard
    lock not saved in a file, the database reachable and correctly marked.

    Exit 0 when nothing needs attention, 1 when a check warns or fails.
    """
    from guard.doctor import exit_code, run_doctor

    settings = settings_for(path, config_file, layout=(layout, "--layout"))
    checks = run_doctor(settings, os.environ, Path.cwd(), check_db=not no_db, env_flag=env)
    if fmt == "json":
        click.echo(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        for c in checks:
            _echo(f"{c.level:7}  {c.topic:11}  {one_line(c.message)}")
            if c.hint and c.level in ("warning", "error"):
                _echo(f"{'':7}  {'':11}  hint: {one_line(c.hint)}")
    sys.exit(exit_code(checks))
