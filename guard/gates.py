"""The safety gates every database command passes, in the order the seeds demand.

1. the production hard lock (only when the expected environment is prod and the
   command can change the database), checked before connecting;
2. for production, the connection string must come from the process environment
   (never a dotenv file, never a flag) and must itself name the host and the
   database: libpq's PG* variables and defaults never pick a production target;
3. connect (timeouts, redacted errors);
4. for production, the target as connected (`conn.info`) and the source of each
   setting are printed;
5. the environment marker must match the expected environment, naming the
   database as connected.

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
from guard.environment import (
    DOTENV_FILES,
    PROCESS,
    expected_environment,
    layered,
    lookup,
    read_dotenv_files,
)
from guard.errors import ConfigError, SafetyError

if TYPE_CHECKING:
    import psycopg

    from guard.db.marker import MarkerReading

FLAG_SOURCE = "--database-url"
#: libpq variables that choose a target when the connection string does not (PGPASSWORD only authenticates).
TARGET_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE", "PGSERVICEFILE")


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
    #: The libpq target variables (`TARGET_VARS`) set in the process environment.
    libpq_env: tuple[str, ...] = ()

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
        libpq_env=tuple(name for name in TARGET_VARS if environ.get(name)),
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


def check_prod_settings(runtime: Runtime) -> str:
    """For a production run: refuse unless DATABASE_URL is set in the process environment and itself names
    the host and the database; return it.

    A production connection string read from `.env`/`.env.local` means production credentials on a
    developer machine; one passed as `--database-url` sits in process lists and shell history (the
    same rule `scripts/db-migrate-prod` applies). libpq fills whatever the string leaves out from
    PGHOST, PGDATABASE, PGPORT, a service file or its defaults, so a string that leaves the target
    out (`postgresql://`) would let the environment pick production unseen.
    """
    from guard.db.dsn import check_syntax

    url = runtime.database_url
    if not url:
        pg = (
            f" ({', '.join(runtime.libpq_env)} set, never used to find production)"
            if runtime.libpq_env
            else ""
        )
        raise SafetyError(
            f"production: DATABASE_URL is not set in the process environment{pg}; refusing to guess the target",
            "set DATABASE_URL to the production database in the deploy step's environment",
        )
    if runtime.database_url_source != PROCESS:
        where = (
            "the --database-url flag (visible in process lists and shell history)"
            if runtime.database_url_source == FLAG_SOURCE
            else f"{runtime.database_url_source}: production credentials are never read from a dotenv file"
        )
        raise SafetyError(
            f"production: DATABASE_URL must come from the process environment, like {LOCK_VAR}; "
            f"it came from {where}",
            "export DATABASE_URL in the shell or CI step that deploys, and remove it from dotenv files",
        )
    params = check_syntax(url)
    missing = [
        word
        for word, keys in (("host", ("host", "hostaddr")), ("database", ("dbname",)))
        if not any(params.get(k) for k in keys)
    ]
    fills = (("PGHOST", "host"), ("PGHOSTADDR", "host"), ("PGPORT", "port"), ("PGDATABASE", "dbname"))
    from_env = [var for var, key in fills if var in runtime.libpq_env and not params.get(key)]
    from_env += [
        v for v in ("PGSERVICE", "PGSERVICEFILE") if v in runtime.libpq_env and not params.get("port")
    ]
    if missing or from_env:
        gap = f"it does not name the {' or the '.join(missing)}" if missing else "it leaves part of it out"
        by = ", ".join(from_env) if from_env else "libpq's defaults"
        raise SafetyError(
            f"production: DATABASE_URL must name the target itself; {gap}, which {by} would fill in",
            "spell host, port and database in DATABASE_URL: postgresql://USER:PASSWORD@HOST:PORT/DBNAME",
        )
    return url


def describe_sources(runtime: Runtime, target: str) -> list[str]:
    """The lines printed before acting on production: the target as connected and where each setting came from."""
    lock = "set in the process environment" if runtime.confirm_prod is not None else "not set"
    return [
        f"production target: {target} (as connected)",
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
    action: str = "change a production database",
) -> tuple[psycopg.Connection, GateReport]:
    """Pass every gate in order and return the open autocommit connection with what was checked.

    The caller owns the connection (close it). On any refusal nothing is left open.
    `action` completes a hard-lock refusal ("refusing to ..."): what the caller was about to do.
    """
    from guard.db.connect import connect, describe_connection
    from guard.db.marker import verify_marker

    emit = out or _stderr
    prod = runtime.expected_env == PROD
    lock_state = "not required"
    if prod and mutating:
        check_hard_lock(runtime, action)
        lock_state = "open"
    if prod:
        check_prod_settings(runtime)
    if not runtime.database_url:
        raise ConfigError(
            "no database to check: DATABASE_URL is not set (process environment, .env or .env.local)",
            "set DATABASE_URL, or pass --database-url",
        )
    conn = connect(runtime.database_url, autocommit=True, connect_timeout=connect_timeout)
    try:
        # Name what libpq reached, not what the string says: PG* variables, a service file or a
        # socket directory can fill in what the string leaves out.
        target = describe_connection(conn)
        if prod:
            for line in describe_sources(runtime, target):
                emit(line)
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
    """Hard lock (prod + mutating, before connecting) -> production settings -> connect -> print target
    as connected and sources (prod) -> marker.

    Returns the open autocommit connection; the caller closes it. `out` receives
    the production banner lines (default: stderr).
    """
    conn, _ = run_gates(settings, runtime, mutating=mutating, out=out)
    return conn
