"""What a PL/pgSQL body (a `DO` block's or a function's, as the model holds it) does destructively:
the drops, renames, type changes and truncates it runs directly or builds for `EXECUTE`, and the
functions it calls.

A body runs static DDL directly and dynamic DDL through `EXECUTE 'text'` (often `format(...)`
or `||` pieces), so every string literal in it is read as SQL too, a fragment at a time: a
fragment that ends at `DROP` or puts a placeholder where the kind belongs (`'DROP %s %I'`)
still drops something.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from guard.sql.read_text import calls
from guard.tokens import PUNCT, STRING, WORD, Token, split_on, tokenize

#: Object kinds whose DROP loses data or breaks readers (the DROP rules' kinds).
_DROP_KINDS = frozenset(
    {
        "TABLE",
        "SCHEMA",
        "DATABASE",
        "TYPE",
        "DOMAIN",
        "VIEW",
        "FUNCTION",
        "PROCEDURE",
        "SEQUENCE",
        "EXTENSION",
    }
)
#: Words after `DROP` that drop something no reader misses (or a part of a table that is not a column).
_HARMLESS_DROPS = frozenset(
    {"CONSTRAINT", "DEFAULT", "NOT", "EXPRESSION", "IDENTITY", "INDEX", "TRIGGER", "POLICY", "RULE"}
)
#: How deep strings inside strings are read (`EXECUTE 'EXECUTE ''DROP ...'''`).
_MAX_DEPTH = 3


def dynamic_hazards(body: str, depth: int = 0) -> list[str]:
    """Drops, renames, type changes and truncates in `body` and the strings it holds, in order of
    appearance (`DROP TABLE`, `DROP COLUMN`, `DROP` when the kind is built at run time, `RENAME`,
    `TRUNCATE`, `ALTER COLUMN ... TYPE`)."""
    found: list[str] = []
    for chunk in split_on(tokenize(body), ";"):
        for i, t in enumerate(chunk):
            _add(found, [_hazard_at(chunk, i)])
            if t.kind == STRING and depth < _MAX_DEPTH:
                _add(found, dynamic_hazards(t.text, depth + 1))
    return found


def called_functions(body: str) -> frozenset[str]:
    """Names (folded, no schema) of the functions `body` calls: every `name(` outside strings."""
    return calls(tokenize(body))


def _add(found: list[str], more: Iterable[str]) -> None:
    for shape in more:
        if shape and shape not in found:
            found.append(shape)


def _hazard_at(chunk: tuple[Token, ...], i: int) -> str:
    w = [t.upper if t.kind == WORD else "" for t in chunk[i : i + 2]]
    if w[0] == "DROP":
        if len(w) == 1 or (chunk[i + 1].kind == PUNCT and chunk[i + 1].text == "%"):
            return "DROP"  # the kind comes from a variable or a format() argument
        if w[1] == "MATERIALIZED":
            return "DROP MATERIALIZED VIEW"
        if w[1] == "COLUMN" or w[1] in _DROP_KINDS:
            return f"DROP {w[1]}"
        # `ALTER TABLE t DROP col` inside a statement (not DROP CONSTRAINT/INDEX/TRIGGER/...).
        if w[1] not in _HARMLESS_DROPS and _inside_alter_table(chunk, i):
            return "DROP COLUMN"
    if w[0] == "RENAME" and len(w) > 1 and w[1] != "CONSTRAINT":
        return "RENAME"
    if w[0] == "TRUNCATE":
        return "TRUNCATE"
    if w[0] == "ALTER" and _type_change_at(chunk, i):
        return "ALTER COLUMN ... TYPE"
    return ""


def _inside_alter_table(chunk: tuple[Token, ...], i: int) -> bool:
    words = [t.upper for t in chunk[:i]]
    return any(words[k : k + 2] == ["ALTER", "TABLE"] for k in range(len(words)))


def _type_change_at(chunk: tuple[Token, ...], i: int) -> bool:
    w = [t.upper for t in chunk[i : i + 6]]
    j = 2 if w[1:2] == ["COLUMN"] else 1
    if j >= len(w) or w[j] in ("TABLE", "TYPE", "SCHEMA", "INDEX", "VIEW", "SEQUENCE"):
        return False
    rest = w[j + 1 :]
    return rest[:1] == ["TYPE"] or rest[:3] == ["SET", "DATA", "TYPE"]


def routine_hazards(body: str, known: Mapping[str, Sequence[str]]) -> list[str]:
    """`dynamic_hazards` of a body, plus those of the functions in `known` (name -> hazards) it calls."""
    found = dynamic_hazards(body)
    if known:
        for name in sorted(called_functions(body) & known.keys()):
            _add(found, known[name])
    return found
