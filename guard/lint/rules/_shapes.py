"""Token-level readers for the statement shapes the destructive rules judge.

They work on `Statement.tokens`, so a statement sqlglot parsed, parsed only as
`exp.Command`, misread (`ALTER TABLE t RENAME a TO b`) or could not parse at all
(`DROP FUNCTION f(arg integer)`) is judged the same way. Each reader returns
plain records with the user's own names for messages and fixes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from guard.tokens import PUNCT, STRING, Token, read_qualified_name, show_name, split_on, tokenize

#: Object kinds whose DROP loses data or breaks readers: DROP keyword(s) -> context kind.
DROP_KINDS: dict[tuple[str, ...], str] = {
    ("TABLE",): "table",
    ("SCHEMA",): "schema",
    ("DATABASE",): "database",
    ("TYPE",): "type",
    ("DOMAIN",): "domain",
    ("VIEW",): "view",
    ("MATERIALIZED", "VIEW"): "view",
    ("FUNCTION",): "function",
    ("PROCEDURE",): "procedure",
    ("SEQUENCE",): "sequence",
    ("EXTENSION",): "extension",
    ("OWNED", "BY"): "owned",
}

#: Words after `DROP` in an ALTER TABLE action that do not name a column.
_NOT_A_COLUMN = frozenset({"CONSTRAINT", "DEFAULT", "NOT", "EXPRESSION", "IDENTITY"})


@dataclass(frozen=True)
class Name:
    """An object name: the key Postgres resolves (no schema) and how the user wrote it."""

    key: str
    shown: str


def _name(parts: list[Token]) -> Name:
    return Name(parts[-1].name if parts else "", show_name(parts))


@dataclass(frozen=True)
class DropStatement:
    """`DROP <kind> [IF EXISTS] a, b [CASCADE]`."""

    kind: str
    keyword: str
    names: tuple[Name, ...]
    cascade: bool


def read_drop(tokens: tuple[Token, ...]) -> DropStatement | None:
    """The DROP of a destructive kind, or None (DROP INDEX, DROP CONSTRAINT, ...)."""
    if not tokens or tokens[0].upper != "DROP":
        return None
    head = tuple(t.upper for t in tokens[1:3])
    match = next(((w, k) for w, k in DROP_KINDS.items() if head[: len(w)] == w), None)
    if match is None:
        return None
    words, kind = match
    i = 1 + len(words)
    while i < len(tokens) and tokens[i].upper in ("IF", "EXISTS", "CONCURRENTLY"):
        i += 1
    names: list[Name] = []
    for part in split_on(tokens[i:], ","):
        parts, _ = read_qualified_name(part, 0)
        if parts and parts[0].upper not in ("CASCADE", "RESTRICT"):
            names.append(_name(parts))
    cascade = any(t.upper == "CASCADE" for t in tokens[i:] if t.kind != STRING)
    return DropStatement(kind, " ".join(words), tuple(names), cascade)


@dataclass(frozen=True)
class Action:
    """One action of an ALTER TABLE: what it does to which column."""

    kind: str  # drop-column | rename-column | rename-table | set-schema | type-change | other
    column: str = ""
    shown_column: str = ""
    new_name: str = ""
    type_tokens: tuple[Token, ...] = ()
    using: bool = False


@dataclass(frozen=True)
class AlterTable:
    """`ALTER TABLE [IF EXISTS] [ONLY] name action, action, ...`."""

    table: Name
    actions: tuple[Action, ...] = field(default_factory=tuple)


def read_alter_table(tokens: tuple[Token, ...]) -> AlterTable | None:
    """Read an ALTER TABLE statement's table and actions; None for other statements."""
    if len(tokens) < 3 or tokens[0].upper != "ALTER" or tokens[1].upper != "TABLE":
        return None
    i = 2
    while i < len(tokens) and tokens[i].upper in ("IF", "EXISTS", "ONLY"):
        i += 1
    parts, i = read_qualified_name(tokens, i)
    if not parts:
        return None
    if i < len(tokens) and tokens[i].kind == PUNCT and tokens[i].text == "*":
        i += 1
    return AlterTable(_name(parts), tuple(_action(a) for a in split_on(tokens[i:], ",")))


