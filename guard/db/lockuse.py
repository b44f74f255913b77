"""What a dry run tells per migration about the table locks it needs: the mode, the table's
estimated rows and total size, and the statement that takes it with its time on this database.

All pending migrations of a dry run share one transaction, so `pg_locks` shows a later
migration only the locks it adds: a table an earlier migration already locked shows
nothing. `LockTracker` therefore combines, statement by statement, the new locks observed
in `pg_locks` with the lock the statement needs (`guard.db.lockpredict`) on relations the
transaction already holds, and keeps the stronger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from guard.db.lockpredict import statement_locks
from guard.db.locks import mode_name
from guard.lint.locks import ORDER

if TYPE_CHECKING:
    import psycopg

    from guard.parsing import Statement


@dataclass
class LockUse:
    """One table lock a migration needs."""

    mode: str
    relation: str
    #: File line of the statement that needs it, and that statement's time on this database.
    line: int
    statement_ms: float
    #: True when an earlier pending migration of the same dry run already held it (so
    #: `pg_locks` could not show it; the mode comes from the statement model).
    already_held: bool = False
    #: `pg_class.reltuples` (None: never analysed) and `pg_total_relation_size`, read after the
    #: dry run was rolled back.
    rows: int | None = None
    size_bytes: int | None = None
    oid: int = field(default=0, repr=False)

    def describe(self) -> str:
        """`ACCESS EXCLUSIVE on public.users (~300,000 rows, 42.0 MB) by line 3, 1,234 ms`."""
        size = []
        if self.rows is not None:
            size.append(f"~{self.rows:,} rows")
        if self.size_bytes is not None:
            size.append(_human_bytes(self.size_bytes))
        facts = f" ({', '.join(size)})" if size else ""
        held = "; already held by an earlier pending migration" if self.already_held else ""
        return f"{self.mode} on {self.relation}{facts} by line {self.line}, {self.statement_ms:,.0f} ms{held}"

    def as_dict(self) -> dict[str, Any]:
        """JSON shape (docs/dry-run.md, migrate output)."""
        return {
            "mode": self.mode,
            "relation": self.relation,
            "line": self.line,
            "statement_ms": round(self.statement_ms, 3),
            "already_held": self.already_held,
            "rows": self.rows,
            "size_bytes": self.size_bytes,
        }


def _human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


#: oid -> (schema.relation, modes held)
Held = dict[int, tuple[str, frozenset[str]]]


def relation_locks(conn: psycopg.Connection, exclude_schema: str, only: set[int]) -> Held:
    """Relation locks this backend holds on relations in `only`, by oid (catalogs left out, and
    indexes: a statement that locks an index locks its table too, which is what people feel)."""
    rows = conn.execute(
        "SELECT c.oid::bigint, n.nspname, c.relname, array_agg(DISTINCT l.mode) FROM pg_locks l"
        " JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND c.relkind NOT IN ('i', 'I')"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname <> %s"
        " GROUP BY 1, 2, 3",
        (exclude_schema,),
    ).fetchall()
    return {
        oid: (f"{schema}.{rel}", frozenset(mode_name(m) for m in modes))
        for oid, schema, rel, modes in rows
        if oid in only
    }


def _resolve(conn: psycopg.Connection, names: list[str]) -> dict[str, int]:
    """oids of relation names as written (`to_regclass`, in the dry run's transaction)."""
    if not names:
        return {}
    conn.execute("SAVEPOINT guard_resolve")
    try:
        rows = conn.execute(
            "SELECT n, to_regclass(n)::oid::bigint FROM unnest(%s::text[]) AS n", (names,)
        ).fetchall()
    except Exception:
        conn.execute("ROLLBACK TO SAVEPOINT guard_resolve")
        return {}
    conn.execute("RELEASE SAVEPOINT guard_resolve")
    return {n: oid for n, oid in rows if oid is not None}


class LockTracker:
    """Per migration: the strongest lock it needs on each pre-existing relation."""

    def __init__(self, conn: psycopg.Connection, exclude_schema: str, existing: set[int]) -> None:
        self.conn = conn
        self.schema = exclude_schema
        self.existing = existing
        self.held: Held = relation_locks(conn, exclude_schema, existing)
        self.uses: dict[int, LockUse] = {}

    def start_migration(self) -> None:
        """Forget the previous migration's uses (the locks themselves stay held)."""
        self.uses = {}

    def after(self, stmt: Statement, ms: float) -> list[LockUse]:
        """Record what `stmt` (which took `ms`) needed; returns the locks it newly took."""
        now = relation_locks(self.conn, self.schema, self.existing)
        new: list[LockUse] = []
        for oid, (rel, modes) in now.items():
            before = self.held.get(oid, ("", frozenset()))[1]
            for mode in modes - before:
                use = LockUse(mode, rel, stmt.line, ms, oid=oid)
                new.append(use)
                self._keep(use)
        predicted = statement_locks(stmt) or []
        named = [(mode, name) for mode, name in predicted if name is not None]
        oids = _resolve(self.conn, sorted({name for _, name in named}))
        for mode, name in named:
            target = oids.get(name)
            if target is not None and target in self.held:
                self._keep(LockUse(mode, self.held[target][0], stmt.line, ms, already_held=True, oid=target))
        self.held = now
        return new

    def _keep(self, use: LockUse) -> None:
        current = self.uses.get(use.oid)
        if current is None or ORDER.index(use.mode) > ORDER.index(current.mode):
            self.uses[use.oid] = use

    def result(self) -> list[LockUse]:
        """This migration's locks, strongest per relation, in relation order."""
        return sorted(self.uses.values(), key=lambda u: u.relation)


def fill_sizes(conn: psycopg.Connection, uses: list[LockUse]) -> None:
    """Estimated rows and total size of each locked relation (call after the rollback)."""
    oids = sorted({u.oid for u in uses})
    if not oids:
        return
    rows = conn.execute(
        "SELECT c.oid::bigint, c.reltuples, pg_total_relation_size(c.oid) FROM pg_class c"
        " WHERE c.oid = ANY(%s::oid[])",
        (oids,),
    ).fetchall()
    by_oid = {oid: (tuples, size) for oid, tuples, size in rows}
    for use in uses:
        if use.oid in by_oid:
            tuples, size = by_oid[use.oid]
            # Postgres 14+ says -1 for a table never vacuumed or analysed: unknown, not zero.
            use.rows = int(tuples) if tuples is not None and tuples >= 0 else None
            use.size_bytes = int(size) if size is not None else None
