"""Connection strings: check their syntax ourselves, find their secrets, and describe targets safely.

libpq reads a URL whose password holds an unencoded `/`, `@` or space differently
from what its author meant: `postgresql://u:Secret/x@db/app` becomes host `u`,
port `Secret`, and libpq's own error then quotes that "port". So a URL is checked
here first, with messages of our own that quote no part of it; libpq's syntax
errors are re-worded with every quoted value removed.

`secrets_of` returns what the author meant as secret (the password as written,
decoded, and the whole userinfo), whatever libpq would make of it; `redact` in
`guard.db.redact` masks those and every fragment of them.
`describe_connection` names the database a connection actually reached
(`conn.info`), which is what banners and the marker check print.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

from guard.errors import ConfigError

if TYPE_CHECKING:
    import psycopg

#: The only URL designators libpq knows (case-sensitive); anything else is read as key=value.
URL_PREFIXES = ("postgresql://", "postgres://")
ENCODE_HINT = (
    "percent-encode special characters in the password: '/' is %2F, '@' is %40, ':' is %3A, "
    "'#' is %23, '?' is %3F, ' ' is %20, '%' is %25"
)
_HIDDEN = "(value not shown)"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})|%00")
_QUOTED = re.compile(r'"[^"]*"')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PUNCTUATION = re.compile(r"[=:/\[\]@]\Z")
# password=secret in a key=value string, also the malformed `password secret` libpq refuses.
_KV_VALUE = re.compile(r"\bpassword\s*=?\s*('(?:[^'\\]|\\.)*'?|\S+)", re.IGNORECASE)
_QUERY_VALUE = re.compile(r"[?&]password=([^&#\s]*)", re.IGNORECASE)


def is_url(conninfo: str) -> bool:
    """True when libpq reads `conninfo` as a URL rather than as key=value pairs."""
    return conninfo.startswith(URL_PREFIXES)


def _userinfo(conninfo: str) -> str:
    """What the author meant as `user:password`: everything between `://` and the last `@`."""
    rest = conninfo.split("://", 1)[1] if "://" in conninfo else ""
    return rest[: rest.rfind("@")] if "@" in rest else ""


def secrets_of(conninfo: str) -> list[str]:
    """Every string of `conninfo` that may be secret: the password (as written and decoded) and the
    whole userinfo, read the way its author meant them even where libpq would not. Never raises."""
    found: list[str] = []
    userinfo = _userinfo(conninfo)
    if userinfo:
        found.append(userinfo)
        if ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
    found += _QUERY_VALUE.findall(conninfo)
    found += [v.strip("'") for v in _KV_VALUE.findall(conninfo)] if not is_url(conninfo) else []
    try:
        from psycopg.conninfo import conninfo_to_dict

        value = conninfo_to_dict(conninfo).get("password")
        if value:
            found.append(str(value))
    except Exception:
        pass  # unparseable: what the shapes above found is all there is
    decoded = []
    for value in found:
        with contextlib.suppress(UnicodeDecodeError):
            decoded.append(unquote(value, errors="strict"))
    return sorted({v for v in found + decoded if v}, key=len, reverse=True)


def password_of(conninfo: str) -> str | None:
    """The password a connection string carries, or None (never raises)."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        value = conninfo_to_dict(conninfo).get("password")
    except Exception:
        userinfo = _userinfo(conninfo)
        value = unquote(userinfo.split(":", 1)[1]) if ":" in userinfo else None
    return str(value) if value else None


def _invalid(source: str, what: str) -> ConfigError:
    return ConfigError(
        f"{source} is not a valid connection URL: {what} (value not shown: it may hold a password)",
        f"{ENCODE_HINT}; the form is postgresql://USER:PASSWORD@HOST:PORT/DBNAME",
    )