def _action(a: tuple[Token, ...]) -> Action:
    w = [t.upper for t in a]
    if w[0] == "DROP" and len(a) > 1 and w[1] not in _NOT_A_COLUMN:
        i = 2 if w[1] == "COLUMN" else 1
        if w[i : i + 2] == ["IF", "EXISTS"]:
            i += 2
        if i < len(a) and a[i].is_name():
            return Action("drop-column", a[i].name, a[i].shown())
    if w[0] == "RENAME" and len(a) > 1:
        if w[1] == "TO" and len(a) > 2:
            return Action("rename-table", new_name=a[2].shown())
        if w[1] == "CONSTRAINT":
            return Action("other")
        i = 2 if w[1] == "COLUMN" else 1
        if i + 2 < len(a) and w[i + 1] == "TO":
            return Action("rename-column", a[i].name, a[i].shown(), a[i + 2].shown())
    if w[:2] == ["SET", "SCHEMA"] and len(a) > 2:
        return Action("set-schema", new_name=a[2].shown())
    if w[0] == "ALTER" and len(a) > 2:
        i = 2 if w[1] == "COLUMN" else 1
        rest = w[i + 1 :]
        j = i + 1
        if rest[:3] == ["SET", "DATA", "TYPE"]:
            j += 3
        elif rest[:1] == ["TYPE"]:
            j += 1
        else:
            return Action("other")
        from guard.sql.types import type_tokens

        return Action(
            "type-change", a[i].name, a[i].shown(), type_tokens=type_tokens(a[j:]), using="USING" in w[j:]
        )
    return Action("other")


def read_alter_rename(tokens: tuple[Token, ...], kind: str) -> tuple[Name, str] | None:
    """`ALTER <kind> name RENAME TO new` -> (name, new); None for other statements."""
    words = kind.split()
    n = len(words)
    if [t.upper for t in tokens[: 1 + n]] != ["ALTER", *words]:
        return None
    i = 1 + n
    while i < len(tokens) and tokens[i].upper in ("IF", "EXISTS"):
        i += 1
    parts, i = read_qualified_name(tokens, i)
    if parts and [t.upper for t in tokens[i : i + 2]] == ["RENAME", "TO"] and i + 2 < len(tokens):
        return _name(parts), tokens[i + 2].shown()
    return None


def read_enum_value_rename(tokens: tuple[Token, ...]) -> tuple[Name, str, str] | None:
    """`ALTER TYPE t RENAME VALUE 'a' TO 'b'` -> (type, old, new)."""
    if [t.upper for t in tokens[:2]] != ["ALTER", "TYPE"]:
        return None
    parts, i = read_qualified_name(tokens, 2)
    rest = tokens[i:]
    if parts and len(rest) >= 5 and rest[0].upper == "RENAME" and rest[1].upper == "VALUE":
        return _name(parts), rest[2].shown(), rest[4].shown()
    return None


def read_truncate(tokens: tuple[Token, ...]) -> list[Name]:
    """Tables a TRUNCATE empties."""
    i = 1
    while i < len(tokens) and tokens[i].upper in ("TABLE", "ONLY"):
        i += 1
    names = []
    for part in split_on(tokens[i:], ","):
        j = 1 if part[0].upper == "ONLY" else 0
        parts, _ = read_qualified_name(part, j)
        if parts and parts[0].upper not in ("RESTART", "CONTINUE", "CASCADE", "RESTRICT"):
            names.append(_name(parts))
    return names


def dynamic_hazards(body: str, depth: int = 0) -> list[str]:
    """Drops, renames, type changes and truncates in a DO body and the strings it EXECUTEs.

    PL/pgSQL runs static DDL directly and dynamic DDL through `EXECUTE 'text'`
    (often `format(...)` or `||` pieces), so every string literal in the body
    is read as SQL too, a fragment at a time.
    """
    found: list[str] = []
    tokens = tokenize(body)
    for chunk in split_on(tokens, ";"):
        for i, t in enumerate(chunk):
            shape = _hazard_at(chunk, i)
            if shape and shape not in found:
                found.append(shape)
            if t.kind == STRING and depth < 3:
                for inner in dynamic_hazards(t.text, depth + 1):
                    if inner not in found:
                        found.append(inner)
    return found


def _hazard_at(chunk: tuple[Token, ...], i: int) -> str:
    w = [t.upper for t in chunk[i : i + 4]]
    if not w or not w[0]:
        return ""
    if w[0] == "DROP" and len(w) > 1:
        kind = w[1] if w[1] != "MATERIALIZED" else "MATERIALIZED VIEW"
        if kind in ("COLUMN", "MATERIALIZED VIEW") or (kind,) in DROP_KINDS:
            return f"DROP {kind}"
        # `ALTER TABLE t DROP col` inside a statement (not DROP CONSTRAINT/INDEX/TRIGGER/...).
        if (
            w[1] not in _NOT_A_COLUMN
            and w[1] not in ("INDEX", "TRIGGER", "POLICY", "RULE")
            and _inside_alter_table(chunk, i)
        ):
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
