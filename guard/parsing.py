"""Split SQL into statements, each read on demand into its fact (`guard.statement`).

Splitting is our own single pass (strings, `E'...'` escapes, dollar quotes,
nested block comments, BOM, CRLF) so that one statement no reader understands
never hides the others, and so that statements no rule looks at (a 1.5 MB
`INSERT ... VALUES`) never reach a parser at all.

Most statements of a data load contain nothing but plain strings: one possessive regex
takes each of them whole up to its `;` (C speed), and only statements with comments,
dollar quotes or backslashes walk the careful loop. Tests check both give the same split.
"""

from __future__ import annotations

import re

from guard.statement import LEAD_WORDS, MAX_PARSE_CHARS, Comment, Statement
from guard.tokens import NAME_START, TAG_PART

#: Names other modules import from here (the statement model lives in `guard.statement`).
__all__ = [
    "LEAD_WORDS",
    "MAX_PARSE_CHARS",
    "Comment",
    "Statement",
    "normalize_text",
    "split_statements",
]


# What can change the meaning of a `;`: comments, quotes, dollar quotes.
# Both scans open with a lookahead on the characters any of their alternatives can start
# with: the same matches, but the regex engine skips the other characters (digits, commas,
# parentheses of a data load) without trying every alternative at each (~40 % faster).
_SPECIAL = re.compile(
    r"""(?=[-/;"eE'$])(?:--|/\*|;|"|(?<![A-Za-z0-9_])[eE]'|'|(?<![A-Za-z0-9_$])\$"""
    rf"""(?:{NAME_START}{TAG_PART}*)?\$)"""
)
# A whole statement up to its `;` when nothing in it needs the careful loop: plain strings and
# quoted identifiers only, no comment, dollar quote or backslash (without a backslash an
# `E'...'` string ends where a plain one does). Possessive, so an odd statement fails fast
# (and is split by the loop) instead of backtracking. Data loads are thousands of these.
_SIMPLE_STATEMENT = re.compile(r"""(?:[^;'"\-/$\\]++|'(?:[^'\\]|'')*+'|"(?:[^"]|"")*+"|-(?!-)|/(?!\*))*+;""")
_BLOCK_COMMENT_EDGE = re.compile(r"/\*|\*/")
# Only statements mentioning ATOMIC can hold a `BEGIN ATOMIC ... END` body (Postgres 14+).
_ATOMIC = re.compile(r"(?<![A-Za-z0-9_$])[Aa][Tt][Oo][Mm][Ii][Cc](?![A-Za-z0-9_$])")
_E_STRING_END = re.compile(r"\\.|''|'", re.S)


