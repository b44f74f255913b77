"""Commands of the migration runner: status, plan, migrate (and --dry-run), rollback (`exec` and
`adopt` live in `guard.cli.exec_cmd` and `guard.cli.adopt_cmd`, and reuse the helpers here).

Each one: settings -> runtime (environment, at this edge only) -> gates (hard lock for
production, marker) -> library call in `guard.db.runner` -> render -> exit code.
`migrate` (and `--dry-run`) and `rollback` print each migration as it runs (flushed, with the
time it took): on stdout in text format, where the closing report then adds only what those
lines did not say; on stderr with `--format json`, so the JSON on stdout stays machine-readable.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from guard.cli.common import (
    database_options,
    resolve_migrations_dir,
    settings_for,
)
from guard.cli.run_render import render_plan as _render_plan
from guard.cli.run_render import render_report as _render_report
from guard.cli.runner_ctx import runner_context
from guard.cli.signals import terminate_as_interrupt
from guard.textsafe import safe_line

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.db.runner import RunnerContext, RunReport
    from guard.gates import Runtime
    from guard.layouts import Discovery
    from guard.model import Migration


def _err(line: str) -> None:
    click.echo(safe_line(line), err=True)


def _out(line: str) -> None:
    click.echo(safe_line(line))


def _stream(ctx: RunnerContext, fmt: str) -> set[str]:
    """Send the runner's lines (each migration as it runs, warnings) to stdout in text format, where
    they are the report, or to stderr beside JSON; returns the lines printed so far, which the
    closing text report does not repeat."""
    shown: set[str] = set()

    def out(line: str) -> None:
        shown.add(line)
        _out(line)

    ctx.out = out if fmt == "text" else _err
    return shown


def _setup(
    path: Path | None, config_file: Path | None, layout: str | None, env: str | None, database_url: str | None
) -> tuple[Settings, Runtime]:
    from guard.gates import resolve_runtime

    settings = settings_for(path, config_file, layout=(layout, "--layout"))
    runtime = resolve_runtime(settings, os.environ, Path.cwd(), env_flag=env, database_url=database_url)
    return settings, runtime


def _discover(path: Path | None, settings: Settings) -> Discovery:
    """Find the migrations; called only once the gates passed (hard lock, then marker, then the rest)."""
    from guard.layouts import discover

    folder = resolve_migrations_dir(path, settings)
    return discover(folder, settings.layout, exclude=settings.exclude)


def _lint_gate(settings: Settings, discovery: Discovery) -> Callable[[list[Migration]], None]:
    """The lint gate: findings at the fail level in the migrations about to run refuse the run (exit 1)."""

    def gate(pending: list[Migration]) -> None:
        from guard.db.lintgate import LintRefusal
        from guard.lint.baseline import apply, load_for
        from guard.lint.engine import lint_migrations
        from guard.report import render

        ids = {m.id for m in pending}
        extra = [f for f in discovery.findings if f.migration in ids]
        result = lint_migrations(
            discovery.migrations, settings, extra_findings=extra, only=ids, layout=discovery.layout
        )
        result = apply(result, load_for(settings, discovery.root), settings)  # accepted findings pass
        if result.exit_code:
            render(result, "text", sys.stderr, checked="pending migrations")
            count = len([f for f in result.findings if f.severity >= result.fail_on])
            accepted = f" ({result.baselined} more accepted by the baseline)" if result.baselined else ""
            raise LintRefusal(
                f"lint found {count} problem(s) at or above {result.fail_on} in the "
                f"{len(ids)} pending migration(s) about to run{accepted}",
                "nothing was applied; fix them, or suppress one with "
                "`-- guard: ignore RULE reason: why it is safe`; an existing "
                "project accepts its history's findings with `migration-guard baseline`",
                count=count,
            )

    return gate


def _prod_hard_lock_open(runtime: Runtime) -> bool:
    from guard.db.hardlock import PROD
    from guard.errors import SafetyError
    from guard.gates import check_hard_lock

    if runtime.expected_env != PROD:
        return True
    try:
        check_hard_lock(runtime, "dry-run migrations that take ACCESS EXCLUSIVE locks on production")
    except SafetyError:
        return False
    return True


def _run(
    fmt: str, call: Callable[[], RunReport], started: float | None = None, shown: set[str] | None = None
) -> RunReport:
    """Run a migrate/rollback call; on failure render what was done before exiting 2."""
    from guard.db.runner import RunFailed

    try:
        return call()
    except RunFailed as exc:
        _render_report(exc.report, fmt, started, shown or set())
        raise


# --- commands ----------------------------------------------------------------------------------


@click.command()
@database_options
def status(
    path: Path | None,
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    env: str | None,
    database_url: str | None,
) -> None:
    """Show applied and pending migrations, and drift: applied files edited since, applied versions
    with no file, pending migrations older than the newest applied one. Changes nothing."""
    from guard.db.runner import read_plan
    from guard.gates import open_gated_connection

    settings, runtime = _setup(path, config_file, layout, env, database_url)
    conn = open_gated_connection(settings, runtime, mutating=False, out=_err)
    try:
        discovery = _discover(path, settings)
        plan = read_plan(conn, discovery.migrations, settings)
    finally:
        conn.close()
    _render_plan(plan, fmt)


@click.command()
@database_options
@click.option("--to", "to", default=None, metavar="VERSION", help="Plan up to this version (inclusive).")
def plan(
    path: Path | None,
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    env: str | None,
    database_url: str | None,
    to: str | None,
) -> None:
    """The developer's dry run: gates, lint findings, drift, contract timing and the pending list,
    without changing anything. Exit 0 when `migrate` would proceed, 1 on lint findings where the
    lint gate binds, 2 on refusals, 3 when a contract would wait for its window."""
    from guard.db.preview import preview
    from guard.gates import open_gated_connection

    settings, runtime = _setup(path, config_file, layout, env, database_url)
    conn = open_gated_connection(settings, runtime, mutating=False, out=_err)
    try:
        discovery = _discover(path, settings)
        seen = preview(
            conn, discovery.migrations, settings, runtime.expected_env, _lint_gate(settings, discovery), to
        )
    finally:
        conn.close()
    _render_plan(seen.plan, fmt, seen.extra())
    sys.exit(seen.exit_code)


@click.command()
@database_options
@click.option("--to", "to", default=None, metavar="VERSION", help="Apply up to this version (inclusive).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Run each pending migration in a transaction and roll it back; report errors, time and locks.",
)
def migrate(
    path: Path | None,
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    env: str | None,
    database_url: str | None,
    to: str | None,
    dry_run: bool,
) -> None:
    """Apply pending migrations behind the gates, in this order: hard lock (prod), environment
    marker, lint (errors refuse), drift (edited applied migrations refuse), contract timing, then
    each pending migration in its own transaction with its history row.

    Where the lint gate or the contract window does not bind (`lint_gate_envs`,
    `contract_window_envs`; both prod only by default), lint findings are warnings and a contract
    runs right after its expand.

    Exit 0 when done, 1 when lint refuses (or a dry run finds a failing migration), 2 on any
    other refusal or failure, 3 when a contract waits for its window: everything before it was
    applied, it and the migrations behind it were not.
    """
    from guard.db import runner

    started = time.perf_counter()
    settings, runtime = _setup(path, config_file, layout, env, database_url)
    refuse_ae = dry_run and not _prod_hard_lock_open(runtime)
    with terminate_as_interrupt(), runner_context(settings, runtime, mutating=not dry_run, out=_err) as ctx:
        shown = _stream(ctx, fmt)
        discovery = _discover(path, settings)
        report = _run(
            fmt,
            lambda: runner.migrate(
                ctx,
                discovery.migrations,
                to=to,
                dry=dry_run,
                refuse_access_exclusive=refuse_ae,
                lint_gate=_lint_gate(settings, discovery),
            ),
            started,
            shown,
        )
    _render_report(report, fmt, started, shown)
    if dry_run and any(o.status == "dry-run failed" for o in report.outcomes):
        sys.exit(1)
    if report.wait is not None:
        sys.exit(report.wait.exit_code)


@click.command()
@database_options
@click.option(
    "--steps", type=click.IntRange(min=1), default=None, help="How many migrations to undo (default 1)."
)
@click.option("--to", "to", default=None, metavar="VERSION", help="Undo every migration above this version.")
def rollback(
    path: Path | None,
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    env: str | None,
    database_url: str | None,
    steps: int | None,
    to: str | None,
) -> None:
    """Apply down migrations in reverse order behind the same gates (hard lock, marker, drift)."""
    from guard.db import runner
    from guard.errors import InputError

    if steps is not None and to is not None:
        raise InputError("--steps and --to cannot be combined", "pass one of them")
    started = time.perf_counter()
    settings, runtime = _setup(path, config_file, layout, env, database_url)
    with terminate_as_interrupt(), runner_context(settings, runtime, mutating=True, out=_err) as ctx:
        shown = _stream(ctx, fmt)
        discovery = _discover(path, settings)
        report = _run(
            fmt, lambda: runner.rollback(ctx, discovery.migrations, steps=steps, to=to), started, shown
        )
    _render_report(report, fmt, started, shown)
