"""Lock predictions read from the statement model (`Statement.fact`), checked against what Postgres
takes (`pg_locks`) where they differ from the keyword reading they replaced.

Each case runs after its setup, in a transaction rolled back; a statement that cannot run in one
(VACUUM, REINDEX SCHEMA) runs while another session holds ACCESS EXCLUSIVE on every table, and
the lock it waits for is what it takes. On the relations that existed before, the prediction must
be at least as strong as the strongest lock taken, make the dry run refuse an ACCESS EXCLUSIVE
(`guard.db.dryrun`: unnamed, or a name that resolves), and name only relations it locks.
"""

from __future__ import annotations

import contextlib
import threading
import time

import psycopg
import pytest
from scratch_db import run

from guard.db.lockpredict import Lock, statement_locks, strongest
from guard.db.locks import mode_name
from guard.lint.locks import (
    ACCESS_EXCLUSIVE,
    ACCESS_SHARE,
    ORDER,
    ROW_EXCLUSIVE,
    SHARE,
    SHARE_UPDATE_EXCLUSIVE,
)
from guard.parsing import split_statements

pytestmark = pytest.mark.db

AE, SUE = ACCESS_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE
USERS = "CREATE TABLE users (id int PRIMARY KEY, name text)"
VIEW = "CREATE TABLE view (a int PRIMARY KEY)"
MOOD = "CREATE TYPE mood AS ENUM ('a')"
I_ON_T = "CREATE TABLE t (a int); CREATE INDEX i ON t (a)"
_REFERENCING = "; CREATE TABLE orders (user_id int REFERENCES users)"

