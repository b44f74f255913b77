"""`ALTER TABLE` read from tokens into `AlterTable` with every action typed (see
`guard.sql.read_text`, which re-exports `alter_table`).

The action list is split at top-level commas, and each action is read by its leading
keywords, so a column or constraint named like a keyword (`valid`, `type`) inside
parentheses never changes the reading.
"""

from __future__ import annotations

from guard.sql.facts import (
    Action,
    AddColumn,
    AddConstraint,
    AddIdentity,
    AlterColumnType,
    AlterTable,
    AttachPartition,
    DetachPartition,
    DropColumn,
    DropConstraint,
    DropDefault,
    DropNotNull,
    Name,
    OtherAction,
    RenameColumn,
    RenameConstraint,
    RenameTable,
    SetDefault,
    SetLogged,
    SetNotNull,
    SetSchema,
    SetTablespace,
    ValidateConstraint,
)
from guard.sql.read_text_common import (
    TABLE_CONSTRAINT_WORDS,
    Tokens,
    default_of,
    is_punct,
    read_column,
    read_constraint,
    read_name,
    skip,
    sql_of,
    uppers,
    words_of,
)
from guard.sql.types import parse_type, type_tokens
from guard.tokens import Token, split_on

#: Words after `DROP` in an action that do not name a column.
_NOT_A_COLUMN = frozenset({"CONSTRAINT", "DEFAULT", "NOT", "EXPRESSION", "IDENTITY"})


def alter_table(tokens: Tokens) -> AlterTable | None:
    """`ALTER TABLE [IF EXISTS] [ONLY] name [*] action, ...`; None for other statements and for
    `ALTER TABLE ALL IN TABLESPACE`."""
    w = uppers(tokens[:4])
    if w[:2] != ("ALTER", "TABLE") or "ALL" in w[2:4]:
        return None
    i = 2
    if_exists = uppers(tokens[2:4]) == ("IF", "EXISTS")
    i = skip(tokens, i, "IF", "EXISTS")
    only = uppers(tokens[i : i + 1]) == ("ONLY",)
    i = skip(tokens, i, "ONLY")
    table, i = read_name(tokens, i)
    if not table.key:
        return None
    if i < len(tokens) and is_punct(tokens[i], "*"):
        i += 1
    actions = tuple(read_action(part) for part in split_on(tokens[i:], ","))
    return AlterTable(table, actions, only, if_exists)


def _tok_name(tok: Token) -> Name:
    return Name(tok.name, tok.shown())


def read_action(a: Tokens) -> Action:
    """One action of an `ALTER TABLE` list (`OtherAction` for any shape no rule judges)."""
    w = uppers(a)
    head = w[0]
    found: Action | None = None
    if head == "ADD":
        found = _add(a, w)
    elif head == "DROP":
        found = _drop(a, w)
    elif head == "ALTER":
        found = _alter_column(a, w)
    elif head == "VALIDATE" and w[1:2] == ("CONSTRAINT",) and len(a) > 2:
        found = ValidateConstraint(_tok_name(a[2]))
    elif head == "RENAME":
        found = _rename(a, w)
    elif head == "SET":
        found = _set(a, w)
    elif w[:2] == ("ATTACH", "PARTITION") and len(a) > 2:
        found = AttachPartition(read_name(a, 2)[0])
    elif w[:2] == ("DETACH", "PARTITION") and len(a) > 2:
        name, j = read_name(a, 2)
        found = DetachPartition(name, "CONCURRENTLY" in w[j:], "FINALIZE" in w[j:])
    return found if found is not None else OtherAction(words_of(a))


def _add(a: Tokens, w: tuple[str, ...]) -> Action | None:
    if w[1:2] and w[1] in TABLE_CONSTRAINT_WORDS:
        constraint = read_constraint(a[1:])
        return AddConstraint(constraint) if constraint is not None else None
    i = skip(a, 1, "COLUMN")
    if_not_exists = uppers(a[i : i + 3]) == ("IF", "NOT", "EXISTS")
    i = skip(a, i, "IF", "NOT", "EXISTS")
    column = read_column(a[i:])
    return AddColumn(column, if_not_exists) if column is not None else None


def _drop(a: Tokens, w: tuple[str, ...]) -> Action | None:
    if w[1:2] == ("CONSTRAINT",):
        i = skip(a, 2, "IF", "EXISTS")
        if i < len(a) and a[i].is_name():
            return DropConstraint(_tok_name(a[i]), i > 2, "CASCADE" in w[i + 1 :])
        return None
    if len(a) < 2 or w[1] in _NOT_A_COLUMN:
        return None
    i = skip(a, 1, "COLUMN")
    j = skip(a, i, "IF", "EXISTS")
    if j < len(a) and a[j].is_name():
        return DropColumn(_tok_name(a[j]), j > i, "CASCADE" in w[j + 1 :])
    return None


def _alter_column(a: Tokens, w: tuple[str, ...]) -> Action | None:
    i = skip(a, 1, "COLUMN")
    if i >= len(a) or not a[i].is_name() or (i == 1 and w[1] == "CONSTRAINT"):
        return None
    column = _tok_name(a[i])
    rest = w[i + 1 :]
    j = i + 1
    if rest[:1] == ("TYPE",) or rest[:3] == ("SET", "DATA", "TYPE"):
        j += 1 if rest[:1] == ("TYPE",) else 3
        spelled = type_tokens(a[j:])
        using = None
        if "USING" in w[j:]:
            using = sql_of(a[w.index("USING", j) + 1 :])
        collation = ""
        if "COLLATE" in w[j:] and w.index("COLLATE", j) + 1 < len(a):
            collation = a[w.index("COLLATE", j) + 1].shown()
        return AlterColumnType(column, parse_type(spelled), sql_of(spelled), using, collation)
    if rest[:3] == ("SET", "NOT", "NULL"):
        return SetNotNull(column)
    if rest[:3] == ("DROP", "NOT", "NULL"):
        return DropNotNull(column)
    if rest[:2] == ("SET", "DEFAULT") and len(a) > j + 2:
        return SetDefault(column, default_of(a[j + 2 :]))
    if rest[:2] == ("DROP", "DEFAULT"):
        return DropDefault(column)
    if rest[:2] == ("ADD", "GENERATED") and "IDENTITY" in rest:
        return AddIdentity(column)
    return None


def _rename(a: Tokens, w: tuple[str, ...]) -> Action | None:
    if w[1:2] == ("TO",) and len(a) > 2:
        return RenameTable(read_name(a, 2)[0])
    if w[1:2] == ("CONSTRAINT",):
        if len(a) > 4 and w[3] == "TO":
            return RenameConstraint(_tok_name(a[2]), _tok_name(a[4]))
        return None
    i = skip(a, 1, "COLUMN")
    if i + 2 < len(a) and w[i + 1] == "TO" and a[i].is_name():
        return RenameColumn(_tok_name(a[i]), _tok_name(a[i + 2]))
    return None


def _set(a: Tokens, w: tuple[str, ...]) -> Action | None:
    if w[1:2] == ("SCHEMA",) and len(a) > 2:
        return SetSchema(a[2].name)
    if w[1:] == ("LOGGED",):
        return SetLogged(True)
    if w[1:] == ("UNLOGGED",):
        return SetLogged(False)
    if w[1:2] == ("TABLESPACE",) and len(a) > 2:
        return SetTablespace(a[2].name)
    return None
