"""Did a statement that ran outside a transaction take effect? Asked of the catalog on resume.

Statements of a non-transactional migration that Postgres lets run in a transaction commit
together with their progress row, so history cannot disagree with them. The others
(`CREATE/DROP INDEX CONCURRENTLY`, `REINDEX CONCURRENTLY`, `DETACH PARTITION CONCURRENTLY`,
`VACUUM`, `ALTER TYPE ... ADD VALUE` before 12, ...) commit on their own: history records the
statement as *running* before it starts, and when a run stopped with one running, its effect
is read from the catalog before anything else happens:

- done (index exists and is valid, index or partition already gone, enum value present):
  counted as done, not run again;
- not done and safe to run again: run again;
- a half-done effect (INVALID index, `_ccnew` index of a REINDEX, a detach left pending):
  refused with the statement that repairs it (policy: never drop or finish it silently);
- an effect the catalog cannot show: refused, saying what to check by hand and how to
  record the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from guard.db.indexes import IndexTarget, matching_leftovers, read_create_index, regclass_text
from guard.sql import facts as f

if TYPE_CHECKING:
    import psycopg

    from guard.parsing import Statement

DONE, RERUN, REFUSE = "done", "rerun", "refuse"


@dataclass(frozen=True)
class Verdict:
    """What the catalog says about one statement: `done`, `rerun` or `refuse`, and why."""

    action: str
    why: str
    #: The statement(s) that repair a half-done effect (REFUSE only; "" when only a person can tell).
    fix: str = ""


def _one(conn: psycopg.Connection, query: str, params: tuple[object, ...]) -> object:
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def check(conn: psycopg.Connection, stmt: Statement) -> Verdict:
    """The verdict on `stmt`, which may or may not have taken effect when a run stopped."""
    target = read_create_index(stmt)
    if target is not None:
        return _create_index(conn, target)
    fact = stmt.fact
    if isinstance(fact, f.Drop) and fact.object_kind == "index":
        return _drop_index(conn, fact)
    if isinstance(fact, f.Maintenance) and fact.verb == "reindex":
        return _reindex(conn)
    if isinstance(fact, f.AlterTable):
        detach = next((a for a in fact.actions if isinstance(a, f.DetachPartition)), None)
        if detach is not None:
            return _detach(conn, fact.table, detach.partition)
    if (isinstance(fact, f.Maintenance) and fact.verb in ("vacuum", "analyze")) or (
        isinstance(fact, f.AlterOther) and fact.object_kind == "system"
    ):
        return Verdict(RERUN, f"{stmt.head} changes no schema or data; it runs again")
    if isinstance(fact, f.AlterEnum):
        return _enum_value(conn, fact)
    if isinstance(fact, f.CreateObject | f.Drop) and fact.object_kind == "database":
        return _database(conn, fact)
    return Verdict(
        REFUSE,
        f"its effect cannot be read from the catalog ({' '.join(stmt.lead[:3])} ...); check by hand whether it took effect",
    )


def _create_index(conn: psycopg.Connection, target: IndexTarget) -> Verdict:
    left = matching_leftovers(conn, target)
    if left:
        names = ", ".join(f"{x.schema}.{x.name}" for x in left)
        return Verdict(
            REFUSE,
            f"the index build stopped part-way and left INVALID index {names}",
            " ".join(x.drop_sql for x in left),
        )
    if target.name:
        row = conn.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = %s AND i.indrelid = to_regclass(%s)",
            (target.name, target.table),
        ).fetchone()
        if row is not None:
            return Verdict(DONE, f"index {target.name} exists on {target.table} and is valid")
        return Verdict(RERUN, f"index {target.name} does not exist")
    # Unnamed: a valid index of the same definition counts as this statement's (policy: running
    # it again would add a duplicate `..._idx1` beside it).
    row = conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indisvalid AND i.indrelid = to_regclass(%s) AND i.indisunique = %s"
        " AND (i.indpred IS NOT NULL) = %s AND (SELECT array_agg(a.attname ORDER BY k.ord)"
        "   FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)"
        "   LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0"
        "   WHERE k.ord <= i.indnkeyatts) IS NOT DISTINCT FROM %s::name[]",
        (target.table, target.unique, target.partial, list(target.keys)),
    ).fetchone()
    if row is not None:
        return Verdict(DONE, f"a valid index with its definition exists on {target.table} ({row[0]})")
    return Verdict(RERUN, f"no index with its definition exists on {target.table}")


def _drop_index(conn: psycopg.Connection, fact: f.Drop) -> Verdict:
    names = [regclass_text(n) for n in fact.names]
    present = [n for n in names if _one(conn, "SELECT to_regclass(%s) IS NOT NULL", (n,))]
    if not present:
        return Verdict(DONE, f"index {', '.join(names)} no longer exists")
    # A concurrent drop stopped part-way leaves the index (marked INVALID): dropping it again finishes it.
    return Verdict(RERUN, f"index {', '.join(present)} still exists")


def _reindex(conn: psycopg.Connection) -> Verdict:
    # A stopped REINDEX CONCURRENTLY leaves INVALID `<index>_ccnew[N]` (and `_ccold`) indexes.
    rows = conn.execute(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE NOT i.indisvalid AND c.relname ~ '_cc(new|old)[0-9]*$' ORDER BY 1"
    ).fetchall()
    if rows:
        names = [r[0] for r in rows]
        return Verdict(
            REFUSE,
            f"a REINDEX CONCURRENTLY stopped part-way and left INVALID {', '.join(names)}",
            " ".join(f"DROP INDEX CONCURRENTLY IF EXISTS {n};" for n in names),
        )
    return Verdict(RERUN, "no half-built index is left; rebuilding again changes nothing else")


def _detach(conn: psycopg.Connection, parent: f.Name, child: f.Name) -> Verdict:
    if not parent.key or not child.key:
        return Verdict(
            REFUSE, "its tables could not be read; check by hand whether the partition is detached"
        )
    p, c = regclass_text(parent), regclass_text(child)
    row = conn.execute(
        "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = to_regclass(%s) AND inhparent = to_regclass(%s)",
        (c, p),
    ).fetchone()
    if row is None:
        return Verdict(DONE, f"{c} is no longer a partition of {p}")
    if row[0]:
        return Verdict(
            REFUSE,
            f"the detach of {c} from {p} stopped part-way (detach pending)",
            f"ALTER TABLE {p} DETACH PARTITION {c} FINALIZE;",
        )
    return Verdict(RERUN, f"{c} is still attached to {p}")


def _enum_value(conn: psycopg.Connection, fact: f.AlterEnum) -> Verdict:
    label = fact.value
    if not fact.type.key:
        return Verdict(
            REFUSE, "its type and value could not be read; check by hand whether the value was added"
        )
    found = _one(
        conn,
        "SELECT count(*) FROM pg_enum WHERE enumtypid = to_regtype(%s) AND enumlabel = %s",
        (regclass_text(fact.type), label),
    )
    if found:
        return Verdict(DONE, f"enum value {label!r} exists")
    return Verdict(RERUN, f"enum value {label!r} does not exist")


def _database(conn: psycopg.Connection, fact: f.CreateObject | f.Drop) -> Verdict:
    names = (fact.name,) if isinstance(fact, f.CreateObject) else fact.names
    if len(names) != 1 or not names[0].key:
        return Verdict(REFUSE, "its database name could not be read; check by hand")
    name = names[0].key
    exists = bool(_one(conn, "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)))
    creating = isinstance(fact, f.CreateObject)
    if exists == creating:
        return Verdict(DONE, f"database {name} {'exists' if exists else 'no longer exists'}")
    return Verdict(RERUN, f"database {name} {'does not exist' if creating else 'still exists'}")