# (statement, setup, prediction)
_CASES = [
    # The keyword reading named a keyword (RENAME, USING, AS, IN, FREEZE...) instead of the relation.
    ("ALTER VIEW view RENAME TO w", "CREATE VIEW view AS SELECT 1 AS a", [(AE, "view")]),
    ("ALTER MATERIALIZED VIEW view RENAME TO w", "CREATE MATERIALIZED VIEW view AS SELECT 1", [(AE, "view")]),
    ("ALTER SEQUENCE exists RESTART", "CREATE SEQUENCE exists", [(AE, "exists")]),
    ("CLUSTER view USING i", VIEW + "; CREATE INDEX i ON view (a)", [(AE, "view")]),
    ("LOCK view IN SHARE MODE", VIEW, [(SHARE, "view")]),
    ("CREATE OR REPLACE VIEW view AS SELECT 1", "CREATE VIEW view AS SELECT 1", [(AE, "view")]),
    ("VACUUM FREEZE users", USERS, [(SUE, "users")]),
    ("VACUUM ANALYZE users", USERS, [(SUE, "users")]),
    ("VACUUM FULL FREEZE users", USERS, [(AE, "users")]),
    # REINDEX SCHEMA names a schema, not a relation: it locks every table and index in it.
    ("REINDEX SCHEMA public", USERS, [(AE, None)]),
    ("REINDEX SCHEMA CONCURRENTLY public", USERS, [(SUE, None)]),
    # The keyword reading skipped a name spelled like a keyword (VIEW, EXISTS, INDEX, ...).
    ("DROP TABLE view", VIEW, [(AE, "view")]),
    ("DROP TABLE IF EXISTS view", VIEW, [(AE, "view")]),
    ("DROP TABLE exists", "CREATE TABLE exists (a int)", [(AE, "exists")]),
    ("DROP VIEW IF EXISTS view", "CREATE VIEW view AS SELECT 1 AS a", [(AE, "view")]),
    ("DROP SEQUENCE exists", "CREATE SEQUENCE exists", [(AE, "exists")]),
    ("TRUNCATE index", "CREATE TABLE index (a int)", [(AE, "index")]),
    ("TRUNCATE TABLE view", VIEW, [(AE, "view")]),
    ("LOCK TABLE index", "CREATE TABLE index (a int)", [(AE, "index")]),
    (
        "CLUSTER index",
        "CREATE TABLE index (a int PRIMARY KEY); CLUSTER index USING index_pkey",
        [(AE, "index")],
    ),
    ("ANALYZE view", VIEW, [(SUE, "view")]),
    ("VACUUM index", "CREATE TABLE index (a int)", [(SUE, "index")]),
    ("REINDEX TABLE view", VIEW, [(AE, "view")]),
    ("REINDEX INDEX index", "CREATE TABLE t (a int); CREATE INDEX index ON t (a)", [(AE, "index")]),
    ("REFRESH MATERIALIZED VIEW view", "CREATE MATERIALIZED VIEW view AS SELECT 1", [(AE, "view")]),
    # A composite type's new owner locks its relation (the keyword reading said no lock, or could
    # not tell when the name was qualified); an enum is no relation: its name resolves to none.
    ("ALTER TYPE value OWNER TO r", "CREATE TYPE value AS (a int)", [(AE, "value")]),
    ("ALTER TYPE mood OWNER TO r", MOOD, [(AE, "mood")]),
    ("ALTER TYPE public.mood OWNER TO r", MOOD, [(AE, "public.mood")]),
    ('ALTER TYPE "Mood" OWNER TO r', "CREATE TYPE \"Mood\" AS ENUM ('a')", [(AE, '"Mood"')]),
    (
        'ALTER TYPE s."Mood" OWNER TO r',
        "CREATE SCHEMA s; CREATE TYPE s.\"Mood\" AS ENUM ('a')",
        [(AE, 's."Mood"')],
    ),
    ("ALTER TYPE mood OWNER TO CURRENT_USER", MOOD, [(AE, "mood")]),
    # An attribute named `value` read as ALTER TYPE ... ADD VALUE (no lock): it locks the type.
    ("ALTER TYPE t ADD ATTRIBUTE value int", "CREATE TYPE t AS (a int)", None),
    ("ALTER TYPE t DROP ATTRIBUTE value", "CREATE TYPE t AS (a int, value int)", None),
    # Several sequences: the keyword reading named the first only.
    ("DROP SEQUENCE s, t", "CREATE SEQUENCE s; CREATE SEQUENCE t", [(AE, None)]),
    ("DROP SEQUENCE IF EXISTS s, public.t", "CREATE SEQUENCE t", [(AE, None)]),
    # `CONCURRENTLY false` is a plain REINDEX.
    ("REINDEX (CONCURRENTLY false) INDEX i", I_ON_T, [(AE, None)]),
    # A foreign-data wrapper is no relation (the keyword reading named `DATA`): cannot tell.
    ("ALTER FOREIGN DATA WRAPPER w OWNER TO r", "", None),
    ("DROP FOREIGN DATA WRAPPER w", "", None),
    # Columns named `of`, `partition` or `inherits`, and `FULL false`: the keyword reading took a
    # stronger lock than Postgres does (on a relation named like the column's type).
    ("CREATE TABLE t (of int) PARTITION BY LIST (of)", "CREATE TABLE int (a int)", [(ACCESS_SHARE, None)]),
    ("CREATE TABLE t (partition int, of int)", "CREATE TABLE int (a int)", [(ACCESS_SHARE, None)]),
    ("CREATE TABLE t (inherits boolean)", "CREATE TABLE boolean (a int)", [(ACCESS_SHARE, None)]),
    ("VACUUM (FULL false) users", USERS, [(SUE, None)]),
    # EXPLAIN of a write locks its target ROW EXCLUSIVE, planning it or running it (ANALYZE); the
    # keyword reading saw a read.
    ("EXPLAIN ANALYZE DELETE FROM users", USERS, [(ROW_EXCLUSIVE, None)]),
    ("EXPLAIN (ANALYZE, BUFFERS) UPDATE users SET name = 'x'", USERS, [(ROW_EXCLUSIVE, None)]),
    ("EXPLAIN UPDATE users SET name = 'x'", USERS, [(ROW_EXCLUSIVE, None)]),
    ("EXPLAIN SELECT * FROM users", USERS, [(ACCESS_SHARE, None)]),
    # CASCADE truncates the referencing tables too (see the test below).
    ("TRUNCATE users CASCADE", USERS + _REFERENCING, [(AE, "users"), (AE, None)]),
    ("TRUNCATE users", USERS, [(AE, "users")]),
    (
        "DROP FUNCTION f(cascade int)",
        "CREATE FUNCTION f(cascade int) RETURNS int AS 'SELECT 1' LANGUAGE sql",
        [],
    ),
]

