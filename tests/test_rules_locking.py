"""Index, partition and explicit-lock rules: what fires, what stays quiet, and version cut-offs."""

from __future__ import annotations

import pytest
from fix_sql_helpers import parses
from rules_helpers import fired, lint_sql

RULE = "require-concurrent-index"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE INDEX users_email_idx ON users (email);", True),
        ("CREATE UNIQUE INDEX users_email_idx ON public.users USING btree (lower(email));", True),
        ("create index on users (email);", True),
        ('CREATE INDEX IF NOT EXISTS "Idx" ON "Users" ("Email") WHERE deleted_at IS NULL;', True),
        ("CREATE INDEX CONCURRENTLY users_email_idx ON users (email);", False),
        ("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);", False),
        # a table created earlier in the same file is empty and unseen
        ("CREATE TABLE t (id bigint, email text);\nCREATE INDEX t_email_idx ON t (email);", False),
        ('CREATE TABLE "T" (id bigint);\nCREATE INDEX t_idx ON public."T" (id);', False),
        # ON ONLY builds an invalid parent index on a partitioned table: no scan
        ("CREATE INDEX m_idx ON ONLY measurements (logdate);", False),
    ],
)
def test_require_concurrent_index(sql: str, expected: bool) -> None:
    assert (RULE in fired(sql)) is expected


def test_concurrent_index_message_names_lock_and_fix() -> None:
    [f] = [f for f in lint_sql("CREATE INDEX users_email_idx ON users (email);") if f.rule == RULE]
    assert "SHARE (blocks writes; reads continue)" in f.message
    assert "users_email_idx" in f.message and "users" in f.message
    assert "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);" in f.fix
    assert f.lock == "SHARE"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("DROP INDEX users_email_idx;", True),
        ("DROP INDEX IF EXISTS public.users_email_idx CASCADE;", True),
        ("DROP INDEX CONCURRENTLY users_email_idx;", False),
        ("DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;", False),
        ("CREATE INDEX tmp_idx ON t (a);\nDROP INDEX tmp_idx;", False),
        ("DROP TABLE users;", False),
    ],
)
def test_require_concurrent_index_drop(sql: str, expected: bool) -> None:
    assert ("require-concurrent-index-drop" in fired(sql)) is expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("REINDEX INDEX users_email_idx;", True),
        ("REINDEX TABLE users;", True),
        ("REINDEX (VERBOSE) TABLE users;", True),
        ("REINDEX INDEX CONCURRENTLY users_email_idx;", False),
        ("REINDEX (VERBOSE) TABLE CONCURRENTLY users;", False),
    ],
)
def test_require_concurrent_reindex(sql: str, expected: bool) -> None:
    assert ("require-concurrent-reindex" in fired(sql)) is expected


def test_reindex_fix_depends_on_version() -> None:
    [new] = [f for f in lint_sql("REINDEX INDEX i;", pg_version=12) if f.rule == "require-concurrent-reindex"]
    [old] = [f for f in lint_sql("REINDEX INDEX i;", pg_version=11) if f.rule == "require-concurrent-reindex"]
    assert "REINDEX INDEX CONCURRENTLY i;" in new.fix
    assert "no REINDEX CONCURRENTLY" in old.fix and "CREATE INDEX CONCURRENTLY" in old.fix


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("ALTER TABLE measurements DETACH PARTITION measurements_2019;", True),
        ("ALTER TABLE measurements DETACH PARTITION measurements_2019 CONCURRENTLY;", False),
        ("ALTER TABLE measurements DETACH PARTITION measurements_2019 FINALIZE;", False),
        ("ALTER TABLE measurements ATTACH PARTITION m FOR VALUES FROM (1) TO (2);", False),
    ],
)
def test_require_concurrent_detach(sql: str, expected: bool) -> None:
    assert ("require-concurrent-detach" in fired(sql)) is expected


