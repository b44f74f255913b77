"""Tell "this server lacks an extension" apart from a migration's own failure.

A migration that runs `CREATE EXTENSION pgcrypto` on a server built without it fails
for the server's reason, not the migration's: the runner and `verify` turn that into
an environment error (exit 2) naming the extension, never a migration failure.

The runner also reads the failure's sqlstate (0A000 feature_not_supported, 58P01
undefined_file) and, on a server with translated messages, the `CREATE EXTENSION` statement
itself. A project whose databases were given an extension by hand fails later, on the first
call of one of its functions (42883, `function create_hypertable(...) does not exist`): for a
few well-known entry points, when the server has no such extension at all, that is the same
problem, and the hint says how to get a server that ships it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from guard.errors import DatabaseError

if TYPE_CHECKING:
    import psycopg

    from guard.db.execute import StatementFailure

#: Postgres 16+: `extension "x" is not available` (0A000); before: the control file (58P01);
#: a control file without its library: `could not access file "$libdir/x"` (58P01).
_PATTERNS = (
    re.compile(r'extension "([^"]+)" is not available'),
    re.compile(r'could not open extension control file "[^"]*?([^/"\\]+)\.control"'),
    re.compile(r'could not access file "\$libdir/([^"]+)"'),
)

FEATURE_NOT_SUPPORTED = "0A000"
UNDEFINED_FILE = "58P01"
UNDEFINED_FUNCTION = "42883"

_FUNCTION = re.compile(r"function ([A-Za-z_][A-Za-z_0-9.]*)\(")
#: Functions only an extension provides, for projects that never create it themselves.
_ENTRY_POINTS = {
    "create_hypertable": "timescaledb",
    "add_retention_policy": "timescaledb",
    "add_compression_policy": "timescaledb",
    "add_continuous_aggregate_policy": "timescaledb",
    "set_chunk_time_interval": "timescaledb",
    "cron.schedule": "pg_cron",
}

#: Extensions whose server package or image is not named after them (Debian/PGDG packages,
#: official images). {name: (package with {v} for the major version, docker image)}.
_KNOWN = {
    "vector": ("postgresql-{v}-pgvector", "pgvector/pgvector:pg{v}"),
    "postgis": ("postgresql-{v}-postgis-3", "postgis/postgis:{v}-3.4"),
    "timescaledb": ("timescaledb-2-postgresql-{v}", "timescale/timescaledb:latest-pg{v}"),
    "pg_cron": ("postgresql-{v}-cron", None),
    "pgaudit": ("postgresql-{v}-pgaudit", None),
}


class ServerLacksExtension(DatabaseError):
    """A migration needs an extension the server lacks: the server's environment, not the migration (exit 2)."""


def missing_extension(error: str) -> str | None:
    """The extension a Postgres error says is missing from the server, or None."""
    for pattern in _PATTERNS:
        if match := pattern.search(error):
            return match.group(1)
    return None


def needed_extension(failure: StatementFailure, available: Callable[[str], bool] | None = None) -> str | None:
    """The extension a failed statement needed and the server lacks, or None for any other failure.

    `available(name)` says whether the server could create extension `name`; it is asked only
    when a well-known extension function was missing (the extension may just not be created).
    """
    if failure.sqlstate == UNDEFINED_FUNCTION and available is not None:
        m = _FUNCTION.search(failure.error)
        called = m.group(1) if m is not None else ""
        name = _ENTRY_POINTS.get(called) or _ENTRY_POINTS.get(called.rpartition(".")[2])
        return name if name is not None and not available(name) else None
    if failure.sqlstate not in (FEATURE_NOT_SUPPORTED, UNDEFINED_FILE):
        return None
    return missing_extension(failure.error) or _created_extension(failure.statement)


def _created_extension(statement: str) -> str | None:
    """The name in `CREATE EXTENSION [IF NOT EXISTS] name` (a server with translated messages)."""
    from guard.tokens import tokenize

    words = tokenize(statement)
    upper = [t.upper for t in words[:6]]
    if upper[:2] != ["CREATE", "EXTENSION"]:
        return None
    i = 5 if upper[2:5] == ["IF", "NOT", "EXISTS"] else 2
    return words[i].name if i < len(words) and words[i].is_name() else None


def extension_problem(
    conn: psycopg.Connection, migration_id: str, direction: str, failure: StatementFailure, remains: str
) -> tuple[str, str] | None:
    """(message, hint) for a failure caused by an extension the server behind `conn` lacks, else
    None (also when the connection is gone). `remains` says what of the migration stays applied."""
    if conn.closed:
        return None
    name = needed_extension(failure, lambda name: _available(conn, name))
    if name is None:
        return None
    major = conn.info.server_version // 10000
    package, image = _KNOWN.get(name, (f"postgresql-{{v}}-{name}", None))
    where = f"install it on the server (Debian/Ubuntu: apt install {package.format(v=major)})"
    if image is not None:
        where += f", or use a server that ships it (e.g. the image {image.format(v=major)})"
    if failure.sqlstate == UNDEFINED_FUNCTION:  # the project's databases got it outside the migrations
        where += f", and create it in the database (CREATE EXTENSION {name}): no migration does"
    return (
        f'{migration_id} ({direction}) needs the Postgres extension "{name}", which this server '
        f"(Postgres {major}) does not have (line {failure.line}: {failure.error}); {remains}",
        f"an environment problem, not one of the migration: {where}, then run again; "
        "`SELECT name FROM pg_available_extensions` lists what a server has",
    )


def _available(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = %s", (name,)).fetchone()
    return row is not None and row[0] > 0
