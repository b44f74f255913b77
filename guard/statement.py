"""One SQL statement as the splitter (`guard.parsing`) cuts it, read lazily: its keyword words,
tokens, sqlglot tree and fact (`guard.sql.facts`), each computed once and cached.

Rules read only `Statement.fact`; the other readings are the readers' raw material (`ast` is
parsed only for the statements the token reader leaves to sqlglot).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlglot import exp

    from guard.sql.facts import Fact
    from guard.tokens import Token

# sqlglot reports unsupported syntax through its logger; it must never reach the
# terminal or corrupt JSON output.
_sqlglot_log = logging.getLogger("sqlglot")
_sqlglot_log.addHandler(logging.NullHandler())
_sqlglot_log.propagate = False
_sqlglot_log.setLevel(logging.CRITICAL)

_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9$]*")
_WORDS_SCAN = re.compile(
    r"""(?=[-/'"$A-Za-z_])(?:--[^\n]*|/\*.*?\*/|(?<![A-Za-z0-9_])[eE]'(?:\\.|''|[^'\\])*'|'(?:''|[^'])*'"""
    r"""|(?<![A-Za-z0-9_$])(\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$).*?\1|("(?:""|[^"])*")|([A-Za-z_][A-Za-z_0-9$]*))""",
    re.S,
)

MAX_PARSE_CHARS = 200_000
"""Statements longer than this are not handed to sqlglot (they are data, not DDL)."""

LEAD_WORDS = 8
"""How many leading words `Statement.lead` keeps (enough for every statement shape rules test)."""

_T = TypeVar("_T")


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

    @cached_property
    def lead(self) -> tuple[str, ...]:
        """The first `LEAD_WORDS` of `words` (enough for every statement shape rules test)."""
        return self.words[:LEAD_WORDS]

    @cached_property
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

    @cached_property
    def tokens(self) -> tuple[Token, ...]:
        """Lexical tokens with punctuation and string contents (see `guard.tokens`); no parse."""
        from guard.tokens import tokenize

        return tokenize(self.text)

    @cached_property
    def head(self) -> str:
        """The first keyword, upper-cased (`ALTER`, `CREATE`, `INSERT`, ...); cheap, no parse."""
        m = _WORD.search(self.text, 0, 200)
        return m.group(0).upper() if m else ""

    @cached_property
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

    @cached_property
    def fact(self) -> Fact:
        """What the statement does, as a typed record (`guard.sql.facts`): the one reading rules use."""
        from guard.sql.read import read

        return read(self)

    @property
    def parse_error(self) -> str | None:
        """Why `ast` is None (after it has been read)."""
        return self._parse_error


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


@cache
def _dialect() -> Any:
    # Built once per process, on first use (sqlglot is imported only when a statement needs it).
    from sqlglot.dialects.dialect import Dialect

    return Dialect.get_or_raise("postgres")
