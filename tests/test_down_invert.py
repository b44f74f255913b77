"""`guard.down.invert`: each inverse is the exact statement expected, parses with sqlglot, and
really undoes its up on Postgres (127.0.0.1:5432): the schema after up + down equals the one before."""

from __future__ import annotations

import psycopg
import pytest
import sqlglot
from scratch_db import run

from guard.db.snapshot import diff_snapshots, take_snapshot
from guard.down.invert import NotInvertible, invert
from guard.parsing import split_statements

pytestmark = pytest.mark.db

TABLE = "CREATE TABLE t (id int PRIMARY KEY, a text, b text);"

#: (setup, up, the down `invert` must write)
CASES = [
    ("", "CREATE TABLE t (id int);", ["DROP TABLE t"]),
    (
        "",
        'CREATE TABLE "public"."T" (id serial PRIMARY KEY);\nCREATE INDEX "T_i" ON "public"."T" (id);',
        ['DROP INDEX "public"."T_i"', 'DROP TABLE "public"."T"'],
    ),
    (TABLE, "CREATE UNIQUE INDEX CONCURRENTLY t_a ON t (a);", ["DROP INDEX CONCURRENTLY t_a"]),
    (TABLE, "CREATE VIEW v AS SELECT id FROM t;", ["DROP VIEW v"]),
    (TABLE, "CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;", ["DROP MATERIALIZED VIEW mv"]),
    ("", "CREATE SEQUENCE s START 5;", ["DROP SEQUENCE s"]),
    ("", "CREATE TYPE mood AS ENUM ('a', 'b');", ["DROP TYPE mood"]),
    ("", "CREATE TYPE pair AS (x int, y int);", ["DROP TYPE pair"]),
    ("", "CREATE SCHEMA app;", ["DROP SCHEMA app"]),
    ("", "CREATE EXTENSION citext;", ["DROP EXTENSION citext"]),
    (
        "",
        "CREATE FUNCTION add1(x integer, y text) RETURNS integer LANGUAGE sql AS 'SELECT x + 1';",
        ["DROP FUNCTION add1(INT, TEXT)"],
    ),
    (
        TABLE + "\nCREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;",
        "CREATE TRIGGER t_trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION trg();",
        ["DROP TRIGGER t_trg ON t"],
    ),
    (
        TABLE,
        "ALTER TABLE t ADD COLUMN c int, ADD COLUMN \"D\" text NOT NULL DEFAULT 'x';",
        ['ALTER TABLE t DROP COLUMN "D"', "ALTER TABLE t DROP COLUMN c"],
    ),
    (TABLE, "ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE (a);", ["ALTER TABLE t DROP CONSTRAINT t_a_key"]),
    (
        TABLE + "\nCREATE TABLE u (id int PRIMARY KEY, t_id int);",
        "ALTER TABLE ONLY u ADD CONSTRAINT u_t_fkey FOREIGN KEY (t_id) REFERENCES t (id);",
        ["ALTER TABLE ONLY u DROP CONSTRAINT u_t_fkey"],
    ),
    (TABLE, "ALTER TABLE t RENAME COLUMN a TO z;", ["ALTER TABLE t RENAME COLUMN z TO a"]),
    (TABLE, "ALTER TABLE public.t RENAME TO t2;", ["ALTER TABLE public.t2 RENAME TO t"]),
    (
        TABLE + "\nCREATE INDEX t_b ON t (b);",
        "ALTER INDEX t_b RENAME TO t_b2;",
        ["ALTER INDEX t_b2 RENAME TO t_b"],
    ),
    (
        TABLE,
        'ALTER TABLE t RENAME CONSTRAINT t_pkey TO "T_pk";',
        ['ALTER TABLE t RENAME CONSTRAINT "T_pk" TO t_pkey'],
    ),
    (
        "CREATE TYPE mood AS ENUM ('a', 'b');",
        "ALTER TYPE mood RENAME VALUE 'a' TO 'it''s';",
        ["ALTER TYPE mood RENAME VALUE 'it''s' TO 'a'"],
    ),
    (
        TABLE,
        "BEGIN;\nINSERT INTO t (id, a, b) VALUES (1, 'x', NULL), (2, E'y\\'s', 'z');\nCOMMIT;",
        [
            "DELETE FROM t WHERE id IS NOT DISTINCT FROM 2 AND a IS NOT DISTINCT FROM e'y''s' AND b IS NOT DISTINCT FROM 'z'",
            "DELETE FROM t WHERE id IS NOT DISTINCT FROM 1 AND a IS NOT DISTINCT FROM 'x' AND b IS NOT DISTINCT FROM NULL",
        ],
    ),
    (
        "",
        "SET check_function_bodies = false;\nCREATE TABLE t (id int);\nCOMMENT ON TABLE t IS 'x';",
        ["DROP TABLE t"],
    ),
]


