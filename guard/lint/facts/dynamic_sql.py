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
from guard.tokens import PUNCT, STRING, WORD, Token, read_qualified_name, split_on, tokenize

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
#: The words every hazard starts at (`DROP ...`, `RENAME ...`, `TRUNCATE`, `ALTER ... TYPE`).
_HAZARD_WORDS = ("drop", "rename", "truncate", "alter")
#: How deep strings inside strings are read (`EXECUTE 'EXECUTE ''DROP ...'''`).
_MAX_DEPTH = 3


def dynamic_hazards(body: str, depth: int = 0) -> list[str]:
    """Drops, renames, type changes and truncates in `body` and the strings it holds, in order of
    appearance (`DROP TABLE`, `DROP COLUMN`, `DROP (its kind built at run time)`, `RENAME`,
    `TRUNCATE`, `ALTER COLUMN ... TYPE`). Dropping a table the body itself created (a scratch
    table of a batch loop) loses nothing and is not one."""
    found: list[str] = []
    if not _may_harm(body):
        return found
    created: set[str] = set()
    for chunk in split_on(tokenize(body), ";"):
        created |= _created_table(chunk)
        for i, t in enumerate(chunk):
            if not _drops_only(chunk, i, created):
                _add(found, [_hazard_at(chunk, i, fragment=depth > 0)])
            if t.kind == STRING and depth < _MAX_DEPTH:
                _add(found, dynamic_hazards(t.text, depth + 1))
    return found


def _may_harm(body: str) -> bool:
    """False when no hazard can start in `body` or its strings: each starts at one of these words.
    (An `E'...'` string's backslash escapes could spell one only once read, so those are read.)"""
    lowered = body.lower()
    return "\\" in body or any(word in lowered for word in _HAZARD_WORDS)


def _created_table(chunk: tuple[Token, ...]) -> set[str]:
    """Tables a static `CREATE [TEMP|UNLOGGED] TABLE [IF NOT EXISTS] name` in `chunk` creates
    (the chunk may start with `BEGIN`, `THEN`, `LOOP`, ...)."""
    words = [t.upper for t in chunk]
    found: set[str] = set()
    for k, word in enumerate(words):
        if word != "CREATE":
            continue
        i = k + 1
        while i < len(words) and words[i] in ("TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL"):
            i += 1
        if words[i : i + 1] != ["TABLE"]:
            continue
        i += 1
        while i < len(chunk) and words[i] in ("IF", "NOT", "EXISTS"):
            i += 1
        parts, _ = read_qualified_name(chunk, i)
        if parts:
            found.add(parts[-1].name)
    return found


def _drops_only(chunk: tuple[Token, ...], i: int, created: set[str]) -> bool:
    """True for `DROP TABLE [IF EXISTS] a, b` at `i` naming only tables created earlier in the body."""
    if not created or [t.upper for t in chunk[i : i + 2]] != ["DROP", "TABLE"]:
        return False
    i += 2
    while i < len(chunk) and chunk[i].upper in ("IF", "EXISTS"):
        i += 1
    names = [read_qualified_name(part, 0)[0] for part in split_on(chunk[i:], ",")]
    return bool(names) and all(p and p[-1].name in created for p in names)


def called_functions(body: str) -> frozenset[str]:
    """Names (folded, no schema) of the functions `body` calls: every `name(` outside strings."""
    return calls(tokenize(body))


def _add(found: list[str], more: Iterable[str]) -> None:
    for shape in more:
        if shape and shape not in found:
            found.append(shape)


def _hazard_at(chunk: tuple[Token, ...], i: int, fragment: bool) -> str:
    """The hazard starting at `chunk[i]`; in a string `fragment`, a DROP whose kind follows in
    another piece (`'DROP ' || kind`) or a `format()` argument (`'DROP %s %I'`) counts too."""
    w = [t.upper if t.kind == WORD else "" for t in chunk[i : i + 2]]
    if w[0] == "DROP" and not (i > 0 and chunk[i - 1].upper == "COMMIT"):  # not `ON COMMIT DROP`
        if fragment and (len(w) == 1 or (chunk[i + 1].kind == PUNCT and chunk[i + 1].text == "%")):
            return "DROP (its kind built at run time)"
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
