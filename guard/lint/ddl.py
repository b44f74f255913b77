"""Token-level readers for the DDL the lock rules judge: `ALTER TABLE` action lists, column
definitions (in `CREATE TABLE` and `ADD COLUMN`) and type names.

Built on `guard.tokens` rather than sqlglot's tree so that one reader covers the
statements sqlglot structures and the ones it returns as `exp.Command` alike
(`VALIDATE CONSTRAINT`, `DETACH PARTITION`, `USING INDEX`, ...), and so that no
statement is parsed just to read its keywords.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from guard.lint.rules._types import TypeSpec, parse_type
from guard.parsing import Statement
from guard.tokens import PUNCT, STRING, WORD, Token, read_qualified_name, show_name, split_on

#: Words that end a column's type and start its constraints.
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


@dataclass
class ColumnDef:
    """One column definition: name, type and the constraints that matter to lock rules."""

    name: str
    shown: str
    type: TypeSpec | None
    type_text: str = ""
    not_null: bool = False
    primary_key: bool = False
    unique: bool = False
    references: str | None = None
    check: bool = False
    default: tuple[Token, ...] | None = None
    generated_stored: bool = False
    identity: bool = False


def read_column_def(tokens: tuple[Token, ...]) -> ColumnDef | None:
    """Read `name type [constraints...]`; None when it does not start with a name."""
    if not tokens or not tokens[0].is_name():
        return None
    i = 1
    while i < len(tokens) and not (tokens[i].kind == WORD and tokens[i].upper in _CONSTRAINT_WORDS):
        i += 1
    col = ColumnDef(tokens[0].name, tokens[0].shown(), parse_type(tokens[1:i]), sql_of(tokens[1:i]))
    parts = _constraint_parts(tokens[i:])
    for part in parts:
        head = part[0].upper
        if head == "NOT" and len(part) > 1 and part[1].upper == "NULL":
            col.not_null = True
        elif head == "PRIMARY":
            col.primary_key = True
            col.not_null = True
        elif head == "UNIQUE":
            col.unique = True
        elif head == "REFERENCES":
            ref, _ = read_qualified_name(part, 1)
            col.references = show_name(ref)
        elif head == "CHECK":
            col.check = True
        elif head == "DEFAULT":
            col.default = part[1:]
        elif head == "GENERATED":
            ups = [t.upper for t in part]
            if "IDENTITY" in ups:
                col.identity = True
            elif "STORED" in ups or "AS" in ups:
                col.generated_stored = True
    return col


def _constraint_parts(tokens: tuple[Token, ...]) -> list[tuple[Token, ...]]:
    """Split a constraint list at each top-level constraint keyword."""
    parts: list[tuple[Token, ...]] = []
    depth, start = 0, 0
    for i, t in enumerate(tokens):
        if t.kind == PUNCT and t.text in "([":
            depth += 1
        elif t.kind == PUNCT and t.text in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and i > start and t.kind == WORD and t.upper in _CONSTRAINT_WORDS:
            prev = tokens[i - 1].upper
            # `NOT NULL` and `NOT DEFERRABLE` are one constraint; `NULLS NOT DISTINCT` is part of UNIQUE.
            if (t.upper == "NULL" and prev in ("NOT", "DEFAULT")) or (
                t.upper == "DEFERRABLE" and prev == "NOT"
            ):
                continue
            if t.upper == "NOT" and prev == "NULLS":
                continue
            parts.append(tokens[start:i])
            start = i
    if start < len(tokens):
        parts.append(tokens[start:])
    return [p for p in parts if p[0].upper != "CONSTRAINT" or len(p) > 2]


@dataclass
class Action:
    """One action of an `ALTER TABLE` list: its tokens and upper-cased words."""

    tokens: tuple[Token, ...]
    words: tuple[str, ...] = field(default=())

    def starts(self, *words: str) -> bool:
        """True when the action begins with these keywords."""
        return self.words[: len(words)] == words


@dataclass
class AlterTable:
    """An `ALTER TABLE [IF EXISTS] [ONLY] name action, ...` statement."""

    key: str
    shown: str
    actions: list[Action]
    only: bool = False


def read_alter_table(stmt: Statement) -> AlterTable | None:
    """The table and action list of an `ALTER TABLE` statement; None for other statements.

    Read once per statement (a dozen rules ask); callers must not mutate the result.
    """
    if stmt.lead[:2] != ("ALTER", "TABLE"):
        return None
    return stmt.derived("ddl.alter_table", _read_alter_table)


def _read_alter_table(stmt: Statement) -> AlterTable | None:
    words = stmt.lead
    if words[:2] != ("ALTER", "TABLE") or "ALL" in words[2:4]:
        return None
    toks = stmt.tokens
    i = 2
    only = False
    while i < len(toks) and toks[i].upper in ("IF", "EXISTS", "ONLY"):
        only = only or toks[i].upper == "ONLY"
        i += 1
    parts, i = read_qualified_name(toks, i)
    if not parts:
        return None
    if i < len(toks) and toks[i].kind == PUNCT and toks[i].text == "*":
        i += 1
    actions = [
        Action(part, tuple(t.upper if t.kind == WORD else "" for t in part))
        for part in split_on(toks[i:], ",")
    ]
    return AlterTable(parts[-1].name, show_name(parts), actions, only)


def add_column_def(action: Action) -> ColumnDef | None:
    """The column of an `ADD [COLUMN] [IF NOT EXISTS] col type ...` action, else None."""
    w = action.words
    if not w or w[0] != "ADD":
        return None
    i = 1
    if w[1:2] == ("COLUMN",):
        i = 2
    elif w[1:2] and w[1] in ("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "EXCLUDE"):
        return None
    if w[i : i + 3] == ("IF", "NOT", "EXISTS"):
        i += 3
    return read_column_def(action.tokens[i:])


def alter_column_name(action: Action) -> tuple[str, str] | None:
    """(name, shown) of the column an `ALTER [COLUMN] col ...` action targets."""
    if not action.words or action.words[0] != "ALTER":
        return None
    i = 2 if action.words[1:2] == ("COLUMN",) else 1
    if i < len(action.tokens) and action.tokens[i].is_name():
        return action.tokens[i].name, action.tokens[i].shown()
    return None


def create_table_columns(stmt: Statement) -> tuple[str, str, list[ColumnDef], list[tuple[Token, ...]]] | None:
    """(key, shown, columns, table constraints) of `CREATE TABLE name (...)`; None otherwise.

    Read once per statement; callers must not mutate the result.
    """
    if stmt.head != "CREATE":
        return None
    return stmt.derived("ddl.create_table", _create_table_columns)


def _create_table_columns(
    stmt: Statement,
) -> tuple[str, str, list[ColumnDef], list[tuple[Token, ...]]] | None:
    toks = stmt.tokens
    i = 1
    while i < len(toks) and toks[i].upper in (
        "GLOBAL",
        "LOCAL",
        "TEMP",
        "TEMPORARY",
        "UNLOGGED",
        "OR",
        "REPLACE",
    ):
        i += 1
    if i >= len(toks) or toks[i].upper != "TABLE":
        return None
    i += 1
    while i < len(toks) and toks[i].upper in ("IF", "NOT", "EXISTS"):
        i += 1
    parts, i = read_qualified_name(toks, i)
    if not parts or i >= len(toks) or toks[i].text != "(" or toks[i].kind != PUNCT:
        return None
    depth, j = 0, i
    for j in range(i, len(toks)):
        if toks[j].kind == PUNCT and toks[j].text == "(":
            depth += 1
        elif toks[j].kind == PUNCT and toks[j].text == ")":
            depth -= 1
            if depth == 0:
                break
    columns: list[ColumnDef] = []
    constraints: list[tuple[Token, ...]] = []
    for part in split_on(toks[i + 1 : j], ","):
        if part[0].upper in ("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "EXCLUDE", "LIKE"):
            constraints.append(part)
        elif (col := read_column_def(part)) is not None:
            columns.append(col)
    return parts[-1].name, show_name(parts), columns, constraints


def sql_of(tokens: tuple[Token, ...]) -> str:
    """Tokens written back as SQL, for messages."""
    out = ""
    for t in tokens:
        s = t.shown()
        glue = t.kind == PUNCT and (t.text in "),.[]" or (t.text in ("(", "::") and out[-1:].isalnum()))
        if out and not glue and not out.endswith(("(", ".", "::", "[")):
            out += " "
        out += s
    return out


def is_string(tok: Token) -> bool:
    """True for a string literal token."""
    return tok.kind == STRING