#: Before the statement, in its transaction: what it needs that is no relation.
_BEFORE = "CREATE ROLE r SUPERUSER; CREATE FOREIGN DATA WRAPPER w"
_OUTSIDE_TX = ("VACUUM", "REINDEX SCHEMA")


def _prediction(sql: str) -> list[Lock] | None:
    [stmt] = split_statements(sql)[0]
    return statement_locks(stmt)


def _resolve(conn: psycopg.Connection, name: str) -> int | None:
    row = conn.execute("SELECT to_regclass(%s)::oid::bigint", (name,)).fetchone()
    return row[0] if row else None


def _taken(conn: psycopg.Connection, sql: str) -> list[tuple[int, str]]:
    """(relation oid, mode) of each relation lock `sql` takes, in a transaction rolled back."""
    conn.execute("BEGIN")
    try:
        run(conn, _BEFORE)
        conn.execute(sql)  # type: ignore[arg-type]
        rows = conn.execute(
            "SELECT relation::bigint, mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation'"
        ).fetchall()
    finally:
        conn.execute("ROLLBACK")
    return rows


def _waited(conn: psycopg.Connection, url: str, sql: str) -> list[tuple[int, str]]:
    """(relation oid, mode) `sql` waits for while this session holds ACCESS EXCLUSIVE on every table."""
    conn.execute("BEGIN")
    row = conn.execute(
        "SELECT string_agg(oid::regclass::text, ', ') FROM pg_class"
        " WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
    ).fetchone()
    conn.execute(f"LOCK TABLE {row[0] if row else ''} IN ACCESS EXCLUSIVE MODE")  # type: ignore[arg-type]
    with psycopg.connect(url, autocommit=True) as other:
        pid = other.info.backend_pid
        done = threading.Thread(target=_run_quietly, args=(other, sql), daemon=True)
        done.start()
        rows: list[tuple[int, str]] = []
        for _ in range(100):
            rows = conn.execute(
                "SELECT relation::bigint, mode FROM pg_locks WHERE pid = %s AND NOT granted", (pid,)
            ).fetchall()
            if rows:
                break
            time.sleep(0.05)
        conn.execute("ROLLBACK")
        done.join(10)
    return rows


