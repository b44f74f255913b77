"""Catalog snapshots on a real Postgres: every object kind, normalization, diff in words, data fingerprints."""

from __future__ import annotations

import json

import psycopg
import pytest

from guard.db.snapshot import (
    Snapshot,
    data_fingerprint,
    diff_data,
    diff_snapshots,
    take_snapshot,
)

pytestmark = pytest.mark.db

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL DEFAULT 'x',
  feeling mood,
  score positive,
  doubled integer GENERATED ALWAYS AS (score * 2) STORED
);
CREATE INDEX users_email_idx ON users (email);
CREATE TABLE orders (id serial PRIMARY KEY, user_id bigint);
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
CREATE VIEW user_emails AS SELECT id, email FROM users;
CREATE MATERIALIZED VIEW user_count AS SELECT count(*) AS n FROM users;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE PROCEDURE noop() LANGUAGE sql AS 'SELECT 1';
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON users USING (id > 0);
CREATE SEQUENCE invoice_no START 100;
CREATE SCHEMA migration_guard;
CREATE TABLE migration_guard.history (id int);
CREATE TABLE bk_env_marker (id int PRIMARY KEY, env text);
"""


def snap(conn: psycopg.Connection) -> Snapshot:
    return take_snapshot(conn, exclude_schemas=("migration_guard",), marker_table="public.bk_env_marker")


@pytest.fixture
def conn(fresh_db: str):
    with psycopg.connect(fresh_db, autocommit=True) as c:
        yield c


def test_empty_database_has_only_public(conn: psycopg.Connection) -> None:
    assert dict(snap(conn).objects) == {("schema", "public"): {}}


def test_every_object_kind_is_described(conn: psycopg.Connection) -> None:
    conn.execute(SCHEMA)
    s = snap(conn)
    o = s.objects
    assert o[("column", "public.users.id")]["identity"] == "always"
    assert o[("column", "public.users.email")] == {
        "type": "text",
        "nullable": False,
        "default": "'x'::text",
        "position": 2,
    }
    assert o[("column", "public.users.doubled")]["generated"] == "((score)::integer * 2)"
    assert o[("constraint", "public.orders.orders_user_fk")]["valid"] is False
    assert "FOREIGN KEY (user_id)" in o[("constraint", "public.orders.orders_user_fk")]["definition"]
    assert o[("index", "public.users.users_email_idx")]["valid"] is True
    assert o[("enum", "public.mood")] == {"labels": ["sad", "ok", "happy"]}
    assert o[("domain", "public.positive")]["checks"] == ["CHECK (VALUE > 0)"]
    assert "email" in o[("view", "public.user_emails")]["definition"]
    assert "count(*)" in o[("materialized view", "public.user_count")]["definition"]
    assert "RETURN NEW" in o[("function", "public.touch()")]["definition"]
    assert ("procedure", "public.noop()") in o
    assert "BEFORE UPDATE" in o[("trigger", "public.users.users_touch")]["definition"]
    assert o[("policy", "public.users.own_rows")]["using"] == "(id > 0)"
    assert o[("table", "public.users")]["row_level_security"] is True
    assert o[("sequence", "public.invoice_no")]["start"] == "100"
    assert o[("sequence", "public.orders_id_seq")]["owned_by"] == "public.orders.id"
    assert ("extension", "citext") in o
    # Extension members, the history schema and the marker table are not the user's schema.
    assert not any("citext" in k[1] for k in o if k[0] != "extension")
    assert not any("migration_guard" in k[1] for k in o)
    assert not any("bk_env_marker" in k[1] for k in o)
    # Primary-key indexes are described by their constraint, not twice.
    assert ("index", "public.users.users_pkey") not in o


def test_same_sql_gives_equal_snapshots_in_two_databases(conn: psycopg.Connection, pg_server) -> None:
    conn.execute(SCHEMA)
    name, url = pg_server.create_database()
    try:
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("CREATE TABLE filler (x int)")  # shifts every OID in the second database
            other.execute(SCHEMA)
            other.execute("DROP TABLE filler")
            assert diff_snapshots(snap(conn), snap(other)) == []
    finally:
        pg_server.drop_database(name)


def test_diff_in_words(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE users (id int PRIMARY KEY, name text)")
    before = snap(conn)
    conn.execute(
        "ALTER TABLE users ADD COLUMN email text; ALTER TABLE users ALTER COLUMN name TYPE varchar(20)"
    )
    conn.execute("CREATE TABLE audit (id int PRIMARY KEY, at timestamptz)")
    changes = diff_snapshots(before, snap(conn))
    words = [(c.change, c.label, c.describe_details()) for c in changes]
    # The new table is one line: its columns and primary key are not listed separately.
    assert ("extra", "table audit", "") in words
    assert ("extra", "column users.email", "") in words
    assert ("changed", "column users.name", "type was text, is now character varying(20)") in words
    assert len(words) == 3


def test_column_order_is_recorded_but_not_compared(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE t (a int, b text, c int)")
    before = snap(conn)
    conn.execute("ALTER TABLE t DROP COLUMN b; ALTER TABLE t ADD COLUMN b text")
    after = snap(conn)
    assert before.objects[("column", "public.t.b")]["position"] == 2
    assert after.objects[("column", "public.t.b")]["position"] == 3
    assert diff_snapshots(before, after) == []


def test_schema_document_round_trips_and_is_stable(conn: psycopg.Connection) -> None:
    conn.execute(SCHEMA)
    s = snap(conn)
    text = s.to_text()
    again = Snapshot.from_document(json.loads(text))
    assert diff_snapshots(s, again) == []
    assert again.to_text() == text
    with pytest.raises(ValueError):
        Snapshot.from_document({"format": "something-else"})


def test_data_fingerprint_sees_lost_rows_and_values(conn: psycopg.Connection) -> None:
    conn.execute('CREATE TABLE u (id int, name text, "Odd" int); CREATE TABLE empty_one ()')
    conn.execute("INSERT INTO u VALUES (1, 'a', NULL), (2, NULL, 3)")
    s = snap(conn)
    d0 = data_fingerprint(conn, s)
    assert d0["public.u"].rows == 2 and d0["public.empty_one"].rows == 0
    conn.execute("UPDATE u SET name = 'b' WHERE id = 1")
    (change,) = diff_data(d0, data_fingerprint(conn, s))
    assert change.describe() == "values of column name differ (2 rows before and after)"
    conn.execute("DELETE FROM u WHERE id = 1")
    (change,) = diff_data(d0, data_fingerprint(conn, s))
    assert change.describe().startswith("2 rows before, 1 after")


def test_data_fingerprint_ignores_column_order(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE t (a int, b text); INSERT INTO t VALUES (1, 'x'), (2, NULL)")
    d0 = data_fingerprint(conn, snap(conn))
    conn.execute("ALTER TABLE t RENAME COLUMN b TO b_old; ALTER TABLE t ADD COLUMN b text")
    conn.execute("UPDATE t SET b = b_old; ALTER TABLE t DROP COLUMN b_old")
    assert diff_data(d0, data_fingerprint(conn, snap(conn))) == []
