"""The safety gates every database command passes, in the order the seeds demand.

1. the production hard lock (only when the expected environment is prod and the
   command can change the database), checked before connecting;
2. for production, the target and the source of each setting are printed;
3. connect (timeouts, redacted errors);
4. the environment marker must match the expected environment.

`resolve_runtime` is called once at the edge (the CLI) with the real process
environment; everything after it is a plain function of its arguments.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from guard.config import Settings
from guard.db.hardlock import LOCK_VAR, PROD, require_hard_lock
from guard.environment import DOTENV_FILES, expected_environment, layered, lookup, read_dotenv_files
from guard.errors import ConfigError

if TYPE_CHECKING:
    import psycopg

    from guard.db.marker import MarkerReading

FLAG_SOURCE = "--database-url"


@dataclass(frozen=True)
class Runtime:
    """What the environment says, resolved once at the edge. `database_url` is a secret: never print it."""

    database_url: str | None
    database_url_source: str
    expected_env: str
    expected_source: str
    #: CONFIRM_PROD_MIGRATE from the real process environment only.
    confirm_prod: str | None
    #: The value a dotenv file tried to set for CONFIRM_PROD_MIGRATE (never honoured; named in refusals).
    confirm_prod_in_dotenv: str | None
    #: Which dotenv files were read, in order.
    dotenv_files: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never leak the URL through a debug print or a traceback
        return (
            f"Runtime(database_url={'<set>' if self.database_url else None}, "
            f"database_url_source={self.database_url_source!r}, expected_env={self.expected_env!r}, "
            f"expected_source={self.expected_source!r}, confirm_prod={self.confirm_prod!r})"
        )


@dataclass(frozen=True)
class GateReport:
    """What the gates established, for `migration-guard safety` and for logs (no secrets)."""

    target: str
    expected_env: str
    expected_source: str
    database_url_source: str
    marker_env: str
    marker_table: str
    hard_lock: str  # "open" | "not required"


def resolve_runtime(
    settings: Settings,
    environ: Mapping[str, str],
    cwd: Path,
    *,
    env_flag: str | None = None,
    database_url: str | None = None,
) -> Runtime:
    """Resolve DATABASE_URL, the expected environment and the hard lock inputs from `environ` and dotenv files in `cwd`."""
    dotenv = read_dotenv_files(cwd)
    values = layered(environ, dotenv)
    if database_url is not None and database_url.strip():
        url: str | None = database_url
        url_source = FLAG_SOURCE
    else:
        found = lookup(values, "DATABASE_URL")
        url, url_source = (found.value, found.source) if found else (None, "unset")
    expected = expected_environment(settings, values, env_flag)
    in_files = [dotenv[name][LOCK_VAR] for name in DOTENV_FILES if LOCK_VAR in dotenv.get(name, {})]
    return Runtime(
        database_url=url,
        database_url_source=url_source,
        expected_env=expected.value,
        expected_source=expected.source,
        confirm_prod=environ.get(LOCK_VAR),
        confirm_prod_in_dotenv=in_files[-1] if in_files else None,
        dotenv_files=tuple(dotenv),
    )


def check_hard_lock(runtime: Runtime, action: str = "change a production database") -> None:
    """Raise `SafetyError` unless CONFIRM_PROD_MIGRATE is exactly YES in the process env and DATABASE_URL is set.

    Only meaningful when `runtime.expected_env` is prod; callers decide that (see `open_gated_connection`).
    """
    process = {LOCK_VAR: runtime.confirm_prod} if runtime.confirm_prod is not None else {}
    require_hard_lock(
        process,
        database_url_set=bool(runtime.database_url),
        dotenv_value=runtime.confirm_prod_in_dotenv,
        action=action,
    )


def describe_sources(runtime: Runtime, target: str) -> list[str]:
    """The lines printed before acting on production: target and where each setting came from."""
    lock = "set in the process environment" if runtime.confirm_prod is not None else "not set"
    return [
        f"production target: {target}",
        f"  DATABASE_URL from {runtime.database_url_source}",
        f"  expected environment {runtime.expected_env!r} from {runtime.expected_source}",
        f"  {LOCK_VAR}: {lock}",
    ]


def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")


def run_gates(
    settings: Settings,
    runtime: Runtime,
    *,
    mutating: bool,
    out: Callable[[str], None] | None = None,
    connect_timeout: float = 10,
) -> tuple[psycopg.Connection, GateReport]:
    """Pass every gate in order and return the open autocommit connection with what was checked.

    The caller owns the connection (close it). On any refusal nothing is left open.
    """
    from guard.db.connect import connect, describe_target
    from guard.db.marker import verify_marker

    emit = out or _stderr
    prod = runtime.expected_env == PROD
    lock_state = "not required"
    if prod and mutating:
        check_hard_lock(runtime)
        lock_state = "open"
    if not runtime.database_url:
        raise ConfigError(
            "no database to check: DATABASE_URL is not set (process environment, .env or .env.local)",
            "set DATABASE_URL, or pass --database-url",
        )
    target = describe_target(runtime.database_url)
    if prod:
        for line in describe_sources(runtime, target):
            emit(line)
    conn = connect(runtime.database_url, autocommit=True, connect_timeout=connect_timeout)
    try:
        reading: MarkerReading = verify_marker(
            conn, settings, runtime.expected_env, runtime.expected_source, target
        )
    except BaseException:
        conn.close()
        raise
    report = GateReport(
        target=target,
        expected_env=runtime.expected_env,
        expected_source=runtime.expected_source,
        database_url_source=runtime.database_url_source,
        marker_env=reading.env or "",
        marker_table=reading.table,
        hard_lock=lock_state,
    )
    return conn, report


def open_gated_connection(
    settings: Settings,
    runtime: Runtime,
    *,
    mutating: bool,
    out: Callable[[str], None] | None = None,
) -> psycopg.Connection:
    """Hard lock (prod + mutating, before connecting) -> print target and sources (prod) -> connect -> marker.

    Returns the open autocommit connection; the caller closes it. `out` receives
    the production banner lines (default: stderr).
    """
    conn, _ = run_gates(settings, runtime, mutating=mutating, out=out)
    return conn
