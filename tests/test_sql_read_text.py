"""The token reader (`guard.sql.read_text`) fills the statement model for every shape it claims."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from conftest import CORPUS

from guard.parsing import split_statements
from guard.sql import read_text as rt
from guard.sql.facts import (
    CHECK,
    EXCLUDE,
    FOREIGN_KEY,
    PRIMARY_KEY,
    UNIQUE,
    AddColumn,
    AddConstraint,
    AddIdentity,
    AlterColumnType,
    AttachPartition,
    Default,
    DetachPartition,
    DropColumn,
    DropConstraint,
    DropDefault,
    DropNotNull,
    Harmless,
    Name,
    OtherAction,
    RenameColumn,
    RenameConstraint,
    RenameTable,
    SetDefault,
    SetLogged,
    SetNotNull,
    SetSchema,
    SetTablespace,
    ValidateConstraint,
)
from guard.sql.types import TypeSpec
from guard.tokens import tokenize
from guard.txcontrol import read_tx_control


def _one_action(sql: str):  # type: ignore[no-untyped-def]
    fact = rt.alter_table(tokenize(sql))
    assert fact is not None, sql
    assert len(fact.actions) == 1, fact.actions
    return fact.actions[0]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("ALTER TABLE t DROP COLUMN a", DropColumn(Name("a", "a"))),
        ('ALTER TABLE t DROP IF EXISTS "Col" CASCADE', DropColumn(Name("Col", '"Col"'), True, True)),
        ("ALTER TABLE t ALTER COLUMN a SET NOT NULL", SetNotNull(Name("a", "a"))),
        ("ALTER TABLE t ALTER a DROP NOT NULL", DropNotNull(Name("a", "a"))),
        ("ALTER TABLE t ALTER COLUMN a DROP DEFAULT", DropDefault(Name("a", "a"))),
        ("ALTER TABLE t ALTER COLUMN a SET DEFAULT 0", SetDefault(Name("a", "a"), Default("0"))),
        (
            "ALTER TABLE t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY",
            AddIdentity(Name("id", "id")),
        ),
        (
            'ALTER TABLE t ALTER COLUMN a SET DATA TYPE varchar(20) COLLATE "C"',
            AlterColumnType(Name("a", "a"), TypeSpec("varchar", (20,)), "varchar(20)", collation='"C"'),
        ),
        (
            "ALTER TABLE t ALTER a TYPE bigint USING a::bigint",
            AlterColumnType(Name("a", "a"), TypeSpec("bigint"), "bigint", "a::bigint"),
        ),
        (
            "ALTER TABLE t ALTER COLUMN type TYPE character varying(5)",
            AlterColumnType(Name("type", "type"), TypeSpec("varchar", (5,)), "character varying(5)"),
        ),
        ("ALTER TABLE t VALIDATE CONSTRAINT c", ValidateConstraint(Name("c", "c"))),
        ("ALTER TABLE t DROP CONSTRAINT IF EXISTS c CASCADE", DropConstraint(Name("c", "c"), True, True)),
        ("ALTER TABLE t DROP CONSTRAINT c", DropConstraint(Name("c", "c"))),
        ("ALTER TABLE t RENAME COLUMN a TO b", RenameColumn(Name("a", "a"), Name("b", "b"))),
        ('ALTER TABLE t RENAME "A" TO b', RenameColumn(Name("A", '"A"'), Name("b", "b"))),
        ("ALTER TABLE t RENAME CONSTRAINT c TO d", RenameConstraint(Name("c", "c"), Name("d", "d"))),
        ("ALTER TABLE t RENAME TO u", RenameTable(Name("u", "u"))),
        ("ALTER TABLE t SET SCHEMA archive", SetSchema("archive")),
        ("ALTER TABLE t SET LOGGED", SetLogged(True)),
        ("ALTER TABLE t SET UNLOGGED", SetLogged(False)),
        ("ALTER TABLE t SET TABLESPACE fast", SetTablespace("fast")),
        (
            "ALTER TABLE t ATTACH PARTITION p.t_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
            AttachPartition(Name("t_2024", "p.t_2024", "p")),
        ),
        ("ALTER TABLE t DETACH PARTITION t_1 CONCURRENTLY", DetachPartition(Name("t_1", "t_1"), True)),
        ("ALTER TABLE t DETACH PARTITION t_1 FINALIZE", DetachPartition(Name("t_1", "t_1"), False, True)),
        ("ALTER TABLE t OWNER TO admin", OtherAction(("OWNER", "TO", "ADMIN"))),
        (
            "ALTER TABLE t ALTER COLUMN a SET STATISTICS 100",
            OtherAction(("ALTER", "COLUMN", "A", "SET", "STATISTICS", "100")),
        ),
        ("ALTER TABLE t ENABLE ROW LEVEL SECURITY", OtherAction(("ENABLE", "ROW", "LEVEL", "SECURITY"))),
    ],
)
def test_alter_table_actions(sql: str, expected: object) -> None:
    assert _one_action(sql) == expected


def test_alter_table_head_forms() -> None:
    fact = rt.alter_table(tokenize('ALTER TABLE IF EXISTS ONLY public."User" * ADD x int, DROP y'))
    assert fact is not None
    assert fact.table == Name("User", 'public."User"', "public")
    assert fact.only and fact.if_exists
    assert [type(a) for a in fact.actions] == [AddColumn, DropColumn]
    assert rt.alter_table(tokenize("ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE b")) is None
    assert rt.alter_table(tokenize("ALTER INDEX i RENAME TO j")) is None


@pytest.mark.parametrize(
    ("sql", "attrs"),
    [
        (
            "ALTER TABLE t ADD COLUMN IF NOT EXISTS email varchar(255) NOT NULL UNIQUE",
            {"type": TypeSpec("varchar", (255,)), "not_null": True, "unique": True, "default": None},
        ),
        ("ALTER TABLE t ADD id bigint PRIMARY KEY", {"primary_key": True, "not_null": True}),
        (
            "ALTER TABLE t ADD COLUMN org_id int CONSTRAINT fk REFERENCES app.orgs (id) ON DELETE CASCADE",
            {"references": Name("orgs", "app.orgs", "app")},
        ),
        ("ALTER TABLE t ADD COLUMN n int CHECK (n > 0)", {"check": True}),
        ("ALTER TABLE t ADD COLUMN n int DEFAULT NULL", {"default": Default("NULL", is_null=True)}),
        ("ALTER TABLE t ADD COLUMN n int DEFAULT 0", {"default": Default("0")}),
        ("ALTER TABLE t ADD COLUMN at timestamptz DEFAULT now()", {"default": Default("now()")}),
        (
            "ALTER TABLE t ADD COLUMN tok uuid DEFAULT gen_random_uuid()",
            {"default": Default("gen_random_uuid()", "volatile", "gen_random_uuid")},
        ),
        (
            "ALTER TABLE t ADD COLUMN r float8 DEFAULT random()",
            {"default": Default("random()", "volatile", "random")},
        ),
        (
            "ALTER TABLE t ADD COLUMN u uuid DEFAULT uuid_generate_v4()",
            {"default": Default("uuid_generate_v4()", "volatile", "uuid_generate_v4")},
        ),
        (
            "ALTER TABLE t ADD COLUMN at timestamptz DEFAULT clock_timestamp()",
            {"default": Default("clock_timestamp()", "volatile", "clock_timestamp")},
        ),
        (
            "ALTER TABLE t ADD COLUMN n bigint DEFAULT nextval('t_n_seq'::regclass)",
            {"default": Default("nextval('t_n_seq'::regclass)", "volatile", "nextval")},
        ),
        # A cast with type modifiers is no function call; an unknown function may be volatile.
        (
            "ALTER TABLE t ADD COLUMN p numeric DEFAULT 0::numeric(10,2)",
            {"default": Default("0::numeric(10, 2)")},
        ),
        (
            "ALTER TABLE t ADD COLUMN p text DEFAULT my_fn()",
            {"default": Default("my_fn()", "unknown", "my_fn")},
        ),
        ("ALTER TABLE t ADD COLUMN id int GENERATED BY DEFAULT AS IDENTITY", {"identity": True}),
        (
            "ALTER TABLE t ADD COLUMN full_name text GENERATED ALWAYS AS (first || ' ' || last) STORED",
            {"generated": True, "identity": False},
        ),
        (
            'ALTER TABLE t ADD "Tags" text[]',
            {"name": Name("Tags", '"Tags"'), "type": TypeSpec("text", (), 1)},
        ),
    ],
)
def test_add_column(sql: str, attrs: dict[str, object]) -> None:
    action = _one_action(sql)
    assert isinstance(action, AddColumn)
    for key, value in attrs.items():
        assert getattr(action.column, key) == value, key
    assert action.if_not_exists == ("IF NOT EXISTS" in sql)


@pytest.mark.parametrize(
    ("sql", "kind", "valid", "not_null_column", "columns"),
    [
        ("ALTER TABLE t ADD CONSTRAINT c CHECK (valid)", CHECK, True, "", ()),
        ("ALTER TABLE t ADD CONSTRAINT c CHECK (valid) NOT VALID", CHECK, False, "", ()),
        ("ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID", CHECK, False, "a", ()),
        ('ALTER TABLE t ADD CONSTRAINT c CHECK (("Email" IS NOT NULL))', CHECK, True, "Email", ()),
        ("ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL AND b > 0)", CHECK, True, "", ()),
        ("ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NO INHERIT", CHECK, True, "a", ()),
        ("ALTER TABLE t ADD CONSTRAINT c CHECK ((a) IS NOT NULL)", CHECK, True, "", ()),
        ("ALTER TABLE t ADD CHECK (a > 0)", CHECK, True, "", ()),
        (
            "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (org_id, x) REFERENCES orgs (id) NOT VALID",
            FOREIGN_KEY,
            False,
            "",
            ("org_id", "x"),
        ),
        ("ALTER TABLE t ADD UNIQUE (email)", UNIQUE, True, "", ("email",)),
        ("ALTER TABLE t ADD PRIMARY KEY (id)", PRIMARY_KEY, True, "", ("id",)),
        ("ALTER TABLE t ADD CONSTRAINT ex EXCLUDE USING gist (r WITH &&)", EXCLUDE, True, "", ()),
    ],
)
def test_add_constraint(
    sql: str, kind: str, valid: bool, not_null_column: str, columns: tuple[str, ...]
) -> None:
    action = _one_action(sql)
    assert isinstance(action, AddConstraint)
    c = action.constraint
    assert (c.kind, c.valid, c.not_null_column, c.columns) == (kind, valid, not_null_column, columns)
    assert "NOT VALID" not in c.body_sql


def test_constraint_details() -> None:
    fk = _one_action("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES s.orgs (id)")
    assert isinstance(fk, AddConstraint)
    assert fk.constraint.name == Name("fk", "fk")
    assert fk.constraint.references == Name("orgs", "s.orgs", "s")
    rebuilt = f"ALTER TABLE t ADD CONSTRAINT fk {fk.constraint.body_sql}"
    assert sqlglot.parse_one(rebuilt, read="postgres") == sqlglot.parse_one(
        "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES s.orgs (id)", read="postgres"
    )
    for sql in (
        "ALTER TABLE t ADD CONSTRAINT pk PRIMARY KEY USING INDEX t_idx",
        "ALTER TABLE t ADD UNIQUE USING INDEX t_idx",
    ):
        action = _one_action(sql)
        assert isinstance(action, AddConstraint)
        assert action.constraint.using_index == Name("t_idx", "t_idx")
    action = _one_action("ALTER TABLE t ADD UNIQUE (a) USING INDEX TABLESPACE fast")
    assert isinstance(action, AddConstraint) and action.constraint.using_index is None


def test_check_body_operators_round_trip() -> None:
    action = _one_action(
        "ALTER TABLE t ADD CONSTRAINT c CHECK(a >= 0 AND a <= 10 AND a != 5 AND b || 'x' <> 'yx')"
    )
    assert isinstance(action, AddConstraint)
    body = action.constraint.body_sql
    for split in ("> =", "< =", "! =", "| |", "< >"):
        assert split not in body
    expr = body.removeprefix("CHECK")
    parsed = sqlglot.parse_one(f"SELECT 1 WHERE {expr}", read="postgres")
    expected = sqlglot.parse_one(
        "SELECT 1 WHERE (a >= 0 AND a <= 10 AND a <> 5 AND b || 'x' <> 'yx')", read="postgres"
    )
    assert parsed == expected


def test_multi_action_alter() -> None:
    fact = rt.alter_table(
        tokenize(
            "ALTER TABLE s.t ADD COLUMN a int DEFAULT 1, ALTER COLUMN b SET NOT NULL, "
            "ADD CONSTRAINT c CHECK (f(x, y) > 0) NOT VALID, DROP COLUMN d, VALIDATE CONSTRAINT e"
        )
    )
    assert fact is not None
    assert [type(a).__name__ for a in fact.actions] == [
        "AddColumn",
        "SetNotNull",
        "AddConstraint",
        "DropColumn",
        "ValidateConstraint",
    ]


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


def test_index_columns_and_options_of_constraints() -> None:
    unique = _one_action('ALTER TABLE t ADD CONSTRAINT k UNIQUE (a, "B")')
    assert isinstance(unique, AddConstraint)
    assert unique.constraint.columns_sql == 'a, "B"' and not unique.constraint.index_options
    for sql in (
        "ALTER TABLE t ADD CONSTRAINT k UNIQUE NULLS NOT DISTINCT (a)",
        "ALTER TABLE t ADD CONSTRAINT k UNIQUE (a) INCLUDE (b)",
        "ALTER TABLE t ADD CONSTRAINT k PRIMARY KEY (a) WITH (fillfactor = 70)",
        "ALTER TABLE t ADD CONSTRAINT k UNIQUE (a) DEFERRABLE INITIALLY DEFERRED",
    ):
        action = _one_action(sql)
        assert isinstance(action, AddConstraint) and action.constraint.index_options, sql
    fk = _one_action(
        "ALTER TABLE t ADD CONSTRAINT k FOREIGN KEY (a, b) REFERENCES u (x, y) ON DELETE CASCADE"
    )
    assert isinstance(fk, AddConstraint)
    assert fk.constraint.columns_sql == "a, b" and not fk.constraint.index_options


def test_column_clauses_no_field_records() -> None:
    action = _one_action('ALTER TABLE t ADD COLUMN a text COLLATE "C" NOT NULL DEFAULT now()')
    assert isinstance(action, AddColumn)
    assert action.column.clauses == ('COLLATE "C"',) and action.column.not_null
    bare = _one_action("ALTER TABLE t ADD COLUMN a text DEFAULT now()")
    assert isinstance(bare, AddColumn) and bare.column.clauses == ()


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


def test_truncate_and_maintenance() -> None:
    tr = rt.truncate(tokenize("TRUNCATE TABLE ONLY a, s.b * RESTART IDENTITY CASCADE"))
    assert tr is not None and [n.key for n in tr.tables] == ["a", "b"] and tr.cascade
    cases = {
        "REINDEX (VERBOSE) INDEX CONCURRENTLY i": ("reindex", "i", "index", True, False),
        "REINDEX TABLE t": ("reindex", "t", "table", False, False),
        "VACUUM FULL t": ("vacuum", "t", "", False, True),
        "VACUUM (FULL, ANALYZE) t": ("vacuum", "t", "", False, True),
        "VACUUM (FULL false) t": ("vacuum", "t", "", False, False),
        "CLUSTER t USING i": ("cluster", "t", "", False, False),
        "LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE": ("lock", "t", "share row exclusive", False, False),
        "LOCK t": ("lock", "t", "access exclusive", False, False),
        "REFRESH MATERIALIZED VIEW CONCURRENTLY mv": ("refresh", "mv", "materialized view", True, False),
        "ANALYZE t": ("analyze", "t", "", False, False),
    }
    for sql, (verb, target, kind, concurrently, full) in cases.items():
        m = rt.maintenance(tokenize(sql))
        assert m is not None, sql
        assert (m.verb, m.target.key if m.target else None, m.target_kind, m.concurrently, m.full) == (
            verb,
            target,
            kind,
            concurrently,
            full,
        ), sql
    assert rt.maintenance(tokenize("SELECT 1")) is None


def test_code_setting_transaction() -> None:
    do = rt.code(tokenize("DO LANGUAGE plpgsql $body$ BEGIN PERFORM 1; END $body$"))
    assert do is not None and do.body == " BEGIN PERFORM 1; END " and do.language == "plpgsql"
    assert rt.code(tokenize("DO 'select 1' LANGUAGE sql")) == type(do)("select 1", "sql")
    assert rt.setting(tokenize("SET lock_timeout = '5s'")) == rt.Setting("lock_timeout", "5s")
    assert rt.setting(tokenize("SET LOCAL statement_timeout TO 0")) == rt.Setting(
        "statement_timeout", "0", True
    )
    assert rt.setting(tokenize("SET search_path TO app, public")) == rt.Setting("search_path", "app, public")
    assert rt.setting(tokenize("SET SESSION TIME ZONE 'UTC'")) == rt.Setting("timezone", "UTC")
    assert rt.setting(tokenize("RESET ALL")) == rt.Setting("all", reset=True)
    assert rt.setting(tokenize("RESET lock_timeout")) == rt.Setting("lock_timeout", reset=True)
    expected = {
        "BEGIN": ("begin", False),
        "START TRANSACTION ISOLATION LEVEL SERIALIZABLE": ("begin", False),
        "COMMIT AND CHAIN": ("commit", True),
        "END": ("commit", False),
        "ROLLBACK TO SAVEPOINT a": ("rollback to", False),
        "RELEASE a": ("release", False),
        "SAVEPOINT a": ("savepoint", False),
        "PREPARE TRANSACTION 'x'": ("prepare", False),
    }
    for sql, (action, chain) in expected.items():
        tx = rt.transaction(read_tx_control(split_statements(sql)[0][0]))
        assert tx is not None and (tx.action, tx.chain) == (action, chain), sql
    assert rt.transaction(read_tx_control(split_statements("SELECT 1")[0][0])) is None


def test_transaction_modes_savepoint_and_keyword() -> None:
    def read(sql: str) -> rt.Transaction | None:
        return rt.transaction(read_tx_control(split_statements(sql)[0][0]))

    begin = read("start transaction isolation level serializable")
    assert begin is not None and begin.modes == ("ISOLATION", "LEVEL", "SERIALIZABLE")
    assert begin.keyword == "START TRANSACTION"
    end = read("/* x */ End -- y\n")
    assert end is not None and end.keyword == "END" and end.modes == ()
    release = read('RELEASE SAVEPOINT "My Point"')
    assert release is not None and release.savepoint == "My Point"
    back = read("ROLLBACK TO Sp1")
    assert back is not None and back.savepoint == "sp1" and back.keyword == "ROLLBACK"


_READERS = {
    "ALTER": (rt.alter_table, rt.rename, rt.alter_enum, rt.alter_other),
    "CREATE": (rt.create_table, rt.create_index, rt.create_object),
    "DROP": (rt.drop,),
}


@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus not present")
def test_every_corpus_ddl_statement_reads() -> None:
    alter_tables = 0
    for path in sorted(Path(CORPUS).rglob("*.sql")):
        for stmt in split_statements(path.read_text(encoding="utf-8", errors="replace"))[0]:
            readers = _READERS.get(stmt.head)
            if readers is None or len(stmt.text) > 200_000:
                continue
            tokens = stmt.tokens
            found = [reader(tokens) for reader in readers]
            words = stmt.words
            if words[:2] == ("ALTER", "TABLE") and words[2:5] != ("ALL", "IN", "TABLESPACE"):
                alter_tables += 1
                assert found[0] is not None, (path, stmt.line)
            elif stmt.head in ("CREATE", "DROP"):
                assert any(f is not None for f in found), (path, stmt.line, stmt.text[:80])
    assert alter_tables > 1000


def test_more_operators_stay_whole() -> None:
    from guard.sql.read_text_common import sql_of

    sql = "a <<= b AND f(x => 1) AND c ->> 'k' <> 'v' AND d >= -1 AND e @> '{}' AND g !~* 'x'"
    out = sql_of(tokenize(sql))
    assert out == "a <<= b AND f(x => 1) AND c ->> 'k' <> 'v' AND d >= - 1 AND e @> '{}' AND g !~* 'x'"
    assert sql_of(tokenize("a = -1")) == "a = - 1"  # `=-` is no operator: never glued


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


_ALL_READERS = (
    rt.alter_table,
    rt.create_table,
    rt.create_index,
    rt.create_object,
    rt.drop,
    rt.rename,
    rt.alter_enum,
    rt.alter_other,
    rt.truncate,
    rt.maintenance,
    rt.code,
    rt.setting,
)


def test_readers_never_raise_on_truncated_statements() -> None:
    statements = [
        "ALTER TABLE IF EXISTS ONLY s.t * ADD COLUMN IF NOT EXISTS a int NOT NULL DEFAULT f(1), "
        "ADD CONSTRAINT c CHECK ((a IS NOT NULL)) NOT VALID, ALTER COLUMN b SET DATA TYPE text USING b::text, "
        "RENAME CONSTRAINT x TO y, DETACH PARTITION p CONCURRENTLY, ADD UNIQUE USING INDEX i",
        'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON ONLY "T" USING gin (lower(a)) WHERE b >= 1',
        "CREATE TABLE IF NOT EXISTS t (a int PRIMARY KEY, CONSTRAINT c FOREIGN KEY (a) REFERENCES u (id))",
        "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
        "DROP TRIGGER IF EXISTS tr ON s.t CASCADE",
        "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'x' BEFORE 'y'",
        "ALTER TYPE mood RENAME VALUE 'a' TO 'b'",
        "ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0) NOT VALID",
        "REINDEX (VERBOSE) TABLE CONCURRENTLY t",
        "LOCK TABLE ONLY t IN ACCESS EXCLUSIVE MODE NOWAIT",
        "SET LOCAL lock_timeout TO '1s'",
        "ROLLBACK TO SAVEPOINT a",
    ]
    for sql in statements:
        tokens = tokenize(sql)
        for n in range(len(tokens) + 1):
            for reader in _ALL_READERS:
                reader(tokens[:n])


def test_statement_model_sits_below_the_linter() -> None:
    import ast

    sql_dir = Path(rt.__file__).parent
    for path in sql_dir.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("guard.lint"), path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("guard.lint") for a in node.names), path


def test_calls_are_the_names_before_a_parenthesis() -> None:
    assert rt.calls(tokenize('SELECT public.purge(1), "Mixed"(2), x FROM f(3) WHERE y IN (1)')) == {
        "purge",
        "Mixed",
        "f",
    }
    assert rt.calls(tokenize("SELECT 'purge()' AS s")) == frozenset()


def test_select_and_call_facts_carry_their_calls() -> None:
    select, call, comment = (
        s.fact for s in split_statements("SELECT purge(); CALL wipe('x'); COMMENT ON TABLE t IS 'f()';")[0]
    )
    assert select == Harmless("select", frozenset({"purge"}))
    assert call == Harmless("call", frozenset({"wipe"}))
    assert comment == Harmless("comment")


@pytest.mark.parametrize(
    ("sql", "calls"),
    [
        ("SELECT 1", False),
        ("SELECT 'Could not auto-generate a down migration.'", False),
        ("SELECT 1 WHERE false AND x IN (1, 2)", False),
        ("SELECT a FROM t WHERE EXISTS (SELECT 1)", False),
        ("SELECT pg_advisory_lock(1)", True),
        ('SELECT "Drop"(1)', True),
        ("SELECT app.migrate ()", True),
    ],
)
def test_calls_function(sql: str, calls: bool) -> None:
    assert bool(rt.calls(tokenize(sql))) is calls


def test_relations_read() -> None:
    users, orders = rt.Name("users", "app.Users", "app"), rt.Name("orders", "orders")
    assert rt.relations_read(tokenize("SELECT 1 FROM app.Users u JOIN orders o ON true")) == (users, orders)
    assert rt.relations_read(tokenize("SELECT 1 FROM ONLY orders")) == (orders,)
    assert rt.relations_read(tokenize("SELECT 'from', 1")) == ()
