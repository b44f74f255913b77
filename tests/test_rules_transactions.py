"""Transaction rules: CONCURRENTLY in a transaction, BEGIN without COMMIT, nested BEGIN,
ADD VALUE before 12, and backfills while ACCESS EXCLUSIVE is held."""

from __future__ import annotations

import pytest
from rules_helpers import fired, lint_sql

CIC = "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);"
CIT = "concurrent-in-transaction"


@pytest.mark.parametrize(
    ("sql", "kw", "expected"),
    [
        ("BEGIN;\n" + CIC + "\nCOMMIT;", {}, True),
        ("START TRANSACTION;\nDROP INDEX CONCURRENTLY i;\nCOMMIT;", {}, True),
        # alone in its file: the runner runs it outside a transaction
        (CIC, {}, False),
        ("SET lock_timeout = '5s';\n" + CIC, {}, False),
        ("-- guard: no-transaction\n" + CIC, {}, False),
        # next to other statements: one implicit transaction for script runners
        ("ALTER TABLE users ADD COLUMN email text;\n" + CIC, {}, True),
        (CIC + "\nCREATE INDEX CONCURRENTLY b ON users (b);", {}, True),
        ("REINDEX INDEX CONCURRENTLY i;\nUPDATE users SET a = 1 WHERE id = 1;", {}, True),
        ("ALTER TABLE users ADD COLUMN email text;\n" + CIC, {"transaction": False}, False),
        ("-- guard: no-transaction\nALTER TABLE users ADD COLUMN email text;\n" + CIC, {}, False),
        ("ALTER TABLE users ADD COLUMN email text;\n" + CIC, {"layout_transaction": False}, False),
        ("BEGIN;\nALTER TABLE p DETACH PARTITION c CONCURRENTLY;\nCOMMIT;", {}, True),
        # REFRESH ... CONCURRENTLY may run in a transaction
        ("BEGIN;\nREFRESH MATERIALIZED VIEW CONCURRENTLY v;\nCOMMIT;", {}, False),
        # the runner drops BEGIN/COMMIT and runs the whole file in one transaction (it refuses this file)
        ("BEGIN;\nALTER TABLE users ADD COLUMN a text;\nCOMMIT;\n" + CIC, {}, True),
        (
            "-- guard: no-transaction\nBEGIN;\nALTER TABLE users ADD COLUMN a text;\nCOMMIT;\n" + CIC,
            {},
            False,
        ),
    ],
)
def test_concurrent_in_transaction(sql: str, kw: dict[str, object], expected: bool) -> None:
    assert (CIT in fired(sql, **kw)) is expected


def test_concurrent_in_transaction_points_at_the_statement() -> None:
    [f] = [f for f in lint_sql("BEGIN;\n" + CIC + "\nCOMMIT;") if f.rule == CIT]
    assert f.line == 2 and "BEGIN" in f.message


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("BEGIN;\nALTER TABLE users ADD COLUMN a text;", True),
        ("BEGIN;\nALTER TABLE users ADD COLUMN a text;\nCOMMIT;", False),
        ("BEGIN;\nALTER TABLE users ADD COLUMN a text;\nROLLBACK;", False),
        ("START TRANSACTION;\nSELECT 1;\nEND;", False),
        ("BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;", True),
        ("ALTER TABLE users ADD COLUMN a text;", False),
    ],
)
def test_uncommitted_transaction(sql: str, expected: bool) -> None:
    assert ("uncommitted-transaction" in fired(sql)) is expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("BEGIN;\nBEGIN;\nSELECT 1;\nCOMMIT;\nCOMMIT;", True),
        ("BEGIN;\nSTART TRANSACTION;\nCOMMIT;", True),
        ("BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;", False),
        ("BEGIN;\nSAVEPOINT a;\nRELEASE a;\nCOMMIT;", False),
    ],
)
def test_nested_transaction(sql: str, expected: bool) -> None:
    assert ("nested-transaction" in fired(sql)) is expected


ADD_VALUE = "ALTER TYPE mood ADD VALUE 'curious';"


