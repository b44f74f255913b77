"""Advisory locks that keep runners apart, and reports of who blocks whom.

The runner lock is a *session-level* advisory lock (`pg_advisory_lock`) held on a
connection of its own: it is never tied to a transaction, so a
`CREATE INDEX CONCURRENTLY` (which waits for every open transaction) cannot end up
waiting for the transaction that holds the lock. Postgres drops session locks when
the backend ends, so a killed runner never leaves the lock behind.

While a migration runs, `BlockerWatch` polls `pg_blocking_pids()` for the
migration's backend, so that when a statement hits `lock_timeout` the runner can
say which session held the lock it wanted (pid, query, for how long).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guard.errors import ConfigError, LockBusyError

if TYPE_CHECKING:
    import psycopg

#: Which lock: "runner" is held on the lock connection for the whole run; "work" on the
#: connection that executes migrations, so a new runner also waits for a dead runner's
#: still-running statement to end before it starts.
LOCK_ROLES = ("runner", "work")

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$")


def parse_pg_duration(text: str, key: str = "duration") -> float:
    """Seconds in a Postgres duration setting (`5s`, `200ms`, `15min`; a bare number is ms)."""
    m = _DURATION.match(text)
    if not m:
        raise ConfigError(
            f"setting {key!r} is {text!r}, not a Postgres duration",
            "use a number with a unit: 500ms, 5s, 15min, 1h",
        )
    return float(m.group(1)) * _UNITS[m.group(2) or "ms"]


def lock_key(schema: str, role: str = "runner") -> int:
    """The signed 64-bit advisory lock key for a history schema and lock role."""
    digest = hashlib.sha256(f"migration-guard:{role}:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class Holder:
    """A session holding an advisory lock."""

    pid: int
    application_name: str
    user: str
    client: str
    since: Any
    state: str
    query: str

    def describe(self) -> str:
        """One line naming the session."""
        app = self.application_name or "no application_name"
        return f"pid {self.pid} ({app}, user {self.user}, from {self.client}, connected since {self.since})"


@dataclass(frozen=True)
class Blocker:
    """A session that blocks the migration's statement."""

    pid: int
    application_name: str
    user: str
    state: str
    query: str
    seconds: float
    #: What the migration waited for: `AccessExclusiveLock on public.users`.
    waiting_for: str

    def describe(self) -> str:
        """One line: who, doing what, for how long."""
        query = " ".join(self.query.split())[:200]
        app = self.application_name or "no application_name"
        wanted = f"waiting for {self.waiting_for}; " if self.waiting_for else ""
        return (
            f"{wanted}blocked by pid {self.pid} ({app}, user {self.user}, {self.state} "
            f"for {self.seconds:.1f}s): {query}"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "pid": self.pid,
            "application_name": self.application_name,
            "user": self.user,
            "state": self.state,
            "query": self.query,
            "seconds": round(self.seconds, 3),
            "waiting_for": self.waiting_for,
        }


def _split_key(key: int) -> tuple[int, int]:
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


def find_holder(conn: psycopg.Connection, key: int) -> Holder | None:
    """The session holding advisory lock `key` in this database, if any."""
    hi, lo = _split_key(key)
    row = conn.execute(
        "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''),"
        " coalesce(host(a.client_addr), 'local socket'), a.backend_start, coalesce(a.state, ''),"
        " coalesce(a.query, '')"
        " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s::oid AND l.objid = %s::oid"
        " AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " LIMIT 1",
        (str(hi), str(lo)),
    ).fetchone()
    return Holder(*row) if row else None


def acquire(
    conn: psycopg.Connection,
    key: int,
    wait_seconds: float,
    *,
    what: str = "the migration lock",
    out: Callable[[str], None] | None = None,
) -> None:
    """Take session-level advisory lock `key`, waiting at most `wait_seconds`.

    Raises `LockBusyError` naming the holder when the wait runs out.
    """
    import psycopg

    if conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,):
        return
    holder = find_holder(conn, key)
    if out is not None:
        who = holder.describe() if holder else "another session"
        out(f"waiting up to {wait_seconds:g}s for {what}, held by {who}")
    # lock_timeout bounds pg_advisory_lock's wait; waiters are served in order.
    try:
        conn.execute(f"SET lock_timeout = '{max(1, int(wait_seconds * 1000))}ms'")
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
    except psycopg.errors.LockNotAvailable:
        holder = find_holder(conn, key) or holder
        who = holder.describe() if holder else "a session that has since let go"
        raise LockBusyError(
            f"{what} is held by {who}; gave up after {wait_seconds:g}s",
            "another migration run is in progress: wait for it, or raise runner_lock_wait_seconds",
        ) from None
    finally:
        if not conn.closed:
            conn.execute("RESET lock_timeout")


def release(conn: psycopg.Connection, key: int) -> None:
    """Release advisory lock `key`; a broken connection has released it already."""
    import psycopg

    if conn.closed:
        return
    # A failure means the backend is gone, and the lock with it.
    with contextlib.suppress(psycopg.Error):
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def find_blockers(conn: psycopg.Connection, pid: int) -> list[Blocker]:
    """Sessions blocking backend `pid`, with what `pid` is waiting for."""
    rows = conn.execute(
        "WITH w AS ("
        "  SELECT string_agg(l.mode || coalesce(' on ' || l.relation::regclass::text, ' (' || l.locktype || ')'),"
        "         ', ') AS wanted FROM pg_locks l WHERE l.pid = %(pid)s AND NOT l.granted)"
        " SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''),"
        " coalesce(a.state, ''), coalesce(a.query, ''),"
        " extract(epoch FROM clock_timestamp() - coalesce(a.xact_start, a.query_start, a.backend_start)),"
        " coalesce((SELECT wanted FROM w), '')"
        " FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids(%(pid)s)) ORDER BY a.pid",
        {"pid": pid},
    ).fetchall()
    return [Blocker(r[0], r[1], r[2], r[3], r[4], float(r[5] or 0.0), r[6]) for r in rows]


def relation_oids(conn: psycopg.Connection) -> set[int]:
    """Oids of every relation that exists now (a dry run reports locks on these only)."""
    return {r[0] for r in conn.execute("SELECT oid::bigint FROM pg_class").fetchall()}


def mode_name(mode: str) -> str:
    """`AccessExclusiveLock` -> `ACCESS EXCLUSIVE` (the way the docs and lint findings spell it)."""
    words = re.findall(r"[A-Z][a-z]*", mode.removesuffix("Lock"))
    return " ".join(words).upper()


class BlockerWatch:
    """Polls who blocks the migration backend, on the lock connection, in a background thread.

    Also serves as the heartbeat of the lock connection: `lost` is set when a poll fails,
    and the runner stops at the next migration boundary.
    """

    def __init__(self, conn: psycopg.Connection, pid: int, interval: float) -> None:
        self.conn = conn
        self.pid = pid
        self.interval = interval
        self.lost: str | None = None
        self._seen: list[Blocker] = []
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="migration-guard-blocker-watch", daemon=True)

    def __enter__(self) -> BlockerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psycopg

        while not self._stop.wait(self.interval):
            try:
                found = find_blockers(self.conn, self.pid)
            except psycopg.Error as exc:
                self.lost = str(exc).strip() or type(exc).__name__
                return
            if found:
                with self._mutex:
                    self._seen = found

    def take(self) -> list[Blocker]:
        """Blockers seen since the last call (and forget them)."""
        with self._mutex:
            seen, self._seen = self._seen, []
        return seen
