"""Open a psycopg connection with timeouts, and keep the connection string out of every message.

`redact` removes passwords and whole connection strings from any text (including
psycopg's and libpq's own error messages); `describe_target` is the only way a
target is ever shown: host, port, database and user, never the password.
Every failure to connect becomes a `DatabaseError` (or `ConfigError` for a
connection string libpq cannot parse) with a redacted message and a hint.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from guard.errors import ConfigError, DatabaseError, GuardError

if TYPE_CHECKING:
    import psycopg

MASK = "***"
#: What `describe_target` says of a string whose password holds an unencoded `@`.
STRAY_AT = "(connection string with an unencoded '@')"

# postgres://user:secret@host  ->  postgres://user:***@host (any scheme, so JDBC-ish and pgbouncer URLs too).
# The password runs to the LAST `@` before the host: an unencoded `@` inside it must not leave a tail behind.
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@\s]*:)(?P<pw>\S*?)(?P<at>@)(?=[^@\s/]*(?:[/\s]|$))"
)
# password=secret / password='se cret' / PGPASSWORD=secret in key=value conninfo and env dumps
_KV_PASSWORD = re.compile(
    r"(?P<head>\b(?:password|pgpassword|passwd|pwd)\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s&;]+)",
    re.IGNORECASE,
)
# ?password=secret inside a URL query string
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<pw>[^&#\s]*)", re.IGNORECASE)


def password_of(url: str) -> str | None:
    """The password a connection string carries, or None (never raises)."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        value = conninfo_to_dict(url).get("password")
    except Exception:
        # Unparseable: fall back to the URL shape so we can still mask it.
        match = _URL_PASSWORD.search(url)
        value = unquote(match.group("pw")) if match else None
    return str(value) if value else None


def redact(text: str, url: str | None = None) -> str:
    """`text` with passwords and the full connection string `url` (when given) masked.

    Masks URL userinfo passwords, `password=` key/value pairs, and, when `url`
    is given, that exact string and its password wherever they appear (raw and
    percent-encoded), so even a message that quotes the password alone is safe.
    """
    if not text:
        return text
    if url:
        secret = password_of(url)
        if url in text:
            text = text.replace(url, describe_target(url))
        if secret:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, MASK)
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + m.group("at"), text)
    text = _QUERY_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return _KV_PASSWORD.sub(lambda m: m.group("head") + MASK, text)


def target_parts(url: str) -> dict[str, str]:
    """host, port, dbname and user of a connection string (libpq defaults filled in), no password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception:
        raise ConfigError(
            "the database connection string cannot be parsed (value not shown: it may hold a password)",
            "check DATABASE_URL: postgresql://USER:PASSWORD@HOST:PORT/DBNAME",
        ) from None
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    if "@" in host:
        raise _stray_at()
    return {
        "host": host,
        "port": str(params.get("port") or "5432"),
        "dbname": str(params.get("dbname") or params.get("user") or "(default)"),
        "user": str(params.get("user") or "(default)"),
    }


def _stray_at() -> ConfigError:
    # `user:p@ss@host`: libpq splits at the first `@`, so the host holds the rest of the
    # password. Showing it (or letting libpq quote it in "could not resolve") leaks it.
    return ConfigError(
        "the database connection string has an unencoded '@' (value not shown: part of the "
        "password would appear as the host name)",
        "percent-encode special characters in the password of DATABASE_URL: '@' is %40, ':' is %3A, "
        "'/' is %2F",
    )


def describe_target(url: str) -> str:
    """`host=db.example.com port=5432 dbname=app user=deploy`: what a message may say about a target."""
    try:
        parts = target_parts(url)
    except ConfigError as exc:
        return STRAY_AT if "unencoded '@'" in exc.message else "(unparseable connection string)"
    return " ".join(f"{k}={v}" for k, v in parts.items())


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
        raise ConfigError("no database connection string given", "set DATABASE_URL")
    target = describe_target(url)
    if target == STRAY_AT:
        raise _for(_stray_at(), source)
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
        raise _for(
            ConfigError(
                f"the database connection string is invalid: {redact(_short(str(exc)), url)}",
                "check DATABASE_URL: postgresql://USER:PASSWORD@HOST:PORT/DBNAME "
                "(tool-specific query parameters such as ?schema= are not libpq options)",
            ),
            source,
        ) from None
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

    diag = getattr(exc, "diag", None)
    primary = (getattr(diag, "message_primary", None) or str(exc)).strip()
    text = redact(_short(primary), url)
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
