"""The `migration-guard` command: a lazy click group that imports a command's module only
when that command runs, so `--version` and `--help` load neither sqlglot nor psycopg.

Each command module holds click commands only: options -> library call -> render -> exit code.
Expected failures (`GuardError`) become one `error:` line and exit 2, here, in one place.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from guard import __version__
from guard.errors import GuardError, signal_name

#: name -> ("module:attribute", one-line help shown by `migration-guard --help`).
COMMANDS: dict[str, tuple[str, str]] = {
    "lint": (
        "guard.cli.lint_cmd:lint",
        "Lint migrations for destructive, lock-heavy and irreversible changes.",
    ),
    "baseline": (
        "guard.cli.baseline_cmd:baseline",
        "Record today's lint findings as accepted, so only new ones block (adoption).",
    ),
    "rules": ("guard.cli.lint_cmd:rules", "List every rule with its severity and summary."),
    "explain": ("guard.cli.lint_cmd:explain", "Explain one rule: why it matters and the safe alternative."),
    "config": (
        "guard.cli.lint_cmd:config_cmd",
        "Print the effective settings and where each value came from.",
    ),
    "safety": (
        "guard.cli.db_cmd:safety",
        "Check the database's environment marker against the expected environment.",
    ),
    "marker": ("guard.cli.db_cmd:marker", "Create or show the environment marker row of a database."),
    "doctor": (
        "guard.cli.db_cmd:doctor",
        "Check the local setup: dotenv files, secrets, git ignores, database reachability.",
    ),
    "status": ("guard.cli.run_cmd:status", "Show applied and pending migrations and any drift."),
    "plan": (
        "guard.cli.run_cmd:plan",
        "Dry run for developers: gates, lint, drift and the pending list; changes nothing.",
    ),
    "migrate": ("guard.cli.run_cmd:migrate", "Apply pending migrations behind the safety gates."),
    "rollback": (
        "guard.cli.run_cmd:rollback",
        "Apply down migrations in reverse order behind the safety gates.",
    ),
    "adopt": (
        "guard.cli.adopt_cmd:adopt",
        "Record the migrations another tool already applied, without running them.",
    ),
    "exec": (
        "guard.cli.exec_cmd:exec_cmd",
        "Run the safety gates, then another migration tool, passing its exit code through.",
    ),
    "audit": (
        "guard.cli.audit_cmd:audit",
        "Check the audit trail for tampering, or acknowledge tampering and re-arm it.",
    ),
    "fix": (
        "guard.cli.fix_cmd:fix",
        "Rewrite fixable lint findings of unmerged migrations into the safe sequence of migrations.",
    ),
    "verify": (
        "guard.cli.verify_cmd:verify",
        "Prove each down migration undoes its up on a throwaway Postgres.",
    ),
    "down": (
        "guard.cli.down_cmd:down",
        "Draft down migrations for ups that have none, proven by a round trip.",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help comes from COMMANDS so `--help` imports no command module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GuardError as exc:
            report_error(exc)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:  # click would turn it into "Aborted!" and exit 1 (findings)
            click.echo(f"migration-guard: interrupted by {signal_name(exc)}", err=True)
            ctx.exit(128 + getattr(exc, "signum", 2))


def report_error(exc: GuardError) -> None:
    """Print an expected failure as `migration-guard: error: ...` plus its hint, to stderr."""
    from guard.textsafe import one_line

    # One line each, whatever the message quotes (a path, a multi-line Postgres error).
    click.echo(f"migration-guard: error: {one_line(exc.message)}", err=True)
    if exc.hint:
        click.echo(f"  hint: {one_line(exc.hint)}", err=True)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "-V", "--version", prog_name="migration-guard", message="%(prog)s %(version)s"
)
def cli() -> None:
    """migration-guard: make Postgres migrations safe to ship from trunk.

    Lints migrations for destructive, lock-heavy and irreversible changes, gates
    every database command on the environment marker and the production hard
    lock, runs migrations under locks and timeouts, and proves down migrations
    undo their up on a throwaway Postgres.

    The migrations folder is the optional first argument of every command.
    """


def main() -> None:
    """Console entry point."""
    import atexit
    import gc

    # At exit the interpreter runs one more full collection over everything still alive (every
    # module included): 8-15 ms of a lint, for nothing. Objects frozen by this hook are skipped.
    # It runs after the command's `finally` and `with` blocks (they run as SystemExit unwinds),
    # and, registered first, after every other exit handler (logging's flush, multiprocessing's
    # child cleanup, the embedded server's shutdown, weakref finalizers); the interpreter still flushes
    # stdout/stderr and tears modules down. Only the finalizers of garbage *cycles* still alive
    # at exit are skipped: connections and files are closed explicitly, never left to them.
    atexit.register(gc.freeze)
    try:
        cli.main(prog_name="migration-guard")
    except KeyboardInterrupt:
        click.echo("migration-guard: interrupted", err=True)
        sys.exit(130)