def normalize_text(text: str) -> str:
    """Drop a BOM and turn CRLF / CR line ends into LF (line numbers are unchanged)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def split_statements(text: str, first_line: int = 1) -> tuple[list[Statement], list[Comment]]:
    """Split `text` into statements and return them with every comment found.

    `first_line` is the file line where `text` starts (dbmate sections start
    mid-file). Empty statements are dropped; their comments are still returned.
    """
    return _split(text, first_line, simple_statements=True)


def _split(text: str, first_line: int, *, simple_statements: bool) -> tuple[list[Statement], list[Comment]]:
    """`split_statements`; without `simple_statements`, every statement takes the careful loop
    (the reference the fast path is tested against)."""
    text = normalize_text(text)
    statements: list[Statement] = []
    comments: list[Comment] = []
    pending: list[Comment] = []
    n = len(text)
    pos = 0
    start = 0  # start of the current statement's raw text
    line_at = 0  # offset whose line number is `line_no`
    line_no = first_line
    unterminated: str | None = None

    def line_of(offset: int) -> int:
        nonlocal line_at, line_no
        if offset >= line_at:
            line_no += text.count("\n", line_at, offset)
        else:
            line_no -= text.count("\n", offset, line_at)
        line_at = offset
        return line_no

    def emit(end: int, body_start: int | None) -> None:
        # `body_start`: where the statement's text starts (`_significant_start`), None when the
        # span holds only comments. Comments before and inside a statement belong to it
        # (directives); comments of an empty statement carry over to the next one.
        nonlocal pending
        if body_start is None:
            if not (unterminated and end == n):
                return
            # An unterminated `/*` runs to the end of the file: Postgres refuses the file, so it
            # must not vanish as a comment; keep it as a statement that says so.
            body_start = len(text) - len(text[start:].lstrip())
        body = text[body_start:end].rstrip()
        line = line_of(body_start)
        statements.append(
            Statement(
                text=body,
                line=line,
                end_line=line + body.count("\n"),
                index=len(statements),
                comments=tuple(pending),
                unterminated=unterminated,
            )
        )
        pending = []

    simple = _SIMPLE_STATEMENT.match
    try_simple = simple_statements  # at a statement's start or after a line comment (`-- CreateTable`)
    while pos < n:
        fast = simple(text, pos) if try_simple else None
        try_simple = False
        if fast is not None:  # a plain statement, up to its `;`
            tok, s = ";", fast.end() - 1
        else:
            m = _SPECIAL.search(text, pos)
            if m is None:
                break
            tok, s = m.group(0), m.start()
        after = s + len(tok)
        if tok == ";":
            first = _significant_start(text, start, s)
            if first is None or not _in_atomic_body(text, first, s):
                emit(s, first)
                start = s + 1
            pos = s + 1
            try_simple = simple_statements
        elif tok == "--":
            e = text.find("\n", s)
            e = n if e < 0 else e
            c = Comment(line_of(s), text[s + 2 : e].strip())
            comments.append(c)
            pending.append(c)
            pos = e
            try_simple = simple_statements
        elif tok == "/*":
            depth, p = 1, after
            while depth and (edge := _BLOCK_COMMENT_EDGE.search(text, p)):
                depth += 1 if edge.group(0) == "/*" else -1
                p = edge.end()
            if depth:
                unterminated, p = "unterminated block comment", n
            c = Comment(line_of(s), text[s + 2 : max(s + 2, p - 2)].strip())
            comments.append(c)
            pending.append(c)
            pos = p
        elif tok in ("'", '"'):
            pos = _quote_end(text, after, tok)
            if pos < 0:
                what = "string literal" if tok == "'" else "quoted identifier"
                unterminated, pos = f"unterminated {what}", n
        elif tok in ("E'", "e'"):
            p = after
            while True:
                e_m = _E_STRING_END.search(text, p)
                if e_m is None:
                    unterminated, pos = "unterminated string literal", n
                    break
                if e_m.group(0) == "'":
                    pos = e_m.end()
                    break
                p = e_m.end()
        else:  # dollar quote
            q = text.find(tok, after)
            if q < 0:
                unterminated, pos = f"unterminated dollar-quoted string {tok}", n
            else:
                pos = q + len(tok)
    emit(n, _significant_start(text, start, n))
    return statements, comments


def _quote_end(text: str, start: int, quote: str) -> int:
    """The index just past the `quote` that closes a string or quoted name whose text starts at
    `start` (a doubled quote stands for itself), or -1 when it is never closed."""
    doubled = quote * 2
    while True:
        q = text.find(quote, start)
        if q < 0:
            return -1
        if not text.startswith(doubled, q):
            return q + 1
        start = q + 2


def _in_atomic_body(text: str, first: int, end: int) -> bool:
    """True when the statement whose text starts at `first` is a `CREATE FUNCTION/PROCEDURE ...
    BEGIN ATOMIC` whose body is still open at `end`, so the `;` there belongs to the body, not the
    end of the statement.

    The body ends at the `END` that matches `BEGIN ATOMIC`; a `CASE ... END` inside it nests, and
    Postgres allows no nested `BEGIN ATOMIC`.
    """
    # Only a CREATE can hold such a body: a data load's statements are not scanned for ATOMIC.
    if text[first : first + 6].upper() != "CREATE" or _ATOMIC.search(text, first, end) is None:
        return False
    words = Statement(text[first:end], 0, 0, 0).words
    if not words or words[0] != "CREATE" or not {"FUNCTION", "PROCEDURE"} & set(words[:6]):
        return False
    for i in range(len(words) - 1):
        if words[i] == "BEGIN" and words[i + 1] == "ATOMIC":
            depth = 1
            for word in words[i + 2 :]:
                if word == "CASE":
                    depth += 1
                elif word == "END":
                    depth -= 1
                    if depth == 0:
                        return False
            return True
    return False


def _significant_start(text: str, start: int, end: int) -> int | None:
    """Offset of the first character in [start, end) that is not space or comment."""
    p = start
    while p < end:
        ch = text[p]
        if ch.isspace():
            p += 1
        elif text.startswith("--", p):
            e = text.find("\n", p, end)
            p = end if e < 0 else e + 1
        elif text.startswith("/*", p):
            depth, q = 1, p + 2
            while depth and (edge := _BLOCK_COMMENT_EDGE.search(text, q, end)):
                depth += 1 if edge.group(0) == "/*" else -1
                q = edge.end()
            p = end if depth else q
        else:
            return p
    return None
