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
from dataclasses import dataclass

WORD, IDENT, STRING, NUMBER, PUNCT = "word", "ident", "string", "number", "punct"

_TOKEN = re.compile(
    r"""(?P<space>\s+)"""
    r"""|(?P<line_comment>--[^\n]*)"""
    r"""|(?P<block_comment>/\*)"""
    r"""|(?P<estring>(?<![A-Za-z0-9_])[eE]'(?:\\.|''|[^'\\])*(?:'|$))"""
    r"""|(?P<string>'(?:''|[^'])*(?:'|$))"""
    r"""|(?P<dollar>\$(?:[A-Za-z_\u0080-\uffff][A-Za-z_0-9\u0080-\uffff]*)?\$)"""
    r"""|(?P<ident>"(?:""|[^"])*(?:"|$))"""
    r"""|(?P<word>[A-Za-z_\u0080-\uffff][A-Za-z_0-9$\u0080-\uffff]*)"""
    r"""|(?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)"""
    r"""|(?P<punct>::|:=|.)""",
    re.S,
)
_BLOCK_EDGE = re.compile(r"/\*|\*/")


@dataclass(frozen=True)
class Token:
    """One lexical token. `text` is the word as written, an identifier or string's content."""

    kind: str
    text: str

    @property
    def upper(self) -> str:
        """The keyword form of a bare word (upper-cased); quoted identifiers never match keywords."""
        return self.text.upper() if self.kind == WORD else ""

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
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:  # pragma: no cover - the last alternative matches any character
            break
        kind = m.lastgroup
        tok = m.group(0)
        pos = m.end()
        if kind in ("space", "line_comment"):
            continue
        if kind == "block_comment":
            depth = 1
            while depth and (edge := _BLOCK_EDGE.search(text, pos)):
                depth += 1 if edge.group(0) == "/*" else -1
                pos = edge.end()
            if depth:
                pos = n
        elif kind == "estring":
            out.append(
                Token(STRING, _unescape_e(tok[2:-1] if tok.endswith("'") and len(tok) > 2 else tok[2:]))
            )
        elif kind == "string":
            body = tok[1:-1] if tok.endswith("'") and len(tok) > 1 else tok[1:]
            out.append(Token(STRING, body.replace("''", "'")))
        elif kind == "dollar":
            end = text.find(tok, pos)
            end = n if end < 0 else end
            out.append(Token(STRING, text[pos:end]))
            pos = min(n, end + len(tok))
        elif kind == "ident":
            body = tok[1:-1] if tok.endswith('"') and len(tok) > 1 else tok[1:]
            out.append(Token(IDENT, body.replace('""', '"')))
        elif kind == "word":
            out.append(Token(WORD, tok))
        elif kind == "number":
            out.append(Token(NUMBER, tok))
        else:
            out.append(Token(PUNCT, tok))
    return tuple(out)


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
