"""A small Postgres lexer for token-level checks: words, quoted identifiers, strings, punctuation.

Rules use it where sqlglot cannot help: statements it parses only as `exp.Command`
(or not at all), spellings it misreads (`ALTER TABLE t RENAME a TO b`), and the
bodies of `DO` blocks and the strings they `EXECUTE`. Unlike `Statement.words` it
keeps punctuation (`.`, `,`, parentheses) and string contents, so a check can
follow a qualified name or an action list. It never raises: unterminated input
ends in one last token.
"""

from __future__ import annotations

import re
from collections.abc import Callable

WORD, IDENT, STRING, NUMBER, PUNCT = "word", "ident", "string", "number", "punct"


#: First and next characters of a bare word (Postgres allows any non-ASCII letter); a dollar
#: quote's tag has no `$` inside. Each is `[A-Za-z_\u0080-\uffff]` (plus digits, plus `$`)
#: spelled as the complement of what it excludes: the same set, but a class holding the range
#: U+0080-U+FFFF takes about 3 ms to compile, paid by every process on start-up for each use.
NAME_START = r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f\U00010000-\U0010ffff]"
NAME_PART = r"[^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f\U00010000-\U0010ffff]"
TAG_PART = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f\U00010000-\U0010ffff]"

# Leading whitespace is consumed by the same match as the token after it. A dollar-quoted
# string is matched whole (up to its closing tag, or the end); block comments nest in Postgres,
# which a regex cannot match, so `tokenize` skips them by hand.
_TOKEN = re.compile(
    r"""\s*(?:"""
    r"""(?P<estring>(?<![A-Za-z0-9_])[eE]'(?:\\.|''|[^'\\])*(?:'|$))"""
    rf"""|(?P<word>{NAME_START}{NAME_PART}*)"""
    r"""|(?P<line_comment>--[^\n]*)"""
    r"""|(?P<block_comment>/\*)"""
    r"""|(?P<string>'(?:''|[^'])*(?:'|$))"""
    rf"""|(?P<dollar>(?P<tag>\$(?:{NAME_START}{TAG_PART}*)?\$).*?(?:(?P=tag)|\Z))"""
    r"""|(?P<ident>"(?:""|[^"])*(?:"|$))"""
    r"""|(?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)"""
    r"""|(?P<punct>::|:=|\S))""",
    re.S,
)
_BLOCK_EDGE = re.compile(r"/\*|\*/")


class Token:
    """One lexical token. `text` is the word as written, an identifier or string's content.

    A small slotted class rather than a dataclass: a corpus lint creates a few hundred
    thousand of them, and `upper` is read for most. Tokens are never mutated.
    """

    __slots__ = ("kind", "text", "upper")

    def __init__(self, kind: str, text: str) -> None:
        self.kind = kind
        self.text = text
        #: The keyword form of a bare word (upper-cased); quoted identifiers never match keywords.
        self.upper = text.upper() if kind == WORD else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Token) and (self.kind, self.text) == (other.kind, other.text)

    def __hash__(self) -> int:
        return hash((self.kind, self.text))

    def __repr__(self) -> str:
        return f"Token(kind={self.kind!r}, text={self.text!r})"

    @property
    def name(self) -> str:
        """The name as Postgres stores it: bare words fold to lower case, quoted ones are kept."""
        return self.text.lower() if self.kind == WORD else self.text

    def is_name(self) -> bool:
        """True for a bare word or a quoted identifier."""
        return self.kind in (WORD, IDENT)

    def shown(self) -> str:
        """The token as it would be written back in SQL (quoted identifiers re-quoted)."""
        if self.kind == IDENT:
            return '"' + self.text.replace('"', '""') + '"'
        if self.kind == STRING:
            return "'" + self.text.replace("'", "''") + "'"
        return self.text


def tokenize(text: str) -> tuple[Token, ...]:
    """Tokens of `text`, comments and whitespace dropped."""
    out: list[Token] = []
    append = out.append
    # A scanner walks the text in C, one token per call; only a block comment, which may nest,
    # is skipped by hand (a new scanner then starts after it).
    next_token: Callable[[], re.Match[str] | None] = _TOKEN.scanner(text).match  # type: ignore[attr-defined]
    while (m := next_token()) is not None:
        kind = m.lastgroup
        if kind == "word":
            append(Token(WORD, m.group(kind)))
        elif kind == "punct":
            append(Token(PUNCT, m.group(kind)))
        elif kind == "block_comment":
            pos, depth = m.end(), 1
            while depth and (edge := _BLOCK_EDGE.search(text, pos)):
                depth += 1 if edge.group(0) == "/*" else -1
                pos = edge.end()
            if depth:
                break
            next_token = _TOKEN.scanner(text, pos).match  # type: ignore[attr-defined]
        elif kind != "line_comment":
            append(_other(m, kind))  # type: ignore[arg-type]
    return tuple(out)


def _other(m: re.Match[str], kind: str) -> Token:
    """The token of a match that is not a word, punctuation or comment."""
    tok = m.group(kind)
    if kind == "estring":
        return Token(STRING, _unescape_e(tok[2:-1] if tok.endswith("'") and len(tok) > 2 else tok[2:]))
    if kind == "string":
        body = tok[1:-1] if tok.endswith("'") and len(tok) > 1 else tok[1:]
        return Token(STRING, body.replace("''", "'"))
    if kind == "dollar":
        tag = m.group("tag")
        closed = len(tok) >= 2 * len(tag) and tok.endswith(tag)
        return Token(STRING, tok[len(tag) : len(tok) - len(tag)] if closed else tok[len(tag) :])
    if kind == "ident":
        body = tok[1:-1] if tok.endswith('"') and len(tok) > 1 else tok[1:]
        return Token(IDENT, body.replace('""', '"'))
    return Token(NUMBER, tok)


def _unescape_e(body: str) -> str:
    # Enough for keyword checks: `\'` and `''` become a quote, other escapes lose the backslash.
    return re.sub(r"\\(.)", r"\1", body.replace("''", "'"))


def split_on(tokens: tuple[Token, ...], sep: str) -> list[tuple[Token, ...]]:
    """Split `tokens` at `sep` punctuation outside parentheses (action lists, statement lists)."""
    parts: list[tuple[Token, ...]] = []
    depth, start = 0, 0
    for i, t in enumerate(tokens):
        if t.kind != PUNCT:
            continue
        if t.text in "([":
            depth += 1
        elif t.text in ")]":
            depth = max(0, depth - 1)
        elif t.text == sep and depth == 0:
            parts.append(tokens[start:i])
            start = i + 1
    parts.append(tokens[start:])
    return [p for p in parts if p]


def read_qualified_name(tokens: tuple[Token, ...], i: int) -> tuple[list[Token], int]:
    """Read `a.b.c` starting at `i`; return its parts and the index after it (empty when no name)."""
    parts: list[Token] = []
    if i < len(tokens) and tokens[i].is_name():
        parts.append(tokens[i])
        i += 1
        while (
            i + 1 < len(tokens)
            and tokens[i].kind == PUNCT
            and tokens[i].text == "."
            and tokens[i + 1].is_name()
        ):
            parts.append(tokens[i + 1])
            i += 2
    return parts, i


def show_name(parts: list[Token]) -> str:
    """A qualified name as the user wrote it (`public."Users"`)."""
    return ".".join(p.shown() for p in parts) or "?"
