"""Shared pieces of the token reader (`guard.sql.read_text`): names, SQL written back from
tokens, and the column definitions and table constraints that `CREATE TABLE`, `ALTER TABLE`
and `ALTER DOMAIN` share.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from guard.sql.facts import (
    CHECK,
    EXCLUDE,
    FOREIGN_KEY,
    NO_NAME,
    NOT_NULL,
    PRIMARY_KEY,
    UNIQUE,
    Column,
    Constraint,
    Default,
    Name,
)
from guard.sql.types import parse_type
from guard.sql.volatile import default_volatility
from guard.tokens import IDENT, PUNCT, STRING, WORD, Token, read_qualified_name, show_name, split_on

Tokens = tuple[Token, ...]

#: Multi-character operators `guard.tokens` splits into one punctuation token per character,
#: tried longest first (so `->>` wins over `->`).
_OPERATORS = sorted(
    (
        "->>",
        "#>>",
        "!~~*",
        "!~*",
        "!~~",
        "~~*",
        "-|-",
        ">=",
        "<=",
        "<>",
        "!=",
        "||",
        "->",
        "#>",
        "@>",
        "<@",
        "&&",
        "~*",
        "!~",
        "~~",
        "?|",
        "?&",
        "@@",
        "<<",
        ">>",
        "#-",
        "@?",
        "<<=",
        ">>=",
        "<->",
        "<#>",
        "=>",
        "&<",
        "&>",
        "~=",
        "|>>",
        "<<|",
        "@@@",
        "||/",
        "|/",
    ),
    key=len,
    reverse=True,
)
_LONGEST_OPERATOR = max(len(o) for o in _OPERATORS)

#: Words that start a column constraint (and end the column's type).
_CONSTRAINT_WORDS = frozenset(
    {
        "CONSTRAINT",
        "NOT",
        "NULL",
        "DEFAULT",
        "PRIMARY",
        "UNIQUE",
        "REFERENCES",
        "CHECK",
        "GENERATED",
        "COLLATE",
        "COMPRESSION",
        "STORAGE",
        "DEFERRABLE",
        "INITIALLY",
    }
)

#: Column clauses `Column` records only as SQL.
_OTHER_CLAUSES = frozenset({"COLLATE", "COMPRESSION", "STORAGE", "DEFERRABLE", "INITIALLY", "NOT"})

#: Words that start a table constraint.
TABLE_CONSTRAINT_WORDS = frozenset({"CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "EXCLUDE"})
_UPPER = attrgetter("upper")


def name_of(parts: Sequence[Token]) -> Name:
    """The `Name` of a qualified name's parts (NO_NAME when there are none)."""
    if not parts:
        return NO_NAME
    return Name(parts[-1].name, show_name(list(parts)), parts[-2].name if len(parts) > 1 else "")


def read_name(tokens: Tokens, i: int) -> tuple[Name, int]:
    """The qualified name at `i` and the index after it (NO_NAME and `i` when there is none)."""
    parts, j = read_qualified_name(tokens, i)
    return name_of(parts), j


def uppers(tokens: Sequence[Token]) -> tuple[str, ...]:
    """The keyword form of each token (`""` for anything but a bare word)."""
    return tuple(map(_UPPER, tokens))


def words_of(tokens: Sequence[Token]) -> tuple[str, ...]:
    """Tokens as words for `OtherAction`/`AlterOther`: keywords upper-cased, the rest as written."""
    return tuple(t.upper if t.kind == WORD else t.shown() for t in tokens)


def skip(tokens: Tokens, i: int, *words: str) -> int:
    """`i` moved past `words` when the tokens at `i` are exactly those keywords."""
    if uppers(tokens[i : i + len(words)]) == words:
        return i + len(words)
    return i


def is_punct(tok: Token | None, text: str) -> bool:
    """True when `tok` is the punctuation `text`."""
    return tok is not None and tok.kind == PUNCT and tok.text == text


def at(tokens: Tokens, i: int) -> Token | None:
    """The token at `i`, or None past the end."""
    return tokens[i] if 0 <= i < len(tokens) else None


def group_end(tokens: Tokens, i: int) -> int:
    """For a `(` at `i`: the index of its matching `)` (or the last index when unclosed)."""
    depth = 0
    for j in range(i, len(tokens)):
        t = tokens[j]
        if t.kind == PUNCT and t.text in "([":
            depth += 1
        elif t.kind == PUNCT and t.text in ")]":
            depth -= 1
            if depth == 0:
                return j
    return len(tokens) - 1


def top_level(tokens: Tokens) -> list[int]:
    """Indexes of the tokens outside any parentheses or brackets."""
    out, depth = [], 0
    for i, t in enumerate(tokens):
        if t.kind == PUNCT and t.text in "([":
            depth += 1
        elif t.kind == PUNCT and t.text in ")]":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(i)
    return out


