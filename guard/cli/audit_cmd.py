"""Commands of the audit trail: `audit check` (read only) and `audit ack` (re-arm after tampering).

Both pass the usual gates; `ack` changes the database, so production needs the hard lock.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from guard.cli.common import database_options, settings_for

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.gates import Runtime


def _stderr(line: str) -> None:
    click.echo(line, err=True)


@click.group()
def audit() -> None:
    """Check the audit trail for tampering, or acknowledge tampering and re-arm it."""


def _runtime(
    path: Path | None, config_file: Path | None, layout: str | None, env: str | None, url: str | None
) -> tuple[Settings, Runtime]:
    from guard.gates import resolve_runtime

    settings = settings_for(path, config_file, layout=(layout, "--layout"))
    return settings, resolve_runtime(settings, os.environ, Path.cwd(), env_flag=env, database_url=url)


@audit.command("check")
@database_options
def audit_check(
    path: Path | None,
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    env: str | None,
    database_url: str | None,
) -> None:
    """Compare the audit trail with what migration-guard created; change nothing.

    Exit 0 when intact, 2 when it was tampered with (or an earlier finding is not acknowledged).
    """
    from guard.db.audit_guard import inspect_trail
    from guard.errors import SafetyError
    from guard.gates import open_gated_connection

    settings, runtime = _runtime(path, config_file, layout, env, database_url)
    conn = open_gated_connection(settings, runtime, mutating=False, out=_stderr)
    try:
        state = inspect_trail(conn, settings.history_schema)
    finally:
        conn.close()
    problems = state.all_problems()
    if fmt == "json":
        click.echo(
            json.dumps({"intact": not problems, "problems": problems, "needs_arming": state.needs_arming})
        )
    elif not problems:
        click.echo(f"audit trail in schema {settings.history_schema} is intact")
    if problems:
        raise SafetyError(
            f"the audit trail in schema {settings.history_schema} has been tampered with: {'; '.join(problems)}",
            "find out who changed it and why, then run `migration-guard audit ack --reason '...'`",
        )


@audit.command("ack")
@database_options
@click.option(
    "--reason", required=True, help="Who looked at the tampering and why the trail can be trusted again."
)
def audit_ack(
    path: Path | None,
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    env: str | None,
    database_url: str | None,
    reason: str,
) -> None:
    """Acknowledge tampering with the audit trail: re-arm its tables and triggers, and record the
    acknowledgement with REASON in the trail. Production needs CONFIRM_PROD_MIGRATE=YES."""
    from guard.cli.runner_ctx import runner_context
    from guard.db.audit_guard import ACK_ACTION, acknowledge
    from guard.db.session import Session
    from guard.errors import InputError

    if not reason.strip():
        raise InputError(
            "--reason is empty", "say who looked at the tampering and why the trail can be trusted"
        )
    settings, runtime = _runtime(path, config_file, layout, env, database_url)
    with (
        runner_context(settings, runtime, mutating=True, out=_stderr) as ctx,
        Session(ctx, ACK_ACTION, check_trail=False) as s,
    ):
        found = acknowledge(
            ctx.conn, settings.history_schema, reason.strip(), lambda a, o, e: s.audit(o, (), e, action=a)
        )
    if fmt == "json":
        click.echo(json.dumps({"acknowledged": found}))
    elif found:
        for problem in found:
            click.echo(f"acknowledged: {problem}")
        click.echo(
            f"re-armed the audit trail in schema {settings.history_schema}; the acknowledgement is recorded"
        )
    else:
        click.echo(f"audit trail in schema {settings.history_schema} is intact; nothing to acknowledge")