def _check_url(url: str, source: str) -> None:
    """Refuse the URL shapes libpq would read differently from their author (see the module doc)."""
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise _invalid(source, "it contains a space, tab, newline or control character")
    rest = url.split("://", 1)[1]
    slash = rest.find("/")
    # libpq takes the userinfo only when its '@' comes before the first '/'; an '@' after it means
    # a '/' in the password, and the rest of the password would be read as host, port or database.
    if slash >= 0 and "@" in rest[slash:]:
        raise _invalid(source, "it has an '@' after a '/' (a '/' in the password, or an '@' in the path)")
    if rest.count("@") > 1:
        raise _invalid(source, "it has more than one '@' (an '@' in the user name or password)")
    if _BAD_PERCENT.search(_userinfo(url)):
        raise _invalid(source, "the user name or password has a '%' that is not a valid percent-encoding")


def _reworded(message: str, secrets: list[str]) -> str:
    """libpq's syntax message on one line with every quoted value removed but option names."""

    def keep(match: re.Match[str]) -> str:
        inner = match.group(0)[1:-1]
        if _PUNCTUATION.match(inner) or (
            _WORD.match(inner) and len(inner) <= 40 and not _overlaps(inner, secrets)
        ):
            return match.group(0)  # `"="`, `"]"`, an option name such as `"schema"`
        return _HIDDEN

    flat = " ".join(message.split()).removeprefix("connection failed: ")
    return _QUOTED.sub(keep, flat)


def _overlaps(word: str, secrets: list[str]) -> bool:
    return any(word in s or (len(s) >= 4 and s in word) for s in secrets)


def check_syntax(conninfo: str, source: str = "DATABASE_URL") -> dict[str, str]:
    """The parameters of `conninfo` as libpq reads them; `ConfigError` naming `source` when it is invalid.

    No message quotes any part of `conninfo`: a syntax error may be about its password.
    """
    from psycopg.conninfo import conninfo_to_dict

    if is_url(conninfo):
        _check_url(conninfo, source)
    elif re.match(r"[A-Za-z][A-Za-z0-9+.:-]*://", conninfo):
        raise _invalid(
            source, "libpq reads only postgresql:// and postgres:// URLs (not jdbc:, postgis:, ...)"
        )
    try:
        return {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None}
    except Exception as exc:
        raise syntax_error(exc, conninfo, source) from None


def syntax_error(exc: Exception, conninfo: str, source: str = "DATABASE_URL") -> ConfigError:
    """libpq's complaint about the syntax of `conninfo` as our own `ConfigError`, quoting none of it."""
    kind = "connection URL" if is_url(conninfo) else "connection string"
    return ConfigError(
        f"{source} is not a valid {kind}: {_reworded(str(exc), secrets_of(conninfo))}",
        f"check {source}: postgresql://USER:PASSWORD@HOST:PORT/DBNAME; {ENCODE_HINT} "
        "(tool-specific query parameters such as ?schema= are not libpq options)",
    )


def target_parts(conninfo: str, source: str = "DATABASE_URL") -> dict[str, str]:
    """host, port, dbname and user a connection string names (libpq defaults filled in), no password."""
    params = check_syntax(conninfo, source)
    return {
        "host": params.get("host") or params.get("hostaddr") or "(default)",
        "port": params.get("port") or "(default)",
        "dbname": params.get("dbname") or "(default)",
        "user": params.get("user") or "(default)",
    }


def describe_target(conninfo: str) -> str:
    """`host=db.example.com port=5432 dbname=app user=deploy`: what a message may say about a target
    before connecting (what the string names; see `describe_connection` for what was reached)."""
    try:
        parts = target_parts(conninfo)
    except ConfigError:
        return "(invalid connection string)"
    return " ".join(f"{k}={v}" for k, v in parts.items())


def describe_connection(conn: psycopg.Connection) -> str:
    """The database `conn` actually reached, from libpq (`conn.info`): host or socket directory,
    the address it resolved to when that differs, port, database and user."""
    info = conn.info
    host = info.host or "(unknown)"
    where = f"{host} (unix socket)" if host.startswith("/") or host.startswith("@") else host
    try:
        address = info.hostaddr
    except Exception:  # libpq before 12 cannot say
        address = ""
    if address and address != host:
        where += f" ({address})"
    return f"host={where} port={info.port} dbname={info.dbname} user={info.user}"