def _operator_at(tokens: Sequence[Token], i: int) -> tuple[str, int]:
    """The operator spelled from the punctuation at `i` (`>=`, `||`, `<>` come as one-character
    tokens) and the index after it."""
    j, n = i, len(tokens)
    while j < n and j - i < _LONGEST_OPERATOR and tokens[j].kind == PUNCT and len(tokens[j].text) == 1:
        j += 1
    run = "".join(x.text for x in tokens[i:j])
    op = next((o for o in _OPERATORS if run.startswith(o)), None) if len(run) > 1 else None
    return (op, i + len(op)) if op is not None else (tokens[i].text, i + 1)


def sql_of(tokens: Sequence[Token]) -> str:
    """Tokens written back as SQL (multi-character operators kept whole: `>=`, `||`, `<>`)."""
    pieces: list[str] = []
    last = ""  # the piece before, never empty once set
    i, n = 0, len(tokens)
    while i < n:
        t = tokens[i]
        if t.kind != PUNCT:
            s, i = t.shown(), i + 1
            glue = last.endswith(("(", ".", "::", "["))
        else:
            s, i = _operator_at(tokens, i) if i + 1 < n and tokens[i + 1].kind == PUNCT else (t.text, i + 1)
            if s in (")", ",", ".", "[", "]", "::"):
                glue = True
            elif s == "(":
                glue = last[-1:].isalnum() or last[-1:] in ('"', "_")  # a call: `f(`, `"F"(`
            else:
                glue = last.endswith(("(", ".", "::", "["))
        if pieces and not glue:
            pieces.append(" ")
        pieces.append(s)
        last = s
    return "".join(pieces)


def default_of(tokens: Tokens) -> Default:
    """A `DEFAULT` expression's record, its volatility judged as `avoid-volatile-default` does."""
    volatility, function = default_volatility(tokens) or ("", "")
    is_null = len(tokens) == 1 and tokens[0].upper == "NULL"
    return Default(sql_of(tokens), volatility, function, is_null)


def read_column(tokens: Tokens) -> Column | None:
    """`name type [constraints...]`; None when it does not start with a name."""
    if not tokens or not tokens[0].is_name():
        return None
    i = 1
    while i < len(tokens) and not (tokens[i].kind == WORD and tokens[i].upper in _CONSTRAINT_WORDS):
        i += 1
    type_toks = tokens[1:i]
    fields: dict[str, object] = {}
    clauses: list[str] = []
    for part in _constraint_parts(tokens[i:]):
        if part[0].upper == "CONSTRAINT":
            part = part[2:]
        head = part[0].upper
        if head == "NOT" and len(part) > 1 and part[1].upper == "NULL":
            fields["not_null"] = True
        elif head == "PRIMARY":
            fields["primary_key"] = fields["not_null"] = True
        elif head == "UNIQUE":
            fields["unique"] = True
        elif head == "REFERENCES":
            fields["references"] = read_name(part, 1)[0]
        elif head == "CHECK":
            fields["check"] = True
        elif head == "DEFAULT":
            fields["default"] = default_of(part[1:])
        elif head == "GENERATED":
            ups = uppers(part)
            if "IDENTITY" in ups:
                fields["identity"] = True
            elif "STORED" in ups or "AS" in ups:
                fields["generated"] = True
        elif head in _OTHER_CLAUSES:
            clauses.append(sql_of(part))
    name = Name(tokens[0].name, tokens[0].shown())
    if clauses:
        fields["clauses"] = tuple(clauses)
    return Column(name, parse_type(type_toks), sql_of(type_toks), **fields)  # type: ignore[arg-type]


def _constraint_parts(tokens: Tokens) -> list[Tokens]:
    """Split a column's constraint list at each top-level constraint keyword."""
    parts: list[Tokens] = []
    depth, start = 0, 0
    for i, t in enumerate(tokens):
        if t.kind == PUNCT and t.text in "([":
            depth += 1
        elif t.kind == PUNCT and t.text in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and i > start and t.kind == WORD and t.upper in _CONSTRAINT_WORDS:
            prev = tokens[i - 1].upper
            # `NOT NULL` and `NOT DEFERRABLE` are one constraint; `NULLS NOT DISTINCT` is part of UNIQUE.
            if (
                (t.upper == "NULL" and prev in ("NOT", "DEFAULT"))
                or (t.upper == "DEFERRABLE" and prev == "NOT")
                or (t.upper == "DEFAULT" and prev == "BY")  # GENERATED BY DEFAULT AS IDENTITY
                or (t.upper == "NOT" and prev == "NULLS")
                # `REFERENCES storage.objects`: a schema named like a column clause.
                or (prev == "REFERENCES" or (prev == "." and i > 1 and tokens[i - 2].upper == "REFERENCES"))
            ):
                continue
            if start < i and tokens[start].upper == "CONSTRAINT" and i - start < 3:
                continue  # `CONSTRAINT name` belongs to the constraint after it
            parts.append(tokens[start:i])
            start = i
    if start < len(tokens):
        parts.append(tokens[start:])
    return [p for p in parts if p and (p[0].upper != "CONSTRAINT" or len(p) > 2)]


