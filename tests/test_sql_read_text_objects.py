"""The token reader (`guard.sql.read_text`) fills the statement model for the other objects: DROP,
renames, ALTER TYPE ... ADD VALUE and other ALTERs, CREATE TABLE, CREATE INDEX and every other CREATE."""

from __future__ import annotations

import pytest

from guard.sql import read_text as rt
from guard.sql.facts import CHECK, UNIQUE, Default, Name
from guard.tokens import tokenize


@pytest.mark.parametrize(
    ("sql", "kind", "names", "attrs"),
    [
        ("DROP TABLE a, s.b CASCADE", "table", ("a", "b"), {"cascade": True, "keyword": "TABLE"}),
        ('DROP TABLE IF EXISTS "User"', "table", ("User",), {"if_exists": True, "cascade": False}),
        ("DROP INDEX CONCURRENTLY IF EXISTS i", "index", ("i",), {"concurrently": True, "if_exists": True}),
        ("DROP VIEW v", "view", ("v",), {}),
        (
            "DROP MATERIALIZED VIEW IF EXISTS mv",
            "materialized view",
            ("mv",),
            {"keyword": "MATERIALIZED VIEW"},
        ),
        ("DROP TYPE mood", "type", ("mood",), {}),
        ("DROP DOMAIN d", "domain", ("d",), {}),
        ("DROP FUNCTION f(arg integer)", "function", ("f",), {}),
        (
            "DROP FUNCTION IF EXISTS s.f(a int, b text), g() CASCADE",
            "function",
            ("f", "g"),
            {"cascade": True},
        ),
        ("DROP PROCEDURE p", "procedure", ("p",), {}),
        ("DROP SEQUENCE s1", "sequence", ("s1",), {}),
        ("DROP SCHEMA old CASCADE", "schema", ("old",), {"cascade": True}),
        ("DROP DATABASE IF EXISTS x WITH (FORCE)", "database", ("x",), {"if_exists": True}),
        ("DROP EXTENSION pgcrypto", "extension", ("pgcrypto",), {}),
        ("DROP TRIGGER tr ON s.t", "trigger", ("tr",), {"on": Name("t", "s.t", "s")}),
        ("DROP POLICY IF EXISTS p ON t", "policy", ("p",), {"on": Name("t", "t")}),
        ("DROP RULE r ON t", "rule", ("r",), {"on": Name("t", "t")}),
        ("DROP OWNED BY app_user", "owned", ("app_user",), {"keyword": "OWNED BY"}),
    ],
)
def test_drop(sql: str, kind: str, names: tuple[str, ...], attrs: dict[str, object]) -> None:
    fact = rt.drop(tokenize(sql))
    assert fact is not None
    assert fact.object_kind == kind
    assert tuple(n.key for n in fact.names) == names
    for key, value in attrs.items():
        assert getattr(fact, key) == value, key


@pytest.mark.parametrize(
    ("sql", "kind", "name", "new", "of"),
    [
        ("ALTER SEQUENCE s1 RENAME TO s2", "sequence", "s1", "s2", None),
        ("ALTER SEQUENCE IF EXISTS public.s1 RENAME TO s2", "sequence", "s1", "s2", None),
        ("ALTER TYPE mood RENAME TO feeling", "type", "mood", "feeling", None),
        ("ALTER INDEX i RENAME TO j", "index", "i", "j", None),
        ("ALTER SCHEMA a RENAME TO b", "schema", "a", "b", None),
        ("ALTER MATERIALIZED VIEW mv RENAME TO mv2", "materialized view", "mv", "mv2", None),
        ("ALTER FUNCTION f(a integer) RENAME TO g", "function", "f", "g", None),
        ("ALTER TRIGGER tr ON t RENAME TO tr2", "trigger", "tr", "tr2", "t"),
        ("ALTER POLICY p ON t RENAME TO p2", "policy", "p", "p2", "t"),
        ("ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'", "enum value", "sad", "blue", "mood"),
        ("ALTER VIEW v RENAME COLUMN a TO b", "column", "a", "b", "v"),
    ],
)
def test_rename(sql: str, kind: str, name: str, new: str, of: str | None) -> None:
    fact = rt.rename(tokenize(sql))
    assert fact is not None
    assert (fact.object_kind, fact.name.key, fact.new.key) == (kind, name, new)
    assert (fact.of.key if fact.of else None) == of
    assert rt.alter_other(tokenize(sql)) is None


def test_rename_is_not_table_or_other_alter() -> None:
    assert rt.rename(tokenize("ALTER TABLE t RENAME TO u")) is None
    assert rt.rename(tokenize("ALTER SEQUENCE s RESTART WITH 10")) is None
    assert rt.rename(tokenize("ALTER TYPE mood ADD VALUE 'x'")) is None


