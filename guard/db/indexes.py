"""INVALID indexes a failed or killed `CREATE INDEX [CONCURRENTLY]` left behind, matched to the
statements that would build them again.

A concurrent build that fails or whose backend dies leaves its index in the catalog marked
INVALID (`pg_index.indisvalid = false`). Re-running a *named* build then fails (or, with
`IF NOT EXISTS`, silently keeps the broken index); re-running an *unnamed* one makes Postgres
pick the next free name (`t_col_idx1`) beside the broken `t_col_idx`, and the down migration
drops the wrong one. So before a `CREATE INDEX` runs, INVALID indexes on its table with its
name, or (unnamed) with its definition (uniqueness, key columns, predicate or not), are
reported with the statement that removes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from guard.sql import facts as f

if TYPE_CHECKING:
    import psycopg

    from guard.parsing import Statement


@dataclass(frozen=True)
class IndexTarget:
    """What one `CREATE [UNIQUE] INDEX` statement builds."""

    #: The index name as Postgres stores it, "" when the statement leaves it to Postgres.
    name: str
    #: The table as written, quoted for `to_regclass` (`"public"."t"`).
    table: str
    unique: bool
    #: Key columns in order; None for an expression.
    keys: tuple[str | None, ...]
    partial: bool


@dataclass(frozen=True)
class Leftover:
    """An INVALID index in the catalog."""

    schema: str
    name: str
    table: str

    @property
    def qualified(self) -> str:
        """`"schema"."name"` for SQL."""
        return f"{_quote(self.schema)}.{_quote(self.name)}"

    @property
    def drop_sql(self) -> str:
        """The statement that removes it without blocking writes."""
        return f"DROP INDEX CONCURRENTLY IF EXISTS {self.qualified};"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def creates_index(stmt: Statement) -> bool:
    """`CREATE [UNIQUE] INDEX ...` (leading words only: a data load is never scanned whole)."""
    w = stmt.lead
    return w[:2] == ("CREATE", "INDEX") or w[:3] == ("CREATE", "UNIQUE", "INDEX")


def read_create_index(stmt: Statement) -> IndexTarget | None:
    """What `stmt` builds, or None when it is not a `CREATE INDEX` with a key list the statement
    model read."""
    if not creates_index(stmt):
        return None
    fact = stmt.fact
    if not isinstance(fact, f.CreateIndex) or not fact.key_columns:
        return None
    name = fact.name.key if fact.name is not None else ""
    return IndexTarget(
        name, regclass_text(fact.table), fact.unique, fact.key_columns, fact.predicate is not None
    )


_INVALID = """
SELECT n.nspname, c.relname, i.indrelid::int8, i.indisunique, i.indpred IS NOT NULL,
       (SELECT array_agg(a.attname ORDER BY k.ord)
          FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
          LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
         WHERE k.ord <= i.indnkeyatts),
       format('%I.%I', tn.nspname, t.relname)
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace tn ON tn.oid = t.relnamespace
 WHERE NOT i.indisvalid AND c.relkind = 'i'
 ORDER BY 1, 2
"""
# relkind 'i' only: an index on a partitioned table (`CREATE INDEX ON ONLY parent`) is INVALID
# by design until every partition's index is attached; it is no leftover.


@dataclass(frozen=True)
class _Invalid:
    leftover: Leftover
    table_oid: int
    unique: bool
    partial: bool
    keys: tuple[str | None, ...]


def _invalid(conn: psycopg.Connection) -> list[_Invalid]:
    out = []
    for schema, name, oid, unique, partial, keys, table in conn.execute(_INVALID).fetchall():
        out.append(_Invalid(Leftover(schema, name, table), oid, unique, partial, tuple(keys or ())))
    return out


def _table_oid(conn: psycopg.Connection, table: str) -> int | None:
    row = conn.execute("SELECT to_regclass(%s)::int8", (table,)).fetchone()
    return row[0] if row else None


def matching_leftovers(
    conn: psycopg.Connection, target: IndexTarget, invalid: list[_Invalid] | None = None
) -> list[Leftover]:
    """INVALID indexes that `target` would trip over: same name, or (unnamed) same definition."""
    invalid = _invalid(conn) if invalid is None else invalid
    if not invalid:
        return []
    oid = _table_oid(conn, target.table)
    found = []
    for inv in invalid:
        if target.name:
            hit = inv.leftover.name == target.name and (oid is None or inv.table_oid == oid)
        else:
            hit = (
                inv.table_oid == oid
                and inv.unique == target.unique
                and inv.partial == target.partial
                and inv.keys == target.keys
            )
        if hit:
            found.append(inv.leftover)
    return found


def leftovers_for(conn: psycopg.Connection, statements: list[Statement]) -> list[tuple[Statement, Leftover]]:
    """INVALID indexes the `CREATE INDEX` statements among `statements` would trip over.

    An index an earlier statement of the same list drops (`DROP INDEX ... name`) is not
    reported: the migration repairs it itself.
    """
    targets = [(s, t) for s in statements if (t := read_create_index(s)) is not None]
    if not targets:
        return []
    invalid = _invalid(conn)
    if not invalid:
        return []
    out: list[tuple[Statement, Leftover]] = []
    for stmt, target in targets:
        dropped = _dropped_before(statements, stmt)
        out.extend(
            (stmt, left)
            for left in matching_leftovers(conn, target, invalid)
            if left.name not in dropped and (stmt, left) not in out
        )
    return out


def _dropped_before(statements: list[Statement], stmt: Statement) -> set[str]:
    """Index names (last part, as Postgres stores them) the `DROP INDEX`es before `stmt` name."""
    names: set[str] = set()
    for s in statements:
        if s is stmt:
            break
        if s.head == "DROP":  # only a DROP is read into its fact here (not a data load's inserts)
            fact = s.fact
            if isinstance(fact, f.Drop) and fact.object_kind == "index":
                names.update(n.key for n in fact.names)
    return names


def regclass_text(name: f.Name) -> str:
    """`name` as `to_regclass` / `to_regtype` read it: each part quoted (`"public"."t"`)."""
    return f"{_quote(name.schema)}.{_quote(name.key)}" if name.schema else _quote(name.key)
