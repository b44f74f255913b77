"""Which table locks a statement takes, predicted before it runs, failing closed.

`statement_locks` returns the (mode, relation) pairs a statement would lock. A relation is
the name as written (resolved later with `to_regclass`), or None when the statement locks
relations it does not name (a `SELECT`'s sources). None for the whole answer means "cannot
tell": callers that protect production treat it as ACCESS EXCLUSIVE.

DDL and maintenance are read from the statement model (`Statement.fact`), the reading the
linter uses; statements whose lock follows from their verb alone (reads, writes, settings,
grants) from their leading keyword.

Lock levels from the Postgres docs ("Explicit Locking", each command's reference page),
checked against `pg_locks` on Postgres 15 (`tests/test_dry_run_truth.py`,
`tests/test_lockpredict_truth.py`).
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
from guard.sql.facts import (
    FOREIGN_KEY,
    AlterEnum,
    AlterOther,
    AlterTable,
    CreateIndex,
    CreateObject,
    CreateTable,
    Drop,
    Maintenance,
    Rename,
    Truncate,
)
from guard.txcontrol import read_tx_control

if TYPE_CHECKING:
    from guard.parsing import Statement
    from guard.sql.facts import Name

Lock = tuple[str, str | None]

#: Statements that lock no relation at all (session settings, roles, privileges, functions).
_NO_LOCK_HEADS = frozenset({"SET", "RESET", "SHOW", "GRANT", "REVOKE", "NOTIFY", "LISTEN", "UNLISTEN"})
_DML_HEADS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "COPY"})
_READ_HEADS = frozenset({"SELECT", "VALUES", "TABLE", "EXPLAIN"})
#: CREATE of objects that are not relations and lock none (a new name only).
_CREATE_NO_LOCK = frozenset(
    {
        "function", "procedure", "type", "enum", "domain", "schema", "sequence", "collation",
        "cast", "operator", "operator class", "operator family", "aggregate", "role", "user",
        "user mapping", "group", "extension", "conversion", "text search configuration",
        "text search dictionary", "text search parser", "text search template", "event trigger",
    }
)  # fmt: skip
_ALTER_NO_LOCK = frozenset(
    {"function", "procedure", "role", "user", "user mapping", "group", "default privileges", "schema"}
)
_ALTER_RELATION = frozenset({"index", "view", "sequence", "materialized view", "foreign table"})
#: Without CASCADE these refuse while a table still uses them.
_DROP_NO_LOCK = frozenset(
    {
        "function", "procedure", "routine", "role", "user", "user mapping", "group", "cast",
        "operator", "operator class", "operator family", "aggregate", "type", "domain", "schema",
        "extension",
    }
)  # fmt: skip
_DROP_RELATION = frozenset({"table", "view", "index", "materialized view", "foreign table", "sequence"})


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
    # A read's row locks (`FOR UPDATE`) and a WITH's data-modifying clauses are not in its fact.
    if head in _READ_HEADS or head == "WITH":
        # A write's target is locked ROW EXCLUSIVE even by a plain EXPLAIN, which plans it
        # (EXPLAIN ANALYZE also runs it).
        if head in ("WITH", "EXPLAIN") and {"INSERT", "UPDATE", "DELETE", "MERGE"} & set(words):
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


def _shown(name: Name | None) -> str | None:
    """The name as written, None for none."""
    return name.shown if name is not None and name.key else None


def _create_locks(stmt: Statement) -> list[Lock] | None:
    fact = stmt.fact
    if isinstance(fact, CreateTable):
        if fact.partition_of is not None:
            # Creating a partition locks its parent ACCESS EXCLUSIVE.
            return [(ACCESS_EXCLUSIVE, _shown(fact.partition_of))]
        if fact.inherits:
            return [(ACCESS_EXCLUSIVE, None)]  # so does a child its parents
        locks: list[Lock] = [(ACCESS_SHARE, None)]
        if any(c.references is not None for c in fact.columns) or any(
            c.kind == FOREIGN_KEY for c in fact.constraints
        ):
            locks.append((SHARE_ROW_EXCLUSIVE, None))
        return locks
    if isinstance(fact, CreateIndex):
        if fact.concurrently:
            return [(SHARE_UPDATE_EXCLUSIVE, None)]
        return [(SHARE, _shown(fact.table))]
    if not isinstance(fact, CreateObject):
        return None
    kind = fact.object_kind
    if kind in _CREATE_NO_LOCK:
        return []
    if kind in ("view", "materialized view"):
        return [(ACCESS_EXCLUSIVE, _shown(fact.name))] if fact.or_replace else [(ACCESS_SHARE, None)]
    if kind == "trigger":
        return [(SHARE_ROW_EXCLUSIVE, _shown(fact.on))]
    if kind == "statistics":
        return [(SHARE_UPDATE_EXCLUSIVE, None)]
    if kind in ("policy", "rule"):
        return [(ACCESS_EXCLUSIVE, _shown(fact.on))]
    return None


def _alter_locks(stmt: Statement) -> list[Lock] | None:
    fact = stmt.fact
    if isinstance(fact, AlterTable):
        # The linter's own reading of each action's lock.
        mode: str | None = None
        for action in fact.actions:
            mode = stronger(mode, action_lock(action))
        return [(mode or ACCESS_EXCLUSIVE, fact.table.shown)]
    if isinstance(fact, AlterEnum):
        return []  # ADD VALUE: the type only
    if not isinstance(fact, Rename | AlterOther):
        return None
    kind = fact.object_kind
    if kind in _ALTER_NO_LOCK or kind == "enum value":
        return []
    if kind == "column" and isinstance(fact, Rename):
        # Outside ALTER TABLE only views, materialized views and foreign tables rename columns.
        return [(ACCESS_EXCLUSIVE, _shown(fact.of))]
    if kind == "type" and isinstance(fact, AlterOther) and fact.words[:2] == ("OWNER", "TO"):
        # A composite type's new owner locks its relation; an enum (no relation) locks none.
        return [(ACCESS_EXCLUSIVE, _shown(fact.name))]
    if kind in _ALTER_RELATION:
        return [(ACCESS_EXCLUSIVE, _shown(fact.name))]
    return None


def _drop_locks(stmt: Statement) -> list[Lock] | None:
    drop = stmt.fact
    if not isinstance(drop, Drop) or drop.cascade:
        return None  # CASCADE drops dependants it does not name
    kind = drop.object_kind
    if kind in _DROP_NO_LOCK:
        return []
    if kind in ("policy", "trigger", "rule"):
        return [(ACCESS_EXCLUSIVE, _shown(drop.on))]
    if kind in _DROP_RELATION:
        if len(drop.names) > 1:
            return [(ACCESS_EXCLUSIVE, None)]
        if kind == "index" and drop.concurrently:
            return [(SHARE_UPDATE_EXCLUSIVE, None)]
        return [(ACCESS_EXCLUSIVE, _shown(drop.names[0]) if drop.names else None)]
    return None


def _maintenance_locks(stmt: Statement) -> list[Lock] | None:
    fact = stmt.fact
    if isinstance(fact, Truncate):
        if len(fact.tables) != 1:
            return None
        # CASCADE also truncates, so locks ACCESS EXCLUSIVE, every table referencing it.
        unnamed: list[Lock] = [(ACCESS_EXCLUSIVE, None)] if fact.cascade else []
        return [(ACCESS_EXCLUSIVE, _shown(fact.tables[0])), *unnamed]
    # The fact keeps only the first of several targets (`LOCK a, b`, `VACUUM a, b`).
    if not isinstance(fact, Maintenance) or "," in (t.text for t in stmt.tokens):
        return None
    verb = fact.verb
    name = _shown(fact.target)
    # REINDEX SCHEMA/DATABASE/SYSTEM locks every table and index in it. An option list
    # (`VACUUM (FULL) t`) leaves the target unnamed: the stronger claim, kept so none weakens.
    if fact.target_kind in ("schema", "database", "system") or fact.options:
        name = None
    if verb == "lock":
        return [(lock_table_mode(fact), name)]
    if verb == "refresh":
        return [(EXCLUSIVE if fact.concurrently else ACCESS_EXCLUSIVE, name)]
    if verb in ("vacuum", "analyze") and not fact.full:
        return [(SHARE_UPDATE_EXCLUSIVE, name)]
    if verb == "reindex" and fact.concurrently:
        return [(SHARE_UPDATE_EXCLUSIVE, name)]
    return [(ACCESS_EXCLUSIVE, name)]