def test_detach_fix_depends_on_version() -> None:
    sql = "ALTER TABLE m DETACH PARTITION m_2019;"
    [v14] = [f for f in lint_sql(sql, pg_version=14) if f.rule == "require-concurrent-detach"]
    [v13] = [f for f in lint_sql(sql, pg_version=13) if f.rule == "require-concurrent-detach"]
    assert "DETACH PARTITION m_2019 CONCURRENTLY" in v14.fix
    assert "cannot detach concurrently" in v13.fix


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("LOCK TABLE accounts;", True),
        ("LOCK TABLE accounts IN SHARE MODE;", True),
        ("SET lock_timeout = '2s';\nLOCK TABLE accounts IN ACCESS EXCLUSIVE MODE;", False),
        ("SET LOCAL lock_timeout TO '2s';\nLOCK accounts;", False),
        ("SET lock_timeout = '2s';\nRESET lock_timeout;\nLOCK TABLE accounts;", True),
    ],
)
def test_avoid_lock_table(sql: str, expected: bool) -> None:
    assert ("avoid-lock-table" in fired(sql)) is expected


def test_lock_table_names_requested_mode() -> None:
    [f] = [f for f in lint_sql("LOCK TABLE a IN SHARE ROW EXCLUSIVE MODE;") if f.rule == "avoid-lock-table"]
    assert f.lock == "SHARE ROW EXCLUSIVE"
    assert "blocks writes" in f.message


@pytest.mark.parametrize(("version", "expected"), [(13, False), (14, True), (15, False)])
def test_pg14_concurrent_index_bug(version: int, expected: bool) -> None:
    sql = "-- guard: no-transaction\nCREATE INDEX CONCURRENTLY i ON users (email);"
    assert ("pg14-concurrent-index-bug" in fired(sql, pg_version=version)) is expected


@pytest.mark.parametrize(
    ("sql", "on", "expected"),
    [
        ("ALTER TABLE users ADD COLUMN nick text;", False, False),
        ("ALTER TABLE users ADD COLUMN nick text;", True, True),
        ("SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN nick text;", True, True),
        (
            "SET lock_timeout = '5s';\nSET statement_timeout = '15min';\nALTER TABLE users ADD COLUMN nick text;",
            True,
            False,
        ),
        ("INSERT INTO settings VALUES (1);", True, False),
        # new objects that wait on no existing table
        (
            "CREATE TABLE t (id int);\nCREATE INDEX t_idx ON t (id);\nCREATE TYPE mood AS ENUM ('a');",
            True,
            False,
        ),
        # ... and new tables that lock an existing one
        ("CREATE TABLE c (extra int) INHERITS (p);", True, True),
        ("CREATE TABLE c (p_id int REFERENCES p (id));", True, True),
        ("CREATE TABLE c PARTITION OF p FOR VALUES IN (1);", True, True),
        # RESET takes a timeout away again
        (
            "SET lock_timeout = '5s';\nSET statement_timeout = '1min';\nRESET ALL;\nALTER TABLE u ADD COLUMN n int;",
            True,
            True,
        ),
    ],
)
def test_require_timeouts(sql: str, on: bool, expected: bool) -> None:
    assert ("require-timeouts" in fired(sql, require_timeouts=on)) is expected


def test_require_timeouts_names_what_is_missing() -> None:
    found = lint_sql("SET lock_timeout = '5s';\nALTER TABLE u ADD COLUMN n text;", require_timeouts=True)
    [f] = [f for f in found if f.rule == "require-timeouts"]
    assert "statement_timeout" in f.message and "lock_timeout" not in f.message
    assert f.line == 2


# --- accuracy (issue 13): objects created or dropped earlier in the same file -----------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # a materialized view created earlier in the file is a new object: nobody reads it yet
        ("CREATE MATERIALIZED VIEW mv AS SELECT 1 AS a;\nCREATE INDEX mv_a_idx ON mv (a);", False),
        (
            "CREATE MATERIALIZED VIEW mv AS SELECT 1 AS a WITH NO DATA;\nCREATE UNIQUE INDEX mv_a ON mv (a);",
            False,
        ),
        # one that already existed is read by the running release
        ("CREATE INDEX mv_a_idx ON mv (a);", True),
        ("CREATE MATERIALIZED VIEW other AS SELECT 1 AS a;\nCREATE INDEX mv_a_idx ON mv (a);", True),
    ],
)
def test_index_on_a_materialized_view_created_in_the_file(sql: str, expected: bool) -> None:
    assert (RULE in fired(sql)) is expected


DROP_RULE = "require-concurrent-index-drop"