@pytest.mark.parametrize(
    ("sql", "version", "expected"),
    [
        ("BEGIN;\n" + ADD_VALUE + "\nCOMMIT;", 11, True),
        ("BEGIN;\n" + ADD_VALUE + "\nCOMMIT;", 12, False),
        ("ALTER TABLE t ADD COLUMN m mood;\n" + ADD_VALUE, 11, True),
        ("ALTER TABLE t ADD COLUMN m mood;\n" + ADD_VALUE, 12, False),
        (ADD_VALUE, 11, False),
        ("-- guard: no-transaction\nCREATE TABLE x (id int);\n" + ADD_VALUE, 11, False),
    ],
)
def test_enum_value_in_transaction(sql: str, version: int, expected: bool) -> None:
    assert ("enum-value-in-transaction" in fired(sql, pg_version=version)) is expected


HOLD = "hold-access-exclusive"


@pytest.mark.parametrize(
    ("sql", "kw", "expected"),
    [
        ("ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free';", {}, True),
        ("ALTER TABLE users ADD COLUMN plan text;\nDELETE FROM sessions WHERE expired;", {}, True),
        (
            "ALTER TABLE users ADD COLUMN plan text;\nINSERT INTO plans SELECT DISTINCT plan FROM users;",
            {},
            True,
        ),
        ("LOCK TABLE users;\nUPDATE users SET a = 1 WHERE id = 1;", {}, True),
        # a short literal insert is fine
        ("ALTER TABLE users ADD COLUMN plan text;\nINSERT INTO plans VALUES ('free');", {}, False),
        # the runner drops BEGIN/COMMIT: one transaction, so the lock is still held for the backfill
        (
            "BEGIN;\nALTER TABLE users ADD COLUMN plan text;\nCOMMIT;\nUPDATE users SET plan = 'free';",
            {},
            True,
        ),
        # a file that manages its own transactions releases the lock at COMMIT
        (
            "-- guard: no-transaction\nBEGIN;\nALTER TABLE users ADD COLUMN plan text;\nCOMMIT;\n"
            "UPDATE users SET plan = 'free';",
            {},
            False,
        ),
        # no transaction: each statement commits on its own
        (
            "ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free';",
            {"transaction": False},
            False,
        ),
        # new tables are nobody else's
        (
            "CREATE TABLE users (id int);\nALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'x';",
            {},
            False,
        ),
        # a foreign key takes SHARE ROW EXCLUSIVE, not ACCESS EXCLUSIVE
        (
            "ALTER TABLE o ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users NOT VALID;\nUPDATE o SET a = 1;",
            {},
            False,
        ),
        ("UPDATE users SET plan = 'free' WHERE plan IS NULL;", {}, False),
    ],
)
def test_hold_access_exclusive(sql: str, kw: dict[str, object], expected: bool) -> None:
    assert (HOLD in fired(sql, **kw)) is expected


def test_hold_access_exclusive_names_tables_and_lock() -> None:
    [f] = [
        f
        for f in lint_sql("ALTER TABLE users ADD COLUMN p text;\nUPDATE users SET p = 'x';")
        if f.rule == HOLD
    ]
    assert "users" in f.message and "ACCESS EXCLUSIVE (blocks reads and writes)" in f.message
    assert f.line == 2


@pytest.mark.parametrize(
    ("sql", "kw", "expected"),
    [
        ("CREATE TABLE a (id int);\nEND;\nCREATE TABLE b (id int);", {}, True),
        ("CREATE TABLE a (id int);\nROLLBACK;", {}, True),
        ("BEGIN;\nCREATE TABLE a (id int);\nABORT;", {}, True),
        ("BEGIN;\nCREATE TABLE a (id int);\nCOMMIT AND CHAIN;\nCOMMIT;", {}, True),
        ("BEGIN;\nCREATE TABLE a (id int);\nPREPARE TRANSACTION 'x';", {}, True),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE a (id int);\nCOMMIT;", {}, True),
        ("RELEASE SAVEPOINT somebody_elses;", {}, True),
        ("-- guard: no-transaction\nCREATE TABLE a (id int);\nEND;", {}, False),
        ("-- guard: no-transaction\nCOMMIT PREPARED 'x';", {}, True),
        ("BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;", {}, False),
        ("begin work;\nCREATE TABLE a (id int);\nend transaction;", {}, False),
        ("SAVEPOINT s;\nCREATE TABLE a (id int);\nROLLBACK TO SAVEPOINT s;", {}, False),
        ("SELECT 'ROLLBACK';\n-- END;\nDO $$ BEGIN NULL; END $$;", {}, False),
        ("CREATE TABLE a (id int);\nEND;", {"transaction": False}, False),
        # an open block is `uncommitted-transaction`'s finding, not this one's
        ("BEGIN;\nCREATE TABLE a (id int);", {}, False),
    ],
)
def test_transaction_control(sql: str, kw: dict[str, object], expected: bool) -> None:
    assert ("transaction-control" in fired(sql, **kw)) is expected


