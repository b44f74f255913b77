"""Nullability facts of migrations: `CHECK (col IS NOT NULL)` constraints and their validation,
the unique indexes `CREATE UNIQUE INDEX` declares, and which tables a statement may tell about.

Read by the lint context and the schema index (below the rules) and by the NOT NULL rules.
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.ddl import create_table_columns, read_alter_table
from guard.parsing import Statement
from guard.tokens import PUNCT, Token, read_qualified_name


def not_null_check_actions(stmt: Statement) -> Iterator[tuple[str, str, str, bool]]:
    """(table, constraint, column, validated) for `ADD CONSTRAINT c CHECK (col IS NOT NULL) [NOT VALID]`
    actions and (table, constraint, '', True) for `VALIDATE CONSTRAINT c`."""
    if "CHECK" not in stmt.words and "VALIDATE" not in stmt.words:
        return
    alter = read_alter_table(stmt)
    if alter is None:
        return
    for action in alter.actions:
        w = action.words
        if action.starts("VALIDATE", "CONSTRAINT") and len(action.tokens) > 2:
            yield alter.key, action.tokens[2].name, "", True
        elif w[:1] == ("ADD",) and "CHECK" in w:
            i = w.index("CHECK")
            body = action.tokens[i + 1 :]
            # Exactly `( col IS NOT NULL )`.
            shape = [t.upper or t.text for t in body[:6]]
            if shape[:1] == ["("] and shape[2:] == ["IS", "NOT", "NULL", ")"] and body[1].is_name():
                name = action.tokens[2].name if action.starts("ADD", "CONSTRAINT") else ""
                yield alter.key, name, body[1].name, "VALID" not in w[i:]


def paren_names(tokens: tuple[Token, ...], i: int) -> list[str | None]:
    """Names of the comma-separated items of the parenthesised list at `i` (None for an expression)."""
    if i >= len(tokens) or tokens[i].kind != PUNCT or tokens[i].text != "(":
        return []
    depth = 0
    items: list[list[Token]] = []
    current: list[Token] = []
    for t in tokens[i:]:
        if t.kind == PUNCT and t.text == "(":
            depth += 1
            if depth == 1:
                continue
        elif t.kind == PUNCT and t.text == ")":
            depth -= 1
            if depth == 0:
                break
        if depth == 1 and t.kind == PUNCT and t.text == ",":
            items.append(current)
            current = []
        else:
            current.append(t)
    items.append(current)
    # `col`, `col DESC`, `col text_pattern_ops`, `col COLLATE "C"` are plain columns; anything else is not.
    return [item[0].name if item and item[0].is_name() and item[0].kind != PUNCT else None for item in items]


def unique_index_def(stmt: Statement) -> tuple[str, str, list[str | None]] | None:
    """(index name, table key, columns) when `stmt` is `CREATE UNIQUE INDEX name ON table (...)`."""
    if stmt.lead[:3] != ("CREATE", "UNIQUE", "INDEX"):
        return None
    toks = stmt.tokens
    i = 3
    while i < len(toks) and toks[i].upper in ("CONCURRENTLY", "IF", "NOT", "EXISTS"):
        i += 1
    name, i = read_qualified_name(toks, i)
    if not name or i >= len(toks) or toks[i].upper != "ON":
        return None
    i += 1
    while i < len(toks) and toks[i].upper == "ONLY":
        i += 1
    table, i = read_qualified_name(toks, i)
    if i < len(toks) and toks[i].upper == "USING":
        i += 2
    return (name[-1].name, table[-1].name, paren_names(toks, i)) if table else None


def nullability_tables(stmt: Statement) -> set[str]:
    """The tables whose nullability or unique indexes `stmt` may tell about (what `_nullability`
    and `_unique_index` read): the schema index files each earlier statement under these."""
    keys: set[str] = set()
    created = create_table_columns(stmt)
    if created is not None:
        keys.add(created[0])
    alter = read_alter_table(stmt)
    if alter is not None:
        keys.add(alter.key)
    unique = unique_index_def(stmt)
    if unique is not None:
        keys.add(unique[1])
    return keys