def read_constraint(tokens: Tokens) -> Constraint | None:
    """A table (or domain) constraint: `[CONSTRAINT n] CHECK (...) | FOREIGN KEY ... | UNIQUE ...
    | PRIMARY KEY ... | EXCLUDE ... | NOT NULL`, with a trailing `NOT VALID`; None for other shapes."""
    name: Name | None = None
    i = 0
    if tokens[:1] and tokens[0].upper == "CONSTRAINT" and len(tokens) > 1:
        name = Name(tokens[1].name, tokens[1].shown())
        i = 2
    body = tokens[i:]
    valid = True
    # Only the clause's own trailing words: a column named `valid` sits inside the parentheses.
    if uppers(body[-2:]) == ("NOT", "VALID") and len(body) - 2 in top_level(body):
        valid, body = False, body[:-2]
    w = uppers(body[:2])
    if w[:1] == ("CHECK",):
        kind = CHECK
    elif w == ("FOREIGN", "KEY"):
        kind = FOREIGN_KEY
    elif w[:1] == ("UNIQUE",):
        kind = UNIQUE
    elif w == ("PRIMARY", "KEY"):
        kind = PRIMARY_KEY
    elif w[:1] == ("EXCLUDE",):
        kind = EXCLUDE
    elif w == ("NOT", "NULL"):
        kind = NOT_NULL
    else:
        return None
    j = 2 if kind in (FOREIGN_KEY, PRIMARY_KEY, NOT_NULL) else 1
    if kind == UNIQUE:
        j = skip(body, j, "NULLS", "NOT", "DISTINCT")
        j = skip(body, j, "NULLS", "DISTINCT")
    using_index: Name | None = None
    columns: tuple[str, ...] = ()
    columns_sql = ""
    index_options = kind in (UNIQUE, PRIMARY_KEY) and j > 2  # NULLS [NOT] DISTINCT
    if kind in (UNIQUE, PRIMARY_KEY) and uppers(body[j : j + 2]) == ("USING", "INDEX"):
        using_index = read_name(body, j + 2)[0]
    elif kind in (UNIQUE, PRIMARY_KEY, FOREIGN_KEY) and is_punct(at(body, j), "("):
        end = group_end(body, j)
        columns = tuple(p[0].name for p in split_on(body[j + 1 : end], ",") if p[0].is_name())
        columns_sql = sql_of(body[j + 1 : end])
        if kind != FOREIGN_KEY and end + 1 < len(body):
            index_options = True  # INCLUDE, WITH, USING INDEX TABLESPACE, DEFERRABLE, ...
    references: Name | None = None
    if kind == FOREIGN_KEY:
        ups = uppers(body)
        if "REFERENCES" in ups:
            references = read_name(body, ups.index("REFERENCES") + 1)[0]
    not_null_column = _not_null_column(body[1:]) if kind == CHECK else ""
    return Constraint(
        kind,
        name,
        columns,
        valid,
        using_index,
        references,
        body_sql=sql_of(body),
        not_null_column=not_null_column,
        columns_sql=columns_sql,
        index_options=index_options,
    )


def _not_null_column(tokens: Tokens) -> str:
    """The column of a CHECK body that is exactly `(col IS NOT NULL)` (parentheses may double;
    clauses after the parentheses, such as `NO INHERIT`, do not matter)."""
    if is_punct(at(tokens, 0), "("):
        tokens = tokens[: group_end(tokens, 0) + 1]
    while len(tokens) >= 2 and is_punct(tokens[0], "(") and group_end(tokens, 0) == len(tokens) - 1:
        tokens = tokens[1:-1]
    if len(tokens) == 4 and tokens[0].kind in (WORD, IDENT) and uppers(tokens[1:]) == ("IS", "NOT", "NULL"):
        return tokens[0].name
    return ""


def first_string(tokens: Tokens) -> Token | None:
    """The first string (or dollar-quoted) token."""
    return next((t for t in tokens if t.kind == STRING), None)


#: Object kinds spelled with more than one keyword (after CREATE, ALTER or DROP).
_MULTI_WORD_KINDS = (
    ("FOREIGN", "DATA", "WRAPPER"),
    ("TEXT", "SEARCH", "CONFIGURATION"),
    ("TEXT", "SEARCH", "DICTIONARY"),
    ("TEXT", "SEARCH", "PARSER"),
    ("TEXT", "SEARCH", "TEMPLATE"),
    ("MATERIALIZED", "VIEW"),
    ("FOREIGN", "TABLE"),
    ("EVENT", "TRIGGER"),
    ("ACCESS", "METHOD"),
    ("OPERATOR", "CLASS"),
    ("OPERATOR", "FAMILY"),
    ("USER", "MAPPING"),
    ("OWNED", "BY"),
    ("DEFAULT", "PRIVILEGES"),
    ("PROCEDURAL", "LANGUAGE"),
    ("CONSTRAINT", "TRIGGER"),
    ("LARGE", "OBJECT"),
)


def read_kind(tokens: Tokens, i: int) -> tuple[tuple[str, ...], int]:
    """The object-kind keywords at `i` (`("MATERIALIZED", "VIEW")`) and the index after them."""
    for words in _MULTI_WORD_KINDS:
        if uppers(tokens[i : i + len(words)]) == words:
            return words, i + len(words)
    if i < len(tokens) and tokens[i].kind == WORD:
        return (tokens[i].upper,), i + 1
    return (), i