def test_alter_enum() -> None:
    fact = rt.alter_enum(tokenize("ALTER TYPE s.mood ADD VALUE IF NOT EXISTS 'ok' BEFORE 'sad'"))
    assert fact is not None
    assert (fact.type, fact.value, fact.before, fact.after, fact.if_not_exists) == (
        Name("mood", "s.mood", "s"),
        "ok",
        "sad",
        None,
        True,
    )
    after = rt.alter_enum(tokenize("ALTER TYPE mood ADD VALUE 'x' AFTER 'y'"))
    assert after is not None and (after.after, after.before, after.if_not_exists) == ("y", None, False)
    assert rt.alter_enum(tokenize("ALTER TYPE mood RENAME VALUE 'a' TO 'b'")) is None


def test_alter_other() -> None:
    seq = rt.alter_other(tokenize("ALTER SEQUENCE s RESTART WITH 10"))
    assert seq is not None and seq.object_kind == "sequence" and seq.words == ("RESTART", "WITH", "10")
    dom = rt.alter_other(tokenize("ALTER DOMAIN d ADD CONSTRAINT pos CHECK (VALUE > 0) NOT VALID"))
    assert dom is not None and dom.constraint is not None
    assert (dom.constraint.kind, dom.constraint.valid, dom.constraint.name) == (
        CHECK,
        False,
        Name("pos", "pos"),
    )
    assert rt.alter_other(tokenize("ALTER TABLE t ADD x int")) is None


def test_create_table() -> None:
    fact = rt.create_table(
        tokenize(
            'CREATE UNLOGGED TABLE IF NOT EXISTS app."User" (id bigserial PRIMARY KEY, '
            "email text NOT NULL DEFAULT '', org int REFERENCES orgs, CONSTRAINT u UNIQUE (email), "
            "CHECK (id > 0), LIKE base)"
        )
    )
    assert fact is not None
    assert fact.table == Name("User", 'app."User"', "app")
    assert fact.unlogged and fact.if_not_exists and fact.like and not fact.temporary
    assert [c.name.key for c in fact.columns] == ["id", "email", "org"]
    assert fact.columns[0].primary_key and fact.columns[1].not_null
    assert fact.columns[1].default == Default("''")
    assert fact.columns[2].references == Name("orgs", "orgs")
    assert [c.kind for c in fact.constraints] == [UNIQUE, CHECK]
    as_select = rt.create_table(tokenize("CREATE TEMP TABLE x AS SELECT 1"))
    assert as_select is not None and as_select.as_select and as_select.temporary
    on_commit = rt.create_table(tokenize("CREATE TEMPORARY TABLE x ON COMMIT DROP AS SELECT 1"))
    assert on_commit is not None and on_commit.as_select
    identity = rt.create_table(tokenize("CREATE TABLE x (id int GENERATED ALWAYS AS IDENTITY)"))
    assert identity is not None and not identity.as_select and identity.columns[0].identity
    part = rt.create_table(tokenize("CREATE TABLE t_1 PARTITION OF t FOR VALUES IN (1)"))
    assert part is not None and part.partition_of == Name("t", "t")
    assert rt.create_table(tokenize("CREATE INDEX i ON t (a)")) is None
    child = rt.create_table(tokenize("CREATE TABLE c (extra int) INHERITS (p)"))
    assert child is not None and child.inherits and not part.inherits
    inside = rt.create_table(tokenize("CREATE TABLE c (inherits int)"))
    assert inside is not None and not inside.inherits


def test_create_index() -> None:
    fact = rt.create_index(
        tokenize(
            'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON ONLY s."T" USING btree (a DESC, b text_pattern_ops) '
            "INCLUDE (c) WHERE deleted_at IS NULL AND n >= 1"
        )
    )
    assert fact is not None
    assert (fact.unique, fact.concurrently, fact.if_not_exists, fact.only) == (True, True, True, True)
    assert fact.name == Name("i", "i") and fact.table == Name("T", 's."T"', "s")
    assert fact.method == "btree" and fact.columns == ("a", "b") and not fact.expressions
    assert fact.predicate == "deleted_at IS NULL AND n >= 1"
    assert fact.keys_sql == "a DESC, b text_pattern_ops" and fact.include == ("c",) and fact.storage_sql == ""
    expr = rt.create_index(tokenize("CREATE INDEX ON t (lower(email) DESC)"))
    assert expr is not None and expr.name is None and expr.expressions and expr.columns == ("lower(email)",)
    assert expr.keys_sql == "lower(email) DESC"
    stored = rt.create_index(
        tokenize(
            'CREATE UNIQUE INDEX i ON t (a) INCLUDE (b, "C") NULLS NOT DISTINCT WITH (fillfactor = 70) WHERE a > 0'
        )
    )
    assert stored is not None and stored.include == ("b", '"C"')
    assert stored.storage_sql == "NULLS NOT DISTINCT WITH(fillfactor = 70)" and stored.predicate == "a > 0"
    spaced = rt.create_index(tokenize("CREATE INDEX i ON t (a) TABLESPACE fast"))
    assert spaced is not None and spaced.storage_sql == "TABLESPACE fast" and spaced.include == ()


