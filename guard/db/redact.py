"""Keep secrets out of text: error messages, printed command lines, audit rows.

`redact` masks URL passwords, `password=` pairs and, when the connection string is
known, every fragment of four or more characters of its password (raw or
percent-encoded) and its whole userinfo, so a message that quotes a piece of a
mis-parsed password is safe too. `redact_command` does the same for a child
process's argument list and also masks the values of secret-looking flags and
variables (`--password x`, `--admin-secret=x`, `PGPASSWORD=x`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from guard.db.dsn import describe_target, secrets_of

MASK = "***"
#: Shortest fragment of a password masked wherever it appears.
FRAGMENT = 4

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
# A flag or variable whose value is a secret as a whole: --password, --admin-secret, API_TOKEN=...
_SECRET_NAME = re.compile(r"pass|secret|token|credential|api[-_]?key|private[-_]?key|auth", re.IGNORECASE)
_FLAG = re.compile(r"(?P<flag>--?[A-Za-z][\w-]*)(?:=(?P<value>.*))?\Z", re.DOTALL)
_ASSIGNMENT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)\Z", re.DOTALL)


def mask_fragments(text: str, secrets: Iterable[str]) -> str:
    """`text` with every run of characters that belongs to a 4+ character fragment of a secret masked."""
    hidden = bytearray(len(text))
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            if len(form) < FRAGMENT:
                start = text.find(form) if len(form) >= 3 else -1
                while start >= 0:
                    hidden[start : start + len(form)] = b"\x01" * len(form)
                    start = text.find(form, start + 1)
                continue
            grams = {form[i : i + FRAGMENT] for i in range(len(form) - FRAGMENT + 1)}
            for i in range(len(text) - FRAGMENT + 1):
                if text[i : i + FRAGMENT] in grams:
                    hidden[i : i + FRAGMENT] = b"\x01" * FRAGMENT
    if not any(hidden):
        return text
    out: list[str] = []
    for i, ch in enumerate(text):
        if not hidden[i]:
            out.append(ch)
        elif i == 0 or not hidden[i - 1]:
            out.append(MASK)
    return "".join(out)


def redact(text: str, url: str | None = None) -> str:
    """`text` with passwords and the full connection string `url` (when given) masked.

    Masks URL userinfo passwords, `password=` key/value pairs, and, when `url`
    is given, that exact string, its whole userinfo and every 4+ character
    fragment of its password wherever they appear (raw and percent-encoded), so
    even a message that quotes a piece of a mis-parsed password is safe.
    """
    if url and text and url in text:
        text = text.replace(url, describe_target(url))
    return _masked(text, url)


def _masked(text: str, url: str | None) -> str:
    if not text:
        return text
    if url:
        text = mask_fragments(text, secrets_of(url))
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + m.group("at"), text)
    text = _QUERY_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return _KV_PASSWORD.sub(lambda m: m.group("head") + MASK, text)


def redact_command(argv: Sequence[str], url: str | None = None) -> str:
    """A child's command line as one shell-quoted string with every secret masked: connection strings'
    passwords, the values of secret-named flags (`--password x`, `--admin-secret=x`) and variables
    (`PGPASSWORD=x cmd`), and every fragment of `url`'s password. Safe to print and to store."""
    shown: list[str] = []
    secret_next = False
    for arg in argv:
        if secret_next:
            shown.append(MASK)
            secret_next = False
            continue
        flag = _FLAG.match(arg)
        assignment = _ASSIGNMENT.match(arg)
        if flag and _SECRET_NAME.search(flag.group("flag")) and not flag.group("flag").startswith("--no-"):
            if flag.group("value") is None:
                secret_next = True  # `--password VALUE`; a bare switch like `-W` just masks its neighbour
                shown.append(arg)
            else:
                shown.append(f"{flag.group('flag')}={MASK}")
            continue
        if assignment and _SECRET_NAME.search(assignment.group("name")):
            shown.append(f"{assignment.group('name')}={MASK}")
            continue
        shown.append(_masked(arg, url))
    return " ".join(shlex.quote(a) if a != MASK and not a.endswith("=" + MASK) else a for a in shown)
