"""Column types as the statement model carries them: a type normalised from its tokens
(`character varying(20)` -> `varchar(20)`), and whether a type change is a binary-compatible
widening (no rewrite, readers unaffected).

Postgres skips the table rewrite, and existing readers keep working, when the new
type is binary coercible from the old and no `USING` clause recomputes values:
`varchar(n)` to a longer `varchar` / `varchar` / `text`, `text` to unbounded
`varchar`, `numeric(p,s)` to `numeric(p2>=p, s)` or unbounded `numeric`,
`varbit(n)` to a longer `varbit`, `cidr` to `inet`, and raising or removing the
fractional-seconds precision of `timestamp`, `timestamptz`, `time`, `timetz` and
`interval` (their typmod support functions skip the rewrite when no value can change).
"""

from __future__ import annotations

from collections.abc import Sequence

from guard.sql.record import Record, record
from guard.tokens import IDENT, NUMBER, PUNCT, WORD, Token

_ALIASES = {
    "character varying": "varchar",
    "char varying": "varchar",
    "character": "bpchar",
    "char": "bpchar",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "decimal": "numeric",
    "bool": "boolean",
    "float8": "double precision",
    "float4": "real",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "time without time zone": "time",
    "time with time zone": "timetz",
    "bit varying": "varbit",
}

#: Words that end a column's type inside a column definition.
_TYPE_END = frozenset(
    {
        "NOT",
        "NULL",
        "DEFAULT",
        "PRIMARY",
        "REFERENCES",
        "UNIQUE",
        "CHECK",
        "CONSTRAINT",
        "GENERATED",
        "COLLATE",
        "USING",
        "COMPRESSION",
        "STORAGE",
    }
)


@record
class TypeSpec(Record):
    """A normalised column type: `varchar`, (255,), array depth."""

    name: str
    params: tuple[int, ...] = ()
    array: int = 0

    def __str__(self) -> str:
        params = f"({','.join(map(str, self.params))})" if self.params else ""
        return self.name + params + "[]" * self.array


def type_tokens(tokens: Sequence[Token]) -> tuple[Token, ...]:
    """The leading tokens of `tokens` that spell a type (stops at constraints, COLLATE, USING, `,`)."""
    out: list[Token] = []
    depth = 0
    for t in tokens:
        if depth == 0 and (t.upper in _TYPE_END or (t.kind == PUNCT and t.text in ",)")):
            break
        if t.kind == PUNCT and t.text == "(":
            depth += 1
        elif t.kind == PUNCT and t.text == ")":
            depth -= 1
        out.append(t)
    return tuple(out)


def parse_type(tokens: Sequence[Token]) -> TypeSpec | None:
    """Normalise the tokens of a type (`character varying(20)`, `int8[]`, `pg_catalog.text`)."""
    words: list[str] = []
    params: list[int] = []
    array = 0
    i, toks = 0, list(tokens)
    while i < len(toks):
        t = toks[i]
        if t.kind in (WORD, IDENT):
            words.append(t.name)
        elif t.kind == PUNCT and t.text == "(":
            j = i + 1
            while j < len(toks) and not (toks[j].kind == PUNCT and toks[j].text == ")"):
                if toks[j].kind == NUMBER and toks[j].text.isdigit():
                    params.append(int(toks[j].text))
                elif not (toks[j].kind == PUNCT and toks[j].text == ","):
                    return None  # a modifier we do not understand
                j += 1
            i = j
        elif t.kind == PUNCT and t.text == "[":
            array += 1
            while i < len(toks) and not (toks[i].kind == PUNCT and toks[i].text == "]"):
                i += 1
        elif t.kind == PUNCT and t.text == ".":
            words = []  # drop a schema qualifier (pg_catalog.text)
        else:
            return None
        i += 1
    if not words:
        return None
    if words[-1] == "array":  # `text ARRAY`
        words, array = words[:-1], array + 1
    name = " ".join(words)
    return TypeSpec(_ALIASES.get(name, name), tuple(params), array)


def is_binary_compatible(old: TypeSpec, new: TypeSpec) -> bool:
    """True when changing a column from `old` to `new` keeps every value and needs no rewrite."""
    if old.array != new.array:
        return False
    if old == new:
        return True
    o, n = old.name, new.name
    if o in ("varchar", "text") and n in ("varchar", "text"):
        if n == "text" or not new.params:
            return True
        return o == "varchar" and bool(old.params) and new.params[0] >= old.params[0]
    if o == n == "varbit":
        return not new.params or (bool(old.params) and new.params[0] >= old.params[0])
    if o == n == "numeric":
        if not new.params:
            return True
        if len(old.params) < 1:
            return False
        old_scale = old.params[1] if len(old.params) > 1 else 0
        new_scale = new.params[1] if len(new.params) > 1 else 0
        return new_scale == old_scale and new.params[0] >= old.params[0]
    if o == n and o in _PRECISION_TYPES and len(old.params) <= 1 and len(new.params) <= 1:
        # timestamp_support() and friends: no rewrite when the precision does not shrink; an
        # unbounded column is already at the maximum, 6.
        old_p = old.params[0] if old.params else _MAX_SECONDS_PRECISION
        new_p = new.params[0] if new.params else _MAX_SECONDS_PRECISION
        return new_p >= old_p
    return o == "cidr" and n == "inet"


#: Types whose only modifier is the fractional-seconds precision (0-6).
_PRECISION_TYPES = frozenset({"timestamp", "timestamptz", "time", "timetz", "interval"})
_MAX_SECONDS_PRECISION = 6
