"""The one list of what cannot run inside a transaction (`guard.sql.outside_tx`), held against a
real Postgres: each listed statement fails inside a transaction block, and what the list leaves
out (`REFRESH MATERIALIZED VIEW CONCURRENTLY`, `ALTER TYPE ... ADD VALUE` on 12+) runs in one.
The runner and the linter both read that list."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from rules_helpers import fired

from guard.config import Settings
from guard.db.txplan import prepare
from guard.model import Migration
from guard.parsing import split_statements
from guard.sql.outside_tx import refused_in_transaction
from guard.txcontrol import needs_autocommit

SETUP = """
CREATE TABLE t (id int PRIMARY KEY, a int);
CREATE INDEX t_a ON t (a);
CREATE MATERIALIZED VIEW mv AS SELECT id, a FROM t;
CREATE UNIQUE INDEX mv_id ON mv (id);
CREATE TABLE p (id int) PARTITION BY RANGE (id);
CREATE TABLE c PARTITION OF p FOR VALUES FROM (0) TO (10);
CREATE TYPE mood AS ENUM ('sad', 'happy');
"""

#: Each statement the list says Postgres refuses in a transaction block.
REFUSED = [
    "CREATE INDEX CONCURRENTLY t_a2 ON t (a)",
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_a3 ON t (a)",
    "DROP INDEX CONCURRENTLY t_a",
    "REINDEX INDEX CONCURRENTLY t_a",
    "REINDEX (VERBOSE) TABLE CONCURRENTLY t",
    "REINDEX SCHEMA public",
    "REINDEX DATABASE {db}",
    "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
    "VACUUM t",
    "VACUUM (ANALYZE) t",
    "CLUSTER",
    "CREATE DATABASE guard_p4_never_created",
    "DROP DATABASE IF EXISTS guard_p4_never_created",
    "CREATE TABLESPACE guard_p4_never LOCATION '/nonexistent'",
    "DROP TABLESPACE IF EXISTS guard_p4_never",
    "ALTER DATABASE {db} SET TABLESPACE pg_default",
    "ALTER SYSTEM SET work_mem = '4MB'",
]

#: Statements that look alike but run fine in a transaction block.
ALLOWED = [
    "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
    "REFRESH MATERIALIZED VIEW mv",
    "ALTER TYPE mood ADD VALUE 'curious'",
    "ALTER TABLE p DETACH PARTITION c",
    "CLUSTER t USING t_pkey",
    "ANALYZE t",
    "REINDEX TABLE t",
    "CREATE INDEX t_a4 ON t (a)",
]


def _one(sql: str) -> object:
    [stmt] = split_statements(sql)[0]
    return stmt


def _in_transaction(url: str, sql: str) -> str | None:
    """The error Postgres gives `sql` inside a transaction block (None: it ran)."""
    with psycopg.connect(url) as conn:  # psycopg opens a transaction block before the first statement
        try:
            conn.execute(sql)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            return str(exc)
        finally:
            conn.rollback()
    return None


@pytest.fixture
def db(local_fresh_db: str) -> str:
    with psycopg.connect(local_fresh_db, autocommit=True) as conn:
        conn.execute(SETUP)  # type: ignore[arg-type]
    return local_fresh_db


def test_each_listed_statement_fails_inside_a_transaction_and_the_rest_run(db: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(db)["dbname"]
    for template in REFUSED:
        sql = template.format(db=name)
        stmt = _one(sql)
        assert refused_in_transaction(stmt.fact) is not None, sql  # type: ignore[attr-defined]
        error = _in_transaction(db, sql)
        assert error is not None and "cannot run inside a transaction block" in error, (sql, error)
    for sql in ALLOWED:
        stmt = _one(sql)
        assert refused_in_transaction(stmt.fact) is None, sql  # type: ignore[attr-defined]
        assert _in_transaction(db, sql) is None, sql


def test_add_value_is_refused_before_postgres_12_only() -> None:
    fact = _one("ALTER TYPE mood ADD VALUE 'x'").fact  # type: ignore[attr-defined]
    assert refused_in_transaction(fact, 11) == "ALTER TYPE ... ADD VALUE"
    assert refused_in_transaction(fact, 12) is None


def _migration(sql: str) -> Migration:
    return Migration("1", "m", "hasura", Path("1_m/up.sql"), sql, Path("1_m/down.sql"), "SELECT 1;")


def test_runner_and_linter_agree_on_refresh_concurrently() -> None:
    sql = "UPDATE t SET a = 1 WHERE id = 1;\nREFRESH MATERIALIZED VIEW CONCURRENTLY mv;"
    assert needs_autocommit(split_statements(sql)[0]) is None
    assert prepare(_migration(sql), "up", Settings()).reason is None  # one transaction
    assert "concurrent-in-transaction" not in fired(sql)


def test_runner_and_linter_agree_on_a_refused_statement() -> None:
    sql = "UPDATE t SET a = 1 WHERE id = 1;\nVACUUM t;"
    reason = prepare(_migration(sql), "up", Settings()).reason
    assert reason == "line 2: VACUUM cannot run inside a transaction"
    assert "concurrent-in-transaction" in fired(sql)
    old = replace(Settings(), pg_version=11)
    enum = "UPDATE t SET a = 1 WHERE id = 1;\nALTER TYPE mood ADD VALUE 'x';"
    assert prepare(_migration(enum), "up", old).reason == (
        "line 2: ALTER TYPE ... ADD VALUE cannot run inside a transaction before Postgres 12"
    )
    assert prepare(_migration(enum), "up", Settings()).reason is None