def test_transaction_control_names_the_statement_and_line() -> None:
    [f] = [
        f
        for f in lint_sql("CREATE TABLE a (id int);\n/* x */ End -- y\n;")
        if f.rule == "transaction-control"
    ]
    # named from the model (keyword as written, upper case), never from the statement's raw text
    assert f.line == 2 and "`END` commits outside any BEGIN block" in f.message
    [f] = [
        f
        for f in lint_sql("BEGIN ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE a (id int);\nCOMMIT;")
        if f.rule == "transaction-control"
    ]
    assert "`BEGIN ISOLATION LEVEL SERIALIZABLE` sets its own transaction modes" in f.message


def test_hold_access_exclusive_once_per_lock_span() -> None:
    sql = (
        "ALTER TABLE users ADD COLUMN plan text;\n"
        "UPDATE users SET plan = 'free' WHERE id < 10;\n"
        "SELECT 1;\n"
        "DELETE FROM sessions WHERE expired;\n"
        "INSERT INTO plans SELECT DISTINCT plan FROM users;\n"
        "INSERT INTO plans VALUES ('x');\n"
    )
    [f] = [f for f in lint_sql(sql) if f.rule == HOLD]
    assert f.line == 2
    assert f.message.startswith(
        "3 backfill statements (lines 2, 4, 5) run while this transaction holds ACCESS EXCLUSIVE"
    )
    assert "on users" in f.message


def test_hold_access_exclusive_one_finding_per_transaction() -> None:
    sql = (
        "-- guard: no-transaction\n"
        "BEGIN;\nALTER TABLE users ADD COLUMN a text;\nUPDATE users SET a = 'x';\nUPDATE users SET a = 'y';\nCOMMIT;\n"
        "BEGIN;\nLOCK TABLE orders;\nDELETE FROM orders WHERE old;\nCOMMIT;\n"
    )
    found = [f for f in lint_sql(sql) if f.rule == HOLD]
    assert [(f.line, f.message.split(" run")[0]) for f in found] == [
        (4, "2 backfill statements (lines 4, 5)"),
        (9, "a DELETE backfill"),
    ]
    assert "on orders" in found[1].message and "users" not in found[1].message


def _layout_migration(layout: str, sql: str) -> list[object]:
    from dataclasses import replace

    from rules_helpers import migration

    from guard.config import Settings
    from guard.lint.engine import lint_migration

    m = replace(migration(sql), layout=layout)
    return [f.message for f in lint_migration(m, Settings(), [m]) if f.rule == "nested-transaction"]


@pytest.mark.parametrize(("layout", "tool"), [("flyway", "Flyway"), ("dbmate", "dbmate")])
def test_begin_in_a_migration_its_tool_wraps_is_nested(layout: str, tool: str) -> None:
    [message] = _layout_migration(layout, "BEGIN;\nALTER TABLE users ADD COLUMN a text;\nCOMMIT;")
    assert f"{tool} already runs this migration in a transaction, so this BEGIN is nested" in str(message)
    assert "migration-guard's runner drops the pair" in str(message)
    # marked no-transaction, the file manages its own transactions
    assert not _layout_migration(
        layout, "-- guard: no-transaction\nBEGIN;\nALTER TABLE users ADD COLUMN a text;\nCOMMIT;"
    )


@pytest.mark.parametrize("layout", ["golang-migrate", "prisma", "hasura", "plain"])
def test_begin_is_not_nested_where_the_tool_does_not_wrap(layout: str) -> None:
    assert not _layout_migration(layout, "BEGIN;\nALTER TABLE users ADD COLUMN a text;\nCOMMIT;")


@pytest.mark.parametrize(
    "sql",
    [
        "BEGIN;\nVACUUM users;\nCOMMIT;",
        "BEGIN;\nCREATE DATABASE other;\nCOMMIT;",
        "BEGIN;\nALTER SYSTEM SET work_mem = '64MB';\nCOMMIT;",
        "BEGIN;\nREINDEX SCHEMA public;\nCOMMIT;",
        "CREATE TABLE t (id int);\nCREATE TABLESPACE fast LOCATION '/ssd';",
    ],
)
def test_concurrent_in_transaction_reads_the_runners_list(sql: str) -> None:
    assert CIT in fired(sql)