@pytest.mark.parametrize(("setup", "up", "down"), CASES, ids=[c[1].split("(")[0][:40] for c in CASES])
def test_inverse_parses_and_undoes_the_up(
    scratch_conn: psycopg.Connection, setup: str, up: str, down: list[str]
) -> None:
    inversion = invert(split_statements(up)[0])
    assert inversion.statements == down
    assert inversion.irreversible == []
    for statement in inversion.statements:
        sqlglot.parse_one(statement, read="postgres")  # raises when sqlglot cannot read it
    run(scratch_conn, setup)
    before = take_snapshot(scratch_conn)
    run(scratch_conn, up)
    if "INSERT" in up:
        assert scratch_conn.execute("SELECT count(*) FROM t").fetchone() == (2,)
    else:
        assert diff_snapshots(before, take_snapshot(scratch_conn)), (
            "the up changed nothing: the case proves nothing"
        )
    run(scratch_conn, ";\n".join(inversion.statements))
    assert diff_snapshots(before, take_snapshot(scratch_conn)) == []
    if "INSERT" in up:
        assert scratch_conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_what_cannot_come_back_is_a_reason_not_a_statement() -> None:
    up = (
        "ALTER TYPE \"Mood\" ADD VALUE 'c';\nUPDATE t SET a = 'x';\nDELETE FROM u WHERE id = 1;\n"
        "INSERT INTO t (id) SELECT 1;\nINSERT INTO t (id) VALUES (now());"
    )
    inversion = invert(split_statements(up)[0])
    assert inversion.statements == []
    assert inversion.enum_values_added == ['"Mood"']
    assert len(inversion.irreversible) == 5
    assert 'enum value added to "Mood"' in inversion.irreversible[0]
    assert "UPDATE on t" in inversion.irreversible[1] and "DELETE on u" in inversion.irreversible[2]
    assert "rows inserted into t (line 4) are not deleted: only INSERT" in inversion.irreversible[3]
    assert "computed values" in inversion.irreversible[4]


@pytest.mark.parametrize(
    ("up", "why"),
    [
        ("ALTER TABLE t ALTER COLUMN a SET DEFAULT 'x';", "previous state"),
        ("ALTER TABLE t ALTER COLUMN a SET NOT NULL;", "previous state"),
        ("ALTER TABLE t ALTER COLUMN a TYPE int;", "previous state"),
        ("ALTER TABLE t DROP COLUMN a;", "previous state"),
        ("DROP TABLE t;", "no exact inverse"),
        ("CREATE TABLE IF NOT EXISTS t (id int);", "existing object"),
        ("CREATE OR REPLACE VIEW v AS SELECT 1;", "existing object"),
        ("CREATE INDEX ON t (a);", "without a name"),
        ("ALTER TABLE t ADD PRIMARY KEY (id);", "without a name"),
        ("ALTER TABLE t ADD COLUMN IF NOT EXISTS c int;", "may add nothing"),
        ("CREATE EXTENSION IF NOT EXISTS citext;", "existing object"),
        ("SET search_path = app;", "no exact inverse"),
    ],
)
def test_no_exact_inverse_says_why(up: str, why: str) -> None:
    with pytest.raises(NotInvertible, match=why):
        invert(split_statements(up)[0])


def test_rows_a_with_clause_changes_are_named_too() -> None:
    up = "WITH gone AS (DELETE FROM u WHERE id = 1) INSERT INTO t (id) VALUES (1);"
    inversion = invert(split_statements(up)[0])
    assert inversion.statements == ["DELETE FROM t WHERE id IS NOT DISTINCT FROM 1"]
    assert inversion.irreversible == ["rows changed by DELETE on u (line 1) are not restored"]
