"""Split SQL into statements, then parse each one with sqlglot on demand.

Splitting is our own single pass (strings, `E'...'` escapes, dollar quotes,
nested block comments, BOM, CRLF) so that one statement sqlglot cannot parse
never hides the others, and so that statements no rule looks at (a 1.5 MB
`INSERT ... VALUES`) never reach the parser at all. `Statement.ast` parses
lazily and caches; `Statement.words` gives the keyword tokens for checks on
statements sqlglot could not structure (`exp.Command`), which are never
treated as safe.

Most statements of a data load contain nothing but plain strings: one possessive regex
takes each of them whole up to its `;` (C speed), and only statements with comments,
dollar quotes or backslashes walk the careful loop. Tests check both give the same split.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from guard.tokens import NAME_START, TAG_PART

if TYPE_CHECKING:
    from sqlglot import exp

    from guard.tokens import Token

# sqlglot reports unsupported syntax through its logger; it must never reach the
# terminal or corrupt JSON output.
_sqlglot_log = logging.getLogger("sqlglot")
_sqlglot_log.addHandler(logging.NullHandler())
_sqlglot_log.propagate = False
_sqlglot_log.setLevel(logging.CRITICAL)

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
_E_STRING_END = re.compile(r"\\.|''|'", re.S)
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9$]*")
_WORDS_SCAN = re.compile(
    r"""(?=[-/'"$A-Za-z_])(?:--[^\n]*|/\*.*?\*/|(?<![A-Za-z0-9_])[eE]'(?:\\.|''|[^'\\])*'|'(?:''|[^'])*'"""
    r"""|(?<![A-Za-z0-9_$])(\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$).*?\1|("(?:""|[^"])*")|([A-Za-z_][A-Za-z_0-9$]*))""",
    re.S,
)

#: Where the leading words may stop being plain: a string, quoted name, comment or dollar quote
#: can only start at one of these (one character class: the regex engine scans for it in C).
_LEAD_STOP = re.compile(r"""[-'"/$]""")
_LEAD_WINDOW = 500
#: Up to this length, leading words the fast path cannot take are sliced from `words`.
_LEAD_WORDS_FROM_ALL = 2_000
_WORD_FINDALL = re.compile(r"[A-Za-z_][A-Za-z_0-9$]*").findall

MAX_PARSE_CHARS = 200_000
"""Statements longer than this are not handed to sqlglot (they are data, not DDL)."""

LEAD_WORDS = 8
"""How many leading words `Statement.lead` keeps (enough for every statement shape rules test)."""

_T = TypeVar("_T")


class _cached(Generic[_T]):
    """`functools.cached_property` without its per-call lock (Python 3.11 takes one on every
    first access; a corpus lint makes ~50,000 of them). Statements are never shared between
    threads, so the lock buys nothing."""

    def __init__(self, fn: Callable[[Any], _T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _cached[_T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> _T: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> _T | _cached[_T]:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


@dataclass(frozen=True)
class Comment:
    """A SQL comment with the 1-based line it starts on (used for directives)."""

    line: int
    text: str


@dataclass
class Statement:
    """One SQL statement: its text (no trailing `;`), 1-based line span and leading comments."""

    text: str
    line: int
    end_line: int
    index: int
    comments: tuple[Comment, ...] = ()
    #: Set when the splitter hit end of input inside a quote or comment.
    unterminated: str | None = None
    _parse_error: str | None = field(default=None, repr=False)
    #: Readings derived from this statement's text, computed once (see `derived`).
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def derived(self, key: str, compute: Callable[[Statement], _T]) -> _T:
        """`compute(self)`, computed once per statement and shared by every rule that asks for `key`.

        For pure readings of the text (an `ALTER TABLE` action list, the columns a
        `CREATE TABLE` declares) that several rules need: callers must not mutate the result.
        """
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute(self)
            return value

    @_cached
    def lead(self) -> tuple[str, ...]:
        """The first `LEAD_WORDS` of `words`, without scanning the rest of a long statement."""
        if "words" in self.__dict__:
            return self.words[:LEAD_WORDS]
        text = self.text
        # Fast path: up to the first character that can start a string, quoted name, comment or
        # dollar quote, the words are exactly what the full scan returns; most statements have
        # their leading words there. Anything less certain takes the full scan.
        stop = _LEAD_STOP.search(text, 0, _LEAD_WINDOW)
        limit = stop.start() if stop is not None else min(len(text), _LEAD_WINDOW)
        found = _WORD_FINDALL(text, 0, limit)
        if len(found) > LEAD_WORDS or (
            # Exactly enough: the last one must be whole (not cut by the window) and not the
            # `E` of an `E'...'` string.
            len(found) == LEAD_WORDS
            and (limit == len(text) or (text[limit] in "'\"-/" and found[-1] not in ("E", "e")))
        ):
            return tuple(" ".join(found[:LEAD_WORDS]).upper().split(" "))
        if len(text) <= _LEAD_WORDS_FROM_ALL:
            # A short statement quoting a name early (Prisma's `CREATE TABLE "User" (`): its
            # words are one C scan, and every rule reading a DDL statement asks for them anyway.
            return self.words[:LEAD_WORDS]
        out: list[str] = []
        skipped = 0
        for m in _WORDS_SCAN.finditer(text):
            if m.group(3) is not None:
                out.append(m.group(3).upper())
            elif m.group(2) is not None:
                out.append(m.group(2))
            else:
                skipped += 1
                if skipped > 64:  # a data load (`VALUES ('a'), ('b'), ...`): one C pass is cheaper
                    return self.words[:LEAD_WORDS]
                continue
            if len(out) == LEAD_WORDS:
                break
        return tuple(out)

    @_cached
    def words(self) -> tuple[str, ...]:
        """Keyword/identifier tokens outside strings and comments, upper-cased.

        Quoted identifiers are kept verbatim (without quotes) so `"Drop"` never
        reads as the keyword DROP.
        """
        # findall gives (dollar tag, quoted name with its quotes, word) for every match, strings
        # and comments included (all empty): one C call instead of a Python step per match.
        return tuple(
            word.upper() if word else quoted
            for _, quoted, word in _WORDS_SCAN.findall(self.text)
            if word or quoted
        )

    @_cached
    def tokens(self) -> tuple[Token, ...]:
        """Lexical tokens with punctuation and string contents (see `guard.tokens`); no parse."""
        from guard.tokens import tokenize

        return tokenize(self.text)

    @_cached
    def head(self) -> str:
        """The first keyword, upper-cased (`ALTER`, `CREATE`, `INSERT`, ...); cheap, no parse."""
        m = _WORD.search(self.text, 0, 200)
        return m.group(0).upper() if m else ""

    @_cached
    def ast(self) -> exp.Expression | None:
        """sqlglot's tree for this statement, or None when it could not be parsed.

        An `exp.Command` is returned as is: callers must treat it as unanalysed.
        """
        if self.unterminated or len(self.text) > MAX_PARSE_CHARS:
            self._parse_error = self.unterminated or "statement too large to parse"
            return None
        try:
            trees = _dialect().parse(self.text)
        except Exception as exc:  # sqlglot raises ParseError, TokenError, and others on odd input
            self._parse_error = _first_line(str(exc)) or type(exc).__name__
            return None
        trees = [t for t in trees if t is not None]
        if len(trees) != 1:
            self._parse_error = "statement parsed into several statements" if trees else "empty statement"
            return None
        return trees[0]

    @property
    def parse_error(self) -> str | None:
        """Why `ast` is None (after it has been read)."""
        return self._parse_error

    @property
    def is_command(self) -> bool:
        """True when sqlglot fell back to `exp.Command` or could not parse at all."""
        from sqlglot import exp

        tree = self.ast
        return tree is None or isinstance(tree, exp.Command)


def head_is_lead(stmt: Statement) -> bool:
    """True when `stmt.head` is certainly `stmt.lead[0]` (the text opens with a plain word, not a
    string, quoted name or `E'...'`), so a check on `lead[0]` can read the cheaper `head`."""
    text = stmt.text
    c = text[:1]
    if not (("A" <= c <= "Z") or ("a" <= c <= "z") or c == "_"):
        return False
    return not (c in "eE" and text[1:2] == "'")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


@cache
def _dialect() -> Any:
    # Built once per process, on first use (sqlglot is imported only when a statement needs it).
    from sqlglot.dialects.dialect import Dialect

    return Dialect.get_or_raise("postgres")


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

    def emit(end: int) -> None:
        # Comments before and inside a statement belong to it (directives);
        # comments of an empty statement carry over to the next one.
        nonlocal pending
        body_start = _significant_start(text, start, end)
        if body_start is None:
            return
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
        if try_simple:
            try_simple = False
            fast = simple(text, pos)
            if fast is not None:
                end = fast.end() - 1
                emit(end)
                start = pos = end + 1
                try_simple = True
                continue
        m = _SPECIAL.search(text, pos)
        if m is None:
            break
        tok = m.group(0)
        s = m.start()
        if tok == ";":
            emit(s)
            start = pos = s + 1
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
            depth, p = 1, m.end()
            while depth and (edge := _BLOCK_COMMENT_EDGE.search(text, p)):
                depth += 1 if edge.group(0) == "/*" else -1
                p = edge.end()
            if depth:
                unterminated, p = "unterminated block comment", n
            c = Comment(line_of(s), text[s + 2 : max(s + 2, p - 2)].strip())
            comments.append(c)
            pending.append(c)
            pos = p
        elif tok == "'":
            p = m.end()
            while True:
                q = text.find("'", p)
                if q < 0:
                    unterminated, pos = "unterminated string literal", n
                    break
                if text.startswith("''", q):
                    p = q + 2
                    continue
                pos = q + 1
                break
        elif tok in ("E'", "e'"):
            p = m.end()
            while True:
                e_m = _E_STRING_END.search(text, p)
                if e_m is None:
                    unterminated, pos = "unterminated string literal", n
                    break
                if e_m.group(0) == "'":
                    pos = e_m.end()
                    break
                p = e_m.end()
        elif tok == '"':
            p = m.end()
            while True:
                q = text.find('"', p)
                if q < 0:
                    unterminated, pos = "unterminated quoted identifier", n
                    break
                if text.startswith('""', q):
                    p = q + 2
                    continue
                pos = q + 1
                break
        else:  # dollar quote
            q = text.find(tok, m.end())
            if q < 0:
                unterminated, pos = f"unterminated dollar-quoted string {tok}", n
            else:
                pos = q + len(tok)
    emit(n)
    return statements, comments


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


def parse_sql(text: str, first_line: int = 1) -> list[Statement]:
    """Statements of `text` (comments dropped); convenience for callers that need no directives."""
    return split_statements(text, first_line)[0]
