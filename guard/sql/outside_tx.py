"""What Postgres refuses inside a transaction block, read from the statement model.

The one definition of "cannot run inside a transaction": the runner
(`guard.txcontrol.needs_autocommit`, which decides whether a file runs in one transaction
or statement by statement) and the linter (`concurrent-in-transaction`,
`enum-value-in-transaction`) both call `refused_in_transaction`, so they never disagree.

Each case was checked on a real server (tests/test_outside_tx.py): Postgres answers
`<command> cannot run inside a transaction block`. `REFRESH MATERIALIZED VIEW
CONCURRENTLY` is NOT one of them: it runs fine inside a transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guard.sql import facts as f

#: `REINDEX` targets that reindex many tables, each in its own transaction.
_REINDEX_MANY = frozenset({"schema", "database", "system"})
#: Object kinds whose `CREATE` / `DROP` Postgres refuses in a transaction block.
_CREATE_DROP = frozenset({"database", "tablespace"})


def refused_in_transaction(fact: f.Fact, pg_version: int = 15) -> str | None:
    """The command Postgres refuses inside a transaction block (`CREATE INDEX CONCURRENTLY`, ...)
    when `fact` is one, else None. `pg_version` decides `ALTER TYPE ... ADD VALUE` (refused before 12)."""
    if isinstance(fact, f.AlterEnum):
        return "ALTER TYPE ... ADD VALUE" if pg_version < 12 else None
    judge = _BY_KIND.get(type(fact))
    return judge(fact) if judge is not None else None


def _create_index(fact: f.CreateIndex) -> str | None:
    return "CREATE INDEX CONCURRENTLY" if fact.concurrently else None


def _alter_table(fact: f.AlterTable) -> str | None:
    for action in fact.actions:
        if isinstance(action, f.DetachPartition) and action.concurrently:
            return "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY"
    return None


def _create_object(fact: f.CreateObject) -> str | None:
    return f"CREATE {fact.object_kind.upper()}" if fact.object_kind in _CREATE_DROP else None


def _drop(fact: f.Drop) -> str | None:
    if fact.object_kind == "index" and fact.concurrently:
        return "DROP INDEX CONCURRENTLY"
    if fact.object_kind in _CREATE_DROP:
        return f"DROP {fact.object_kind.upper()}"
    return None


def _maintenance(fact: f.Maintenance) -> str | None:
    if fact.verb == "vacuum":
        return "VACUUM"
    if fact.verb == "reindex":
        if fact.concurrently:
            return "REINDEX CONCURRENTLY"
        if fact.target_kind in _REINDEX_MANY:
            return f"REINDEX {fact.target_kind.upper()}"
    if fact.verb == "cluster" and fact.target is None:
        return "CLUSTER (of every table)"
    return None


def _alter_other(fact: f.AlterOther) -> str | None:
    if fact.object_kind == "system":
        return "ALTER SYSTEM"
    if fact.object_kind == "database" and fact.words[:2] == ("SET", "TABLESPACE"):
        return "ALTER DATABASE ... SET TABLESPACE"
    return None


#: Each kind of statement Postgres may refuse in a transaction block, and how to tell (a data file
#: asks about thousands of inserts: one lookup each).
_BY_KIND: dict[type[f.Fact], Callable[[Any], str | None]] = {
    f.CreateIndex: _create_index,
    f.Drop: _drop,
    f.Maintenance: _maintenance,
    f.AlterTable: _alter_table,
    f.CreateObject: _create_object,
    f.AlterOther: _alter_other,
}