def test_rename_if_exists() -> None:
    fact = rt.rename(tokenize("ALTER INDEX IF EXISTS a RENAME TO b"))
    assert fact is not None and fact.if_exists and (fact.name.key, fact.new.key) == ("a", "b")
    plain = rt.rename(tokenize("ALTER TYPE mood RENAME VALUE 'a' TO 'b'"))
    assert plain is not None and not plain.if_exists


@pytest.mark.parametrize(
    ("sql", "kind", "name", "attrs"),
    [
        ("CREATE OR REPLACE VIEW v AS SELECT 1", "view", "v", {"or_replace": True}),
        (
            "CREATE MATERIALIZED VIEW mv AS SELECT 1 WITH NO DATA",
            "materialized view",
            "mv",
            {"with_data": False},
        ),
        ("CREATE MATERIALIZED VIEW mv AS SELECT 1", "materialized view", "mv", {"with_data": True}),
        ("CREATE TYPE mood AS ENUM ('a', 'b')", "enum", "mood", {"values": ("a", "b")}),
        ("CREATE TYPE pair AS (a int, b int)", "type", "pair", {}),
        ("CREATE DOMAIN pos AS int CHECK (VALUE > 0)", "domain", "pos", {}),
        (
            "CREATE OR REPLACE FUNCTION s.f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a $$",
            "function",
            "f",
            {"body": " SELECT a ", "language": "sql", "or_replace": True},
        ),
        (
            "CREATE PROCEDURE p() AS 'SELECT 1' LANGUAGE SQL",
            "procedure",
            "p",
            {"body": "SELECT 1", "language": "sql"},
        ),
        (
            "CREATE TRIGGER tr BEFORE UPDATE ON s.t FOR EACH ROW EXECUTE FUNCTION f()",
            "trigger",
            "tr",
            {"on": Name("t", "s.t", "s")},
        ),
        ("CREATE SEQUENCE IF NOT EXISTS s1", "sequence", "s1", {"if_not_exists": True}),
        ("CREATE EXTENSION IF NOT EXISTS pgcrypto", "extension", "pgcrypto", {"if_not_exists": True}),
        ("CREATE SCHEMA IF NOT EXISTS app", "schema", "app", {"if_not_exists": True}),
        ("CREATE SCHEMA app", "schema", "app", {"if_not_exists": False, "parameters": None}),
        (
            "CREATE FUNCTION f(a int, b character varying(9), double precision, c text[]) RETURNS int AS 'x'",
            "function",
            "f",
            {"parameters": ("int", "character varying(9)", "double precision", "text[]")},
        ),
        ("CREATE FUNCTION f() RETURNS int AS 'x'", "function", "f", {"parameters": ()}),
        ("CREATE FUNCTION f(OUT a int) RETURNS int AS 'x'", "function", "f", {"parameters": None}),
        ("CREATE FUNCTION f(a int DEFAULT 1) RETURNS int AS 'x'", "function", "f", {"parameters": None}),
        ("CREATE FUNCTION f(a int = 1) RETURNS int AS 'x'", "function", "f", {"parameters": None}),
        ("CREATE POLICY p ON t USING (true)", "policy", "p", {"on": Name("t", "t")}),
        ("CREATE STATISTICS st ON a, b FROM t", "statistics", "st", {"on": Name("t", "t")}),
    ],
)
def test_create_object(sql: str, kind: str, name: str, attrs: dict[str, object]) -> None:
    fact = rt.create_object(tokenize(sql))
    assert fact is not None
    assert (fact.object_kind, fact.name.key) == (kind, name)
    for key, value in attrs.items():
        assert getattr(fact, key) == value, key


def test_create_object_leaves_tables_and_indexes() -> None:
    for sql in ("CREATE TABLE t (a int)", "CREATE UNIQUE INDEX i ON t (a)", "CREATE TEMP TABLE t (a int)"):
        assert rt.create_object(tokenize(sql)) is None


def test_unnamed_and_prefixed_objects() -> None:
    schema = rt.create_object(tokenize("CREATE SCHEMA AUTHORIZATION joe"))
    assert schema is not None and (schema.object_kind, schema.name.key) == ("schema", "joe")
    assert rt.create_object(tokenize("CREATE LOCAL TEMP TABLE t (a int)")) is None
    view = rt.create_object(tokenize("CREATE OR REPLACE TEMP VIEW v AS SELECT 1"))
    assert view is not None and view.object_kind == "view" and view.or_replace
    privileges = rt.alter_other(tokenize("ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO r"))
    assert (
        privileges is not None and privileges.object_kind == "default privileges" and not privileges.name.key
    )
    assert rt.setting(tokenize("SET SESSION AUTHORIZATION bob")) == rt.Setting("session authorization", "bob")
