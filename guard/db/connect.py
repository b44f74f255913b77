"""Open a psycopg connection with timeouts, and keep the connection string out of every message.

The syntax of the string is checked first (`guard.db.dsn`: our own messages, none
quoting it); `redact` (`guard.db.redact`) masks passwords in libpq's and psycopg's
own messages; `describe_target` / `describe_connection` are the only ways a target
is ever shown: host, port, database and user, never the password. Every failure
to connect becomes a `DatabaseError` (or `ConfigError` for a connection string
libpq cannot parse) with a redacted message and a hint.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from guard.db.dsn import (
    check_syntax,
    describe_connection,
    describe_target,
    password_of,
    syntax_error,
    target_parts,
)
from guard.db.pgerror import pg_message
from guard.db.redact import MASK, redact
from guard.errors import ConfigError, DatabaseError, GuardError

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "MASK",
    "connect",
    "database_error",
    "describe_connection",
    "describe_target",
    "password_of",
    "redact",
    "target_parts",
]


def _classify(message: str) -> tuple[str, str]:
    """(what happened, what to do) for a libpq connection failure message."""
    low = message.lower()
    if (
        "password authentication failed" in low
        or "no password supplied" in low
        or "authentication failed" in low
    ):
        return "authentication failed", "check the user and password in DATABASE_URL"
    if "role" in low and "does not exist" in low:
        return "the user does not exist", "check the user name in DATABASE_URL"
    if "database" in low and "does not exist" in low:
        return (
            "the database does not exist",
            "check the database name in DATABASE_URL, or create it (createdb NAME)",
        )
    if "timeout" in low or "timed out" in low:
        return (
            "the connection timed out",
            "check the host and port, the network path and any firewall; the server did not answer in time",
        )
    if "resolve host" in low or "translate host name" in low or "name or service not known" in low:
        return "the host name does not resolve", "check the host in DATABASE_URL"
    if "connection refused" in low or "no such file or directory" in low or "could not connect" in low:
        return (
            "the server is unreachable (connection refused)",
            "check that Postgres is running and that the host and port in DATABASE_URL are right",
        )
    if "pg_hba.conf" in low:
        return (
            "the server refused this client (pg_hba.conf)",
            "ask the database owner to allow this host and user",
        )
    if "ssl" in low:
        return "the SSL negotiation failed", "check sslmode in DATABASE_URL and the server's SSL setup"
    return "the connection failed", "check DATABASE_URL and that the server accepts connections"


def _short(message: str) -> str:
    """libpq's message on one line, without its 'connection failed:' boilerplate."""
    flat = " ".join(message.split())
    return flat.removeprefix("connection failed: ")


def _for(error: GuardError, source: str) -> GuardError:
    """`error` with its hint naming `source` (e.g. --shadow-url) instead of DATABASE_URL."""
    if error.hint and source != "DATABASE_URL":
        error.hint = error.hint.replace("DATABASE_URL", source)
    return error


def connect(
    url: str,
    *,
    autocommit: bool = True,
    application_name: str = "migration-guard",
    connect_timeout: float = 10,
    source: str = "DATABASE_URL",
) -> psycopg.Connection:
    """Connect to `url`; raise `DatabaseError` (redacted message + hint) when that fails.

    The target is named by `describe_target`, never by the string itself. A
    connection string libpq cannot parse is a `ConfigError`. `source` names the
    setting or flag the hints tell the user to fix.
    """
    import psycopg

    if not url or not url.strip():
        raise _for(ConfigError("no database connection string given", "set DATABASE_URL"), source)
    check_syntax(url, source)
    target = describe_target(url)
    # libpq counts whole seconds and treats values under 2 as 2.
    timeout = max(2, math.ceil(connect_timeout))
    try:
        return psycopg.connect(
            url,
            autocommit=autocommit,
            application_name=application_name,
            connect_timeout=timeout,
        )
    except psycopg.ProgrammingError as exc:
        raise _for(syntax_error(exc, url, source), source) from None
    except psycopg.Error as exc:
        what, hint = _classify(str(exc))
        raise _for(
            DatabaseError(f"cannot connect to {target}: {what} ({redact(_short(str(exc)), url)})", hint),
            source,
        ) from None
    except OSError as exc:  # a socket error psycopg did not wrap
        raise _for(
            DatabaseError(
                f"cannot connect to {target}: {redact(str(exc), url)}",
                "check the host and port in DATABASE_URL",
            ),
            source,
        ) from None


def database_error(exc: Exception, url: str | None = None) -> DatabaseError:
    """A psycopg error raised after connecting, as a redacted `DatabaseError` with a hint (exit 2).

    For errors no caller expected (a privilege the database user lacks, a connection
    lost mid-command): the message names Postgres's own words, never the connection string.
    """
    import psycopg

    text = redact(_short(pg_message(exc)), url)
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return DatabaseError(
            f"the database refused: {text}",
            "the database user lacks a privilege this command needs: grant it (for the history "
            "tables: USAGE and CREATE on the history schema), or run as the user that owns the migrations",
        )
    if isinstance(exc, psycopg.OperationalError) or getattr(exc, "sqlstate", None) is None:
        return DatabaseError(
            f"the database connection failed or was lost: {text}",
            "check the server is up and reachable, then run again; `migration-guard status` shows "
            "what is applied",
        )
    return DatabaseError(
        f"the database answered with an error ({exc.sqlstate}): {text}",  # type: ignore[attr-defined]
        "nothing past this point ran; fix the cause and run again",
    )
