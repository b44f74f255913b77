"""Read one statement into its fact (`guard.sql.facts`): the one reading every rule uses.

The token reader (`read_text`) reads the DDL: sqlglot 30 returns a whole `ALTER TABLE` as
`exp.Command` when one action is unsupported, and parsing every DDL statement costs about
four times tokenizing it. It also reads plain `UPDATE` and `DELETE` and `WITH ... UPDATE |
DELETE | INSERT` (a target, a `WHERE` outside parentheses and the clauses that write rows are
all a rule asks): importing sqlglot and parsing them cost a cold corpus lint about a sixth of its
time. sqlglot's tree (`read_tree`, `read_tree_data`) reads `MERGE`, `WITH ... SELECT` and any
statement the token reader cannot read; `tests/test_sql_read.py` proves the two readers agree on
every corpus statement sqlglot structures. Data loads (`INSERT`, `COPY`) never reach a parser: a
data file has 100,000 of them and no rule needs more than the table.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from guard.sql import facts as f
from guard.sql import read_text
from guard.sql.parts import name_key
from guard.sql.read_text_common import uppers
from guard.sql.record import replace

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlglot import exp

    from guard.statement import Statement

#: Words between CREATE and the kind of object it creates.
_CREATE_MODIFIERS = frozenset(
    {"OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "UNIQUE", "RECURSIVE"}
)
_HARMLESS = frozenset(
    {
        "SELECT",
        "COMMENT",
        "GRANT",
        "REVOKE",
        "SHOW",
        "NOTIFY",
        "LISTEN",
        "UNLISTEN",
        "CALL",
        "VALUES",
        "TABLE",
    }
)
_TRANSACTION = frozenset(
    {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE"}
)
_MAINTENANCE = frozenset({"REINDEX", "VACUUM", "CLUSTER", "LOCK", "REFRESH", "ANALYZE", "ANALYSE"})
#: `INSERT INTO` / `COPY` and the target's schema (if any) and name, bare or quoted.
_INSERT_TARGET = re.compile(
    r'\s*(?:INSERT\s+INTO|COPY)\s+(?:("(?:""|[^"])*"|[A-Za-z_][\w$]*)\s*\.\s*)?("(?:""|[^"])*"|[A-Za-z_][\w$]*)',
    re.I,
)


def read(stmt: Statement) -> f.Fact:
    """The fact of `stmt` (computed once; `Statement.fact` caches it)."""
    if stmt.unterminated:
        return f.Unknown(f"unterminated {stmt.unterminated}", stmt.lead[:3])
    head = stmt.head
    if head in ("INSERT", "COPY"):
        # One plain substring search first (a case-insensitive regex is several times slower over
        # a data file's megabytes): its VALUES lists rarely spell `select` at all.
        select = head == "INSERT" and "select" in stmt.text.lower() and "SELECT" in stmt.words
        return f.Insert(_insert_target(stmt.text), select, source=stmt.text)
    reader = _BY_HEAD.get(head)
    fact = reader(stmt) if reader is not None else None
    if fact is None:
        return f.Unknown(stmt.parse_error or "no reader for this statement", stmt.lead[:3])
    return fact


def _insert_target(text: str) -> f.Name:
    m = _INSERT_TARGET.match(text)
    if m is None:
        return f.NO_NAME
    schema, name = m.groups()
    if schema is None:
        return f.Name(name_key(name), name)
    return f.Name(name_key(name), f"{schema}.{name}", name_key(schema))


def _create(stmt: Statement) -> f.Fact | None:
    # The leading keywords from the tokens the reader needs anyway (not `stmt.lead`, which would
    # scan the whole statement a second time).
    words = uppers(stmt.tokens[:8])
    i = 1
    while i < len(words) and words[i] in _CREATE_MODIFIERS:
        i += 1
    kind = words[i] if i < len(words) else ""
    if kind == "TABLE":
        return read_text.create_table(stmt.tokens) or _structured(stmt, "Create", "create_table")
    if kind == "INDEX":
        return read_text.create_index(stmt.tokens) or _structured(stmt, "Create", "create_index")
    return read_text.create_object(stmt.tokens)


def _alter(stmt: Statement) -> f.Fact | None:
    kind = uppers(stmt.tokens[1:2])
    if kind == ("TABLE",):
        return read_text.alter_table(stmt.tokens) or _structured(stmt, "Alter", "alter_table")
    toks = stmt.tokens
    return read_text.rename(toks) or read_text.alter_enum(toks) or read_text.alter_other(toks)


def _drop(stmt: Statement) -> f.Fact | None:
    return read_text.drop(stmt.tokens) or _structured(stmt, "Drop", "drop")


def _truncate(stmt: Statement) -> f.Fact | None:
    return read_text.truncate(stmt.tokens) or _structured(stmt, "TruncateTable", "read_tree_data.truncate")


def _write(stmt: Statement) -> f.Fact | None:
    head = stmt.head
    fact = None
    if head != "MERGE":
        fact = read_text.with_statement(stmt.tokens) if head == "WITH" else read_text.write(stmt.tokens)
    if fact is None:
        tree = stmt.ast
        if tree is None:
            return None
        from guard.sql import read_tree_data

        fact = read_tree_data.data_statement(tree)
    return replace(fact, source=stmt.text) if isinstance(fact, f.Insert) else fact


def _structured(stmt: Statement, kind: str, reader: str) -> f.Fact | None:
    """The fact `reader` (`read_tree.<name>`, or `<module>.<name>` of `guard.sql`) maps from the
    statement's tree, when sqlglot reads it as `kind`."""
    tree = stmt.ast
    if tree is None or type(tree).__name__ != kind:
        return None
    # Imported here: the tree readers import sqlglot, which a run whose statements need no tree
    # never loads.
    from importlib import import_module

    module, _, name = reader.rpartition(".")
    read: Callable[[exp.Expression], f.Fact | None] = getattr(
        import_module(f"guard.sql.{module or 'read_tree'}"), name
    )
    return read(tree)


#: Harmless statements that can call a function (`SELECT purge_old()`, `CALL p()`).
_CALLERS = frozenset({"SELECT", "CALL", "VALUES"})


def _harmless(stmt: Statement) -> f.Fact | None:
    verb = stmt.head.lower()
    if stmt.head not in _CALLERS:
        return f.Harmless(verb)
    tokens = stmt.tokens
    reads = read_text.relations_read(tokens) if verb == "select" else ()
    return f.Harmless(verb, read_text.calls(tokens), reads)


def _transaction(stmt: Statement) -> f.Fact | None:
    from guard.txcontrol import read_tx_control

    return read_text.transaction(read_tx_control(stmt))


def _setting(stmt: Statement) -> f.Fact | None:
    return read_text.setting(stmt.tokens)


def _maintenance(stmt: Statement) -> f.Fact | None:
    return read_text.maintenance(stmt.tokens)


def _code(stmt: Statement) -> f.Fact | None:
    return read_text.code(stmt.tokens)


_BY_HEAD: dict[str, Callable[[Statement], f.Fact | None]] = {
    "CREATE": _create,
    "ALTER": _alter,
    "DROP": _drop,
    "TRUNCATE": _truncate,
    "UPDATE": _write,
    "DELETE": _write,
    "MERGE": _write,
    "WITH": _write,
    "DO": _code,
    "SET": _setting,
    "RESET": _setting,
    **dict.fromkeys(_HARMLESS, _harmless),
    **dict.fromkeys(_TRANSACTION, _transaction),
    **dict.fromkeys(_MAINTENANCE, _maintenance),
}