@pytest.mark.parametrize(
    ("earlier", "sql", "expected"),
    [
        # the index was on a table this file dropped first: the DROP INDEX finds nothing to lock
        (
            "CREATE TABLE t (id int, a int);\nCREATE INDEX t_a_idx ON t (a);",
            "DROP TABLE t;\nDROP INDEX IF EXISTS t_a_idx;",
            False,
        ),
        ("CREATE TABLE t (id int PRIMARY KEY);", "DROP TABLE t;\nDROP INDEX IF EXISTS t_pkey;", False),
        (
            "CREATE TABLE t (id int, CONSTRAINT t_id_key UNIQUE (id));",
            "DROP TABLE IF EXISTS t CASCADE;\nDROP INDEX IF EXISTS t_id_key;",
            False,
        ),
        # ... or the constraint that owned it
        (
            "CREATE TABLE t (id int);\nALTER TABLE t ADD CONSTRAINT t_uq UNIQUE (id);",
            "ALTER TABLE t DROP CONSTRAINT t_uq;\nDROP INDEX IF EXISTS t_uq;",
            False,
        ),
        # ... or the index itself
        (
            "CREATE TABLE t (a int);\nCREATE INDEX t_a_idx ON t (a);",
            "DROP INDEX t_a_idx;\nDROP INDEX IF EXISTS t_a_idx;",
            True,
        ),
        # an index created in this file (on a table it then drops) is new anyway
        ((), "CREATE INDEX u_a_idx ON u (a);\nDROP TABLE u;\nDROP INDEX IF EXISTS u_a_idx;", False),
        # another table dropped: the index still exists and its table is locked
        (
            "CREATE TABLE t (a int);\nCREATE INDEX t_a_idx ON t (a);",
            "DROP TABLE other;\nDROP INDEX IF EXISTS t_a_idx;",
            True,
        ),
        # an index no migration shows: fail closed
        ((), "DROP TABLE t;\nDROP INDEX IF EXISTS mystery_idx;", True),
    ],
)
def test_drop_index_of_something_already_dropped_locks_nothing(
    earlier: object, sql: str, expected: bool
) -> None:
    before = (earlier,) if isinstance(earlier, str) else ()
    found = [f for f in lint_sql(sql, earlier=before) if f.rule == DROP_RULE]
    assert bool(found) is expected, found


def test_drop_index_in_the_same_file_as_its_drop_counts_only_once() -> None:
    """`DROP INDEX a; DROP INDEX IF EXISTS a;`: the first locks, the second finds nothing."""
    sql = "DROP INDEX t_a_idx;\nDROP INDEX IF EXISTS t_a_idx;"
    assert [f.line for f in lint_sql(sql) if f.rule == DROP_RULE] == [1]


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE INDEX users_email_idx ON users (email);",
        'CREATE UNIQUE INDEX IF NOT EXISTS "Idx" ON public."Users" USING btree ("Email", lower(name)) WHERE deleted_at IS NULL;',
        'CREATE INDEX "order_idx" ON orders ("order", "user");',
        "DROP INDEX a_idx, public.b_idx;",
        "REINDEX TABLE users;",
        "ALTER TABLE m DETACH PARTITION m_2019;",
        "LOCK TABLE accounts IN SHARE MODE;",
    ],
)
def test_lock_fixes_are_sql_that_parses(sql: str) -> None:
    found = [f for f in lint_sql(sql) if f.rule.startswith(("require-concurrent", "avoid-lock-table"))]
    assert found
    for f in found:
        statements = f.fix.split(":\n", 1)[-1]  # after the prose ("... `-- guard: no-transaction`:")
        assert statements.rstrip().endswith(";") and parses(statements), f.fix


def test_index_fix_keeps_quoted_names_and_reserved_columns() -> None:
    [f] = [f for f in lint_sql('CREATE INDEX "order_idx" ON orders ("order", "user");') if f.rule == RULE]
    assert 'CREATE INDEX CONCURRENTLY "order_idx" ON orders ("order", "user");' in f.fix


def test_drop_index_fix_is_one_concurrent_drop_per_index() -> None:
    [f] = [f for f in lint_sql("DROP INDEX a_idx, public.b_idx;") if f.rule == DROP_RULE]
    assert (
        "DROP INDEX CONCURRENTLY IF EXISTS a_idx;\nDROP INDEX CONCURRENTLY IF EXISTS public.b_idx;" in f.fix
    )
