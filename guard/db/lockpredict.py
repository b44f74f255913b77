"""Which table locks a statement takes, predicted before it runs, failing closed.

`statement_locks` reads the statement model (keywords and tokens, never regexes over raw
text) and returns the (mode, relation) pairs it would lock. A relation is the name as
written (resolved later with `to_regclass`), or None when the statement locks relations
it does not name (a `SELECT`'s sources). None for the whole answer means "cannot tell":
callers that protect production treat it as ACCESS EXCLUSIVE.

Lock levels from the Postgres docs ("Explicit Locking", each command's reference page),
checked against `pg_locks` on Postgres 15 (`tests/test_dry_run_truth.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from guard.lint.locks import (
    ACCESS_EXCLUSIVE,
    ACCESS_SHARE,
    EXCLUSIVE,
    ORDER,
    ROW_EXCLUSIVE,
    ROW_SHARE,
    SHARE,
    SHARE_ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    action_lock,
    lock_table_mode,
    stronger,
)
from guard.tokens import read_qualified_name, show_name
from guard.txcontrol import read_tx_control

if TYPE_CHECKING:
    from guard.parsing import Statement
    from guard.tokens import Token

Lock = tuple[str, str | None]

#: Statements that lock no relation at all (session settings, roles, privileges, functions).
_NO_LOCK_HEADS = frozenset({"SET", "RESET", "SHOW", "GRANT", "REVOKE", "NOTIFY", "LISTEN", "UNLISTEN"})
_DML_HEADS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "COPY"})
_READ_HEADS = frozenset({"SELECT", "VALUES", "TABLE", "EXPLAIN"})
#: CREATE of objects that are not relations and lock none (a new name only).
_CREATE_NO_LOCK = frozenset(
    {
        "FUNCTION",
        "PROCEDURE",
        "TYPE",
        "DOMAIN",
        "SCHEMA",
        "SEQUENCE",
        "COLLATION",
        "CAST",
        "OPERATOR",
        "AGGREGATE",
        "ROLE",
        "USER",
        "GROUP",
        "EXTENSION",
        "CONVERSION",
        "TEXT",
    }
)
_ALTER_NO_LOCK = frozenset({"FUNCTION", "PROCEDURE", "ROLE", "USER", "GROUP", "DEFAULT", "SCHEMA"})
_DROP_NO_LOCK = frozenset(
    {"FUNCTION", "PROCEDURE", "ROUTINE", "ROLE", "USER", "GROUP", "CAST", "OPERATOR", "AGGREGATE"}
)
_CREATE_MODIFIERS = frozenset({"OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "UNIQUE"})


def statement_locks(stmt: Statement) -> list[Lock] | None:
    """(mode, relation as written or None) the statement locks; None when it cannot be told."""
    if read_tx_control(stmt) is not None:
        return []
    head = stmt.head
    words = stmt.words
    if not words or words[0] != head:
        return None
    if head in _NO_LOCK_HEADS:
        return []
    if head in _READ_HEADS or head == "WITH":
        if head == "WITH" and {"INSERT", "UPDATE", "DELETE", "MERGE"} & set(words):
            return [(ROW_EXCLUSIVE, None)]
        return [(ROW_SHARE if "FOR" in words and "UPDATE" in words else ACCESS_SHARE, None)]
    if head in _DML_HEADS:
        return [(ROW_EXCLUSIVE, None)]
    if head == "COMMENT":
        return [(SHARE_UPDATE_EXCLUSIVE, None)]
    if head == "CREATE":
        return _create_locks(stmt)
    if head == "ALTER":
        return _alter_locks(stmt)
    if head == "DROP":
        return _drop_locks(stmt)
    if head in ("LOCK", "TRUNCATE", "CLUSTER", "REINDEX", "VACUUM", "ANALYZE", "REFRESH"):
        return _maintenance_locks(stmt)
    return None


def strongest(locks: list[Lock]) -> str | None:
    """The strongest mode among `locks` (None for no lock)."""
    return max((mode for mode, _ in locks), key=ORDER.index, default=None)


def _name_after(toks: tuple[Token, ...], i: int, skip: tuple[str, ...]) -> str | None:
    while i < len(toks) and toks[i].upper in skip:
        i += 1
    parts, _ = read_qualified_name(toks, i)
    return show_name(parts) if parts else None


def _index_of(toks: tuple[Token, ...], word: str, start: int = 0) -> int:
    return next((i for i in range(start, len(toks)) if toks[i].upper == word), -1)


def _create_locks(stmt: Statement) -> list[Lock] | None:
    toks = stmt.tokens
    i = 1
    replace = False
    while i < len(toks) and toks[i].upper in _CREATE_MODIFIERS:
        replace = replace or toks[i].upper == "REPLACE"
        i += 1
    kind = toks[i].upper if i < len(toks) else ""
    words = stmt.words
    if kind in _CREATE_NO_LOCK or (kind == "EVENT" and "TRIGGER" in words[:4]):
        return []
    if kind == "TABLE":
        if ("PARTITION" in words and "OF" in words) or "INHERITS" in words:
            # Creating a partition or child locks its parent (ACCESS EXCLUSIVE for PARTITION OF).
            of = _index_of(toks, "OF") if "OF" in words else _index_of(toks, "INHERITS")
            return [(ACCESS_EXCLUSIVE, _name_after(toks, of + 1, ("(",)) if of >= 0 else None)]
        locks: list[Lock] = [(ACCESS_SHARE, None)]
        if "REFERENCES" in words:
            locks.append((SHARE_ROW_EXCLUSIVE, None))
        return locks
    if kind in ("VIEW", "MATERIALIZED", "RECURSIVE"):
        if replace:
            name = _name_after(toks, i + 1, ("VIEW", "IF", "NOT", "EXISTS"))
            return [(ACCESS_EXCLUSIVE, name)]
        return [(ACCESS_SHARE, None)]
    if kind == "INDEX":
        if "CONCURRENTLY" in words[:5]:
            return [(SHARE_UPDATE_EXCLUSIVE, None)]
        on = _index_of(toks, "ON", i)
        return [(SHARE, _name_after(toks, on + 1, ("ONLY",)) if on >= 0 else None)]
    if kind == "TRIGGER" or (kind == "CONSTRAINT" and "TRIGGER" in words[:4]):
        on = _index_of(toks, "ON", i)
        return [(SHARE_ROW_EXCLUSIVE, _name_after(toks, on + 1, ()) if on >= 0 else None)]
    if kind == "STATISTICS":
        return [(SHARE_UPDATE_EXCLUSIVE, None)]
    if kind == "POLICY":
        on = _index_of(toks, "ON", i)
        return [(ACCESS_EXCLUSIVE, _name_after(toks, on + 1, ()) if on >= 0 else None)]
    if kind == "RULE":
        to = _index_of(toks, "TO", i)
        return [(ACCESS_EXCLUSIVE, _name_after(toks, to + 1, ()) if to >= 0 else None)]
    return None


def _alter_locks(stmt: Statement) -> list[Lock] | None:
    words = stmt.words
    kind = words[1] if len(words) > 1 else ""
    if kind in _ALTER_NO_LOCK:
        return []
    if kind == "TYPE" and ("VALUE" in words or words[3:5] == ("OWNER", "TO")):
        return []  # ADD / RENAME VALUE, OWNER TO: the type only
    if kind == "TABLE":
        # The linter's own reading of the statement and of each action's lock.
        from guard.sql.facts import AlterTable

        alter = stmt.fact
        if not isinstance(alter, AlterTable):
            return None
        mode: str | None = None
        for action in alter.actions:
            mode = stronger(mode, action_lock(action))
        return [(mode or ACCESS_EXCLUSIVE, alter.table.shown)]
    if kind in ("INDEX", "VIEW", "SEQUENCE", "MATERIALIZED", "FOREIGN"):
        skip = ("VIEW", "TABLE", "IF", "EXISTS", "ONLY")
        return [(ACCESS_EXCLUSIVE, _name_after(stmt.tokens, 2, skip))]
    return None


def _drop_locks(stmt: Statement) -> list[Lock] | None:
    words = stmt.words
    kind = words[1] if len(words) > 1 else ""
    if "CASCADE" in words:
        return None  # drops dependants it does not name
    if kind in _DROP_NO_LOCK or kind in ("TYPE", "DOMAIN", "SCHEMA", "EXTENSION", "SEQUENCE"):
        # Without CASCADE these refuse when a table still uses them.
        return (
            []
            if kind not in ("SEQUENCE",)
            else [(ACCESS_EXCLUSIVE, _name_after(stmt.tokens, 2, ("IF", "EXISTS")))]
        )
    toks = stmt.tokens
    if kind in ("POLICY", "TRIGGER", "RULE"):
        on = _index_of(toks, "ON")
        return [(ACCESS_EXCLUSIVE, _name_after(toks, on + 1, ()) if on >= 0 else None)]
    if kind in ("TABLE", "VIEW", "INDEX", "MATERIALIZED", "FOREIGN"):
        if "," in (t.text for t in toks):
            return [(ACCESS_EXCLUSIVE, None)]
        if kind == "INDEX" and "CONCURRENTLY" in words[:4]:
            return [(SHARE_UPDATE_EXCLUSIVE, None)]
        skip = ("VIEW", "TABLE", "IF", "EXISTS", "CONCURRENTLY")
        return [(ACCESS_EXCLUSIVE, _name_after(toks, 2, skip))]
    return None


def _maintenance_locks(stmt: Statement) -> list[Lock] | None:
    words = stmt.words
    head = stmt.head
    toks = stmt.tokens
    if "," in (t.text for t in toks):
        return None
    skip = ("TABLE", "ONLY", "FULL", "VERBOSE", "MATERIALIZED", "VIEW", "CONCURRENTLY", "INDEX")
    name = _name_after(toks, 1, skip)
    if head == "LOCK":
        return [(lock_table_mode(words), name)]
    if head == "REFRESH":
        return [(EXCLUSIVE if "CONCURRENTLY" in words else ACCESS_EXCLUSIVE, name)]
    if head in ("VACUUM", "ANALYZE") and "FULL" not in words:
        return [(SHARE_UPDATE_EXCLUSIVE, name)]
    if head == "REINDEX" and "CONCURRENTLY" in words:
        return [(SHARE_UPDATE_EXCLUSIVE, name)]
    return [(ACCESS_EXCLUSIVE, name)]
