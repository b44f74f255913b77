"""`exec`: the gates, then the project's own migration tool (Hasura CLI, Prisma, dbmate, ...) under
the runner lock, in step with the tool's own history (see `guard.db.wrapped`).

settings -> runtime -> gates (hard lock for prod, marker) -> lint, drift, contract windows on what
the tool has not applied -> the tool -> record what it applied -> its exit code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from guard.cli.common import config_options, database_command, database_url_option, env_option
from guard.cli.run_cmd import _discover, _err, _lint_gate, _setup
from guard.cli.runner_ctx import runner_context


@click.command("exec", context_settings={"ignore_unknown_options": True})
@config_options
@env_option
@database_url_option
@click.option(
    "--migrations",
    "path",
    type=click.Path(path_type=Path),
    default=None,
    help="Migrations folder to lint and check for drift (default: the configured or usual one).",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@database_command
def exec_cmd(
    config_file: Path | None,
    layout: str | None,
    env: str | None,
    database_url: str | None,
    path: Path | None,
    command: Sequence[str],
) -> None:
    """Run the gates (hard lock, marker, lint, drift, contract windows), then COMMAND (Hasura CLI,
    Prisma, dbmate, ...) under the runner lock, passing its exit code through. Pending means what
    the layout's tool has not applied (read from its history table); after it exits 0, what it
    applied is recorded in the history.

    Example: migration-guard exec --env prod -- hasura migrate apply --database-name default
    """
    import subprocess

    from guard.cli.adopt_cmd import record_wrapped, wrapped_state
    from guard.db.execgate import gate_check
    from guard.db.redact import redact_command
    from guard.db.runner import Session
    from guard.errors import GuardError, InputError

    settings, runtime = _setup(path, config_file, layout, env, database_url)
    # What is printed and stored in the audit: the command with every password masked.
    shown = redact_command(command, runtime.database_url)
    with (
        runner_context(settings, runtime, mutating=True, out=_err) as ctx,
        Session(ctx, "exec", shown) as session,
    ):
        discovery = _discover(path, settings)
        try:  # pending = what the wrapped tool has not applied, read from its own history table
            state = wrapped_state(ctx, discovery)
        except GuardError as exc:
            raise session.refuse(exc) from None
        pending = state.pending if state is not None else None
        plan = gate_check(ctx, session, discovery.migrations, _lint_gate(settings, discovery), pending)
        attempted = [m.id for m in plan.pending]
        session.audit("started", attempted)
        _err(f"gates passed; running: {shown}")
        try:
            # The child must migrate the database the gates checked, even when DATABASE_URL came
            # from --database-url or a dotenv file the child would not read the same way.
            code = subprocess.call(
                list(command), env={**os.environ, "DATABASE_URL": runtime.database_url or ""}
            )
        except OSError as exc:
            program = redact_command(command[:1], runtime.database_url)
            session.audit("failed", attempted, f"cannot run {program}: {exc.strerror}")
            raise InputError(f"cannot run {program}: {exc.strerror}", "check the command after --") from None
        if code == 0:
            try:
                recorded = record_wrapped(ctx, discovery, state.tool if state is not None else None)
            except GuardError as exc:
                session.audit("failed", attempted, exc.message)
                raise
            if recorded:
                _err(f"recorded in the history, as applied by the wrapped tool: {', '.join(recorded)}")
        session.audit("ok" if code == 0 else "failed", attempted, None if code == 0 else f"exit code {code}")
    # A child killed by a signal: report it the way shells do (128 + signal number).
    sys.exit(code if code >= 0 else 128 - code)
