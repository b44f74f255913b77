"""The token reader (`guard.sql.read_text`) fills the statement model for ALTER TABLE: each action,
the head's forms, added columns and constraints with their details, several actions in one statement."""

from __future__ import annotations

import pytest
import sqlglot

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