def _run_quietly(conn: psycopg.Connection, sql: str) -> None:
    with contextlib.suppress(psycopg.Error):
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.mark.parametrize(("sql", "setup", "predicted"), _CASES, ids=[c[0] for c in _CASES])
def test_prediction_covers_what_postgres_takes(
    scratch_conn: psycopg.Connection, sql: str, setup: str, predicted: list[Lock] | None
) -> None:
    assert _prediction(sql) == predicted
    run(scratch_conn, setup)
    existing = {
        r[0]
        for r in scratch_conn.execute(
            "SELECT oid::bigint FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ).fetchall()
    }
    named = {name: _resolve(scratch_conn, name) for _, name in predicted or [] if name is not None}
    if sql.startswith(_OUTSIDE_TX):
        url = scratch_conn.info.dsn
        taken = _waited(scratch_conn, url, sql)
        assert taken, sql  # it did wait
    else:
        taken = _taken(scratch_conn, sql)
    locked = {oid: mode_name(lock) for oid, lock in taken if oid in existing}
    if predicted is None:
        return  # cannot tell: the dry run refuses it
    strongest_taken = max(locked.values(), key=ORDER.index, default=None)
    if strongest_taken is not None:
        assert ORDER.index(strongest(predicted) or ACCESS_SHARE) >= ORDER.index(strongest_taken), sql
    if ACCESS_EXCLUSIVE in locked.values():
        # The dry run refuses it: an unnamed relation, or a name that resolves.
        assert any(mode == AE and (name is None or named[name]) for mode, name in predicted), sql
    for name, oid in named.items():
        assert oid is None or oid in locked, (sql, name)


def test_an_enum_owner_change_passes_the_dry_run_check(scratch_conn: psycopg.Connection) -> None:
    """The prediction names the type: an enum is no relation, so it resolves to nothing."""
    run(scratch_conn, MOOD + "; CREATE TYPE pair AS (a int)")
    assert _resolve(scratch_conn, "mood") is None
    assert _resolve(scratch_conn, "pair") is not None


# Statements Postgres rejects before taking any lock: the keyword reading predicted locks for
# some; the model reads none of them (None: cannot tell).
_SYNTAX_ERRORS = [
    ("CREATE TABLE", None),
    ("CREATE TABLE IF NOT EXISTS", None),
    ("CREATE INDEX", None),
    ("CREATE INDEX i", None),
    ("CREATE INDEX i ON", None),
    ("CREATE INDEX i ON (a)", None),
    ("CREATE INDEX ON", None),
    ("CREATE INDEX i USING btree ON t (a)", None),
    ("CREATE INDEX i ON only (a)", None),
    ("CREATE UNIQUE VIEW v AS SELECT 1", None),
    ("CREATE RECURSIVE TABLE t (id int)", None),
    ("CREATE MATERIALIZED TABLE t (id int)", None),
    ("CREATE TEXT foo", None),
    ("ALTER TYPE mood ADD VALUE", None),
    ("ALTER FOREIGN", None),
    ("REFRESH", None),
    ("REFRESH COLLATION VERSION", None),
    ("TRUNCATE", None),
    ("DROP TABLE t /* unterminated", None),
    # Read as the model reads them (the keyword reading named another relation or none).
    ("CREATE TABLE t (id int) PARTITION OF p", [(ACCESS_SHARE, None)]),
    ("CREATE POLICY on ON t USING (true)", [(AE, "t")]),
    ("ALTER FUNCTION f RENAME a TO b", [(AE, "f")]),
    ("ALTER INDEX only RENAME TO j", [(AE, "only")]),
    ("DROP TABLE f(',')", [(AE, "f")]),
    ("LOCK TABLE IN SHARE MODE", [(AE, "IN")]),
    ("DROP INDEX IF EXISTS concurrently", [(AE, "concurrently")]),
    ("ALTER TYPE IF EXISTS mood OWNER TO r", [(AE, "mood")]),
]


@pytest.mark.parametrize(("sql", "predicted"), _SYNTAX_ERRORS, ids=[c[0] for c in _SYNTAX_ERRORS])
def test_statements_postgres_rejects_take_no_lock(
    scratch_conn: psycopg.Connection, sql: str, predicted: list[Lock] | None
) -> None:
    assert _prediction(sql) == predicted
    with pytest.raises(psycopg.errors.SyntaxError):
        scratch_conn.execute(sql)  # type: ignore[arg-type]


def test_truncate_cascade_locks_the_referencing_tables(scratch_conn: psycopg.Connection) -> None:
    """The unnamed ACCESS EXCLUSIVE of `TRUNCATE ... CASCADE` stands for tables it does not name."""
    run(scratch_conn, USERS + _REFERENCING)
    orders = _resolve(scratch_conn, "orders")
    assert (orders, ACCESS_EXCLUSIVE) in {
        (oid, mode_name(m)) for oid, m in _taken(scratch_conn, "TRUNCATE users CASCADE")
    }
    assert (AE, None) in (_prediction("TRUNCATE users CASCADE") or [])
