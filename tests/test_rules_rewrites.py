"""Rewrite rules: volatile defaults (11 cut-off), type changes (binary-compatible list), VACUUM FULL,
CLUSTER, SET TABLESPACE, SET LOGGED/UNLOGGED."""

from __future__ import annotations

import pytest
import sqlglot
from rules_helpers import fired, lint_sql

from guard.lint.facts.column_types import BREAKING, FREE, REWRITE, breaks_readers, type_change_kind
from guard.sql.types import TypeSpec

VOL = "avoid-volatile-default"


@pytest.mark.parametrize(
    ("sql", "version", "expected"),
    [
        ("ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();", 15, True),
        ("ALTER TABLE users ADD COLUMN seen timestamptz DEFAULT clock_timestamp();", 15, True),
        ("ALTER TABLE users ADD COLUMN r float8 DEFAULT random();", 15, True),
        ("ALTER TABLE users ADD COLUMN n bigint DEFAULT nextval('users_n_seq');", 15, True),
        ("ALTER TABLE users ADD COLUMN u uuid DEFAULT uuid_generate_v4();", 15, True),
        ("ALTER TABLE users ADD COLUMN n bigserial;", 15, True),
        ("ALTER TABLE users ADD COLUMN n serial NOT NULL;", 15, True),
        ("ALTER TABLE users ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;", 15, True),
        ("ALTER TABLE users ADD COLUMN d int GENERATED ALWAYS AS (a * 2) STORED;", 15, True),
        # unknown function: cannot prove it is not volatile, fail closed
        ("ALTER TABLE users ADD COLUMN z int DEFAULT my_counter();", 15, True),
        # constants and STABLE functions are catalog-only from Postgres 11
        ("ALTER TABLE users ADD COLUMN created timestamptz DEFAULT now();", 15, False),
        ("ALTER TABLE users ADD COLUMN created timestamptz DEFAULT CURRENT_TIMESTAMP;", 15, False),
        ("ALTER TABLE users ADD COLUMN plan text DEFAULT 'free' NOT NULL;", 15, False),
        ("ALTER TABLE users ADD COLUMN meta jsonb DEFAULT '{}'::jsonb;", 15, False),
        ("ALTER TABLE users ADD COLUMN amount numeric(10,2) DEFAULT 0::numeric(10,2);", 15, False),
        ("ALTER TABLE users ADD COLUMN flag boolean DEFAULT NULL;", 10, False),
        # before 11 every non-null default rewrites
        ("ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';", 10, True),
        ("ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';", 11, False),
        ("ALTER TABLE users ADD COLUMN created timestamptz DEFAULT now();", 10, True),
        # setting a default changes only new rows
        ("ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();", 15, False),
        (
            "CREATE TABLE users (id bigint);\nALTER TABLE users ADD COLUMN t uuid DEFAULT gen_random_uuid();",
            15,
            False,
        ),
    ],
)
def test_avoid_volatile_default(sql: str, version: int, expected: bool) -> None:
    assert (VOL in fired(sql, pg_version=version)) is expected


def test_volatile_default_fix_splits_default_from_column() -> None:
    [f] = [
        f
        for f in lint_sql("ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();")
        if f.rule == VOL
    ]
    assert "ACCESS EXCLUSIVE (blocks reads and writes)" in f.message and "gen_random_uuid" in f.message
    assert _statements(f.fix) == _statements(
        "ALTER TABLE users ADD COLUMN token uuid;\n"
        "ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();"
    )


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("ALTER TABLE users ADD COLUMN n bigserial;", "ALTER TABLE users ADD COLUMN n bigint;"),
        ("ALTER TABLE users ADD COLUMN n serial2;", "ALTER TABLE users ADD COLUMN n smallint;"),
        (
            'ALTER TABLE app."Users" ADD COLUMN "Seen" timestamptz DEFAULT clock_timestamp();',
            'ALTER TABLE app."Users" ADD COLUMN "Seen" timestamptz;\n'
            'ALTER TABLE app."Users" ALTER COLUMN "Seen" SET DEFAULT clock_timestamp();',
        ),
    ],
)
def test_volatile_default_fix_is_sql_for_the_same_column(sql: str, expected: str) -> None:
    [f] = [f for f in lint_sql(sql) if f.rule == VOL]
    assert _statements(f.fix) == _statements(expected)


def _statements(sql: str) -> list[str]:
    """The statements of `sql` as sqlglot generates them, comment lines dropped; raises if `sql`
    (comments included) does not parse."""
    sqlglot.parse(sql, read="postgres")
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [e.sql("postgres") for e in sqlglot.parse(code, read="postgres") if e is not None]


TYPE = "avoid-type-change-rewrite"
READERS = "avoid-column-type-change"

#: old type, new type, what the change does (`type_change_kind`).
CHANGES = [
    ("varchar(20)", "varchar(40)", FREE),
    ("varchar(20)", "varchar", FREE),
    ("character varying(20)", "text", FREE),
    ("text", "varchar", FREE),
    ("numeric(10,2)", "numeric(12,2)", FREE),
    ("numeric(10,2)", "numeric", FREE),
    ("varbit(4)", "varbit(8)", FREE),
    ("cidr", "inet", FREE),
    ("bigserial", "int8", FREE),
    ("integer", "bigint", REWRITE),
    ("int2", "int4", REWRITE),
    ("smallint", "bigint", REWRITE),
    ("serial", "int8", REWRITE),
    ("real", "float8", REWRITE),
    ("integer[]", "bigint[]", REWRITE),
    ("numeric(10,2)", "numeric(12,4)", REWRITE),
    ("numeric(10,2)", "numeric(11,4)", BREAKING),  # 8 digits before the point become 7
    ("varchar(40)", "varchar(20)", BREAKING),
    ("text", "varchar(20)", BREAKING),
    ("numeric", "numeric(10,2)", BREAKING),
    ("bigint", "integer", BREAKING),
    ("integer", "numeric", BREAKING),
    ("integer[]", "bigint", BREAKING),
    ("int", "text", BREAKING),
    ("timestamp", "timestamptz", BREAKING),
    ("char(2)", "text", BREAKING),
    ("json", "jsonb", BREAKING),
]


@pytest.mark.parametrize(("old", "new", "kind"), CHANGES)
def test_type_change_kind(old: str, new: str, kind: str) -> None:
    from guard.parsing import split_statements
    from guard.sql import facts as f

    [stmt] = split_statements(f"ALTER TABLE t ALTER COLUMN c TYPE {new};")[0]
    [create] = split_statements(f"CREATE TABLE t (c {old});")[0]
    assert isinstance(stmt.fact, f.AlterTable) and isinstance(create.fact, f.CreateTable)
    [action] = stmt.fact.actions
    assert isinstance(action, f.AlterColumnType)
    old_spec = create.fact.columns[0].type
    assert type_change_kind(old_spec, action.type, False) == kind
    assert breaks_readers(old_spec, action.type, False) is (kind == BREAKING)
    # A USING clause or an unknown current type may always break readers.
    assert type_change_kind(old_spec, action.type, True) == BREAKING
    assert type_change_kind(None, action.type, False) == BREAKING


def test_unreadable_new_type_breaks_readers() -> None:
    assert type_change_kind(TypeSpec("integer"), None, False) == BREAKING


@pytest.mark.parametrize(("old", "new", "kind"), CHANGES)
def test_type_change_against_earlier_declaration(old: str, new: str, kind: str) -> None:
    """Only a widening that rewrites is this rule's: a change readers may not expect is
    `avoid-column-type-change`'s alone (issue 13: one finding per problem)."""
    earlier = (f"CREATE TABLE t (id bigint, c {old});",)
    found = {f.rule for f in lint_sql(f"ALTER TABLE t ALTER COLUMN c TYPE {new};", earlier=earlier)}
    assert (TYPE in found) is (kind == REWRITE)
    if kind == BREAKING:
        assert READERS in found


@pytest.mark.parametrize(("old", "new", "kind"), CHANGES)
def test_a_type_change_is_reported_once(old: str, new: str, kind: str) -> None:
    earlier = (f"CREATE TABLE t (id bigint, c {old});",)
    found = {f.rule for f in lint_sql(f"ALTER TABLE t ALTER COLUMN c TYPE {new};", earlier=earlier)}
    assert len(found & {TYPE, READERS}) == (kind != FREE)
    assert kind != REWRITE or found & {TYPE, READERS} == {TYPE}


CONTRACT_EARLIER = ("CREATE TABLE t (id bigint, c varchar(40), n integer);",)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("ALTER TABLE t ALTER COLUMN c TYPE varchar(20);", True),
        ("ALTER TABLE t ALTER COLUMN c TYPE integer USING c::integer;", True),
        ("ALTER TABLE t ALTER COLUMN zz TYPE text;", True),
        ("ALTER TABLE t ALTER COLUMN n TYPE bigint;", True),
        ("ALTER TABLE t ALTER COLUMN c TYPE text;", False),
    ],
)
def test_in_a_contract_step_every_rewriting_type_change_is_this_rules(change: str, expected: bool) -> None:
    """`avoid-column-type-change` is silent in a contract step, but the table is still rewritten."""
    sql = f"-- guard: contract 20230101000000\n{change}"
    found = {f.rule for f in lint_sql(sql, earlier=CONTRACT_EARLIER)}
    assert READERS not in found
    assert (TYPE in found) is expected


@pytest.mark.parametrize(
    ("sql", "earlier", "expected"),
    [
        # ADD COLUMN in an earlier migration declares the type too
        (
            "ALTER TABLE t ALTER COLUMN c SET DATA TYPE text;",
            ("ALTER TABLE t ADD COLUMN c varchar(10);",),
            False,
        ),
        (
            "ALTER TABLE t ALTER COLUMN c SET DATA TYPE bigint;",
            ("ALTER TABLE t ADD COLUMN c integer;",),
            True,
        ),
        # a later change in between is followed
        (
            "ALTER TABLE t ALTER COLUMN c TYPE bigint;",
            ("CREATE TABLE t (c smallint);", "ALTER TABLE t ALTER COLUMN c TYPE bigint;"),
            False,
        ),
        (
            "ALTER TABLE t ALTER COLUMN c TYPE bigint;",
            ("CREATE TABLE t (c smallint);", "ALTER TABLE t ALTER COLUMN c TYPE integer;"),
            True,
        ),
        # earlier statements of the same file count
        ("ALTER TABLE t ADD COLUMN c integer;\nALTER TABLE t ALTER COLUMN c TYPE bigint;", (), True),
        # a table created in this file is empty
        ("CREATE TABLE t (c int);\nALTER TABLE t ALTER COLUMN c TYPE bigint;", (), False),
    ],
)
def test_type_change_edge_cases(sql: str, earlier: tuple[str, ...], expected: bool) -> None:
    assert (TYPE in fired(sql, earlier=earlier)) is expected


def test_type_change_message_and_expand_contract_fix() -> None:
    found = lint_sql(
        'ALTER TABLE app."Orders" ALTER COLUMN "Qty" TYPE bigint;',
        earlier=('CREATE TABLE app."Orders" ("Qty" integer);',),
    )
    [f] = [f for f in found if f.rule == TYPE]
    assert "integer to bigint" in f.message and "ACCESS EXCLUSIVE" in f.message
    assert _statements(f.fix) == _statements(
        'ALTER TABLE app."Orders" ADD COLUMN "Qty_new" bigint;\nALTER TABLE app."Orders" DROP COLUMN "Qty";'
    )
    assert "guard: contract" in f.fix
    # The fix must not trade this finding for another: no RENAME COLUMN (avoid-rename-column).
    assert "RENAME" not in f.fix.upper()


@pytest.mark.parametrize(
    ("sql", "rule", "expected"),
    [
        ("VACUUM FULL events;", "avoid-vacuum-full", True),
        ("VACUUM (FULL, ANALYZE) events;", "avoid-vacuum-full", True),
        ("VACUUM FULL;", "avoid-vacuum-full", True),
        ("VACUUM ANALYZE events;", "avoid-vacuum-full", False),
        ("CREATE TABLE events (id bigint);\nVACUUM FULL events;", "avoid-vacuum-full", False),
        ("CLUSTER events USING events_pkey;", "avoid-cluster", True),
        ("CLUSTER;", "avoid-cluster", True),
        ("ALTER TABLE events CLUSTER ON events_pkey;", "avoid-cluster", False),
        ("ALTER TABLE events SET TABLESPACE fast;", "avoid-set-tablespace", True),
        ("ALTER INDEX events_pkey SET TABLESPACE fast;", "avoid-set-tablespace", True),
        ("ALTER MATERIALIZED VIEW daily SET TABLESPACE fast;", "avoid-set-tablespace", True),
        (
            "CREATE INDEX e_idx ON e (id);\nALTER INDEX e_idx SET TABLESPACE fast;",
            "avoid-set-tablespace",
            False,
        ),
        ("ALTER INDEX events_pkey RENAME TO events_key;", "avoid-set-tablespace", False),
        ("VACUUM (FULL false) events;", "avoid-vacuum-full", False),
        ("VACUUM FULL VERBOSE public.events;", "avoid-vacuum-full", True),
        ("CREATE TABLE e (id int);\nCLUSTER e;", "avoid-cluster", False),
        ("ALTER TABLE events ADD COLUMN note text, SET LOGGED;", "avoid-set-logged", True),
        ("CREATE TABLE e (id int);\nALTER TABLE e SET TABLESPACE fast;", "avoid-set-tablespace", False),
        ("ALTER TABLE events SET (fillfactor = 70);", "avoid-set-tablespace", False),
        ("ALTER TABLE events SET LOGGED;", "avoid-set-logged", True),
        ("ALTER TABLE events SET UNLOGGED;", "avoid-set-logged", True),
        ("CREATE UNLOGGED TABLE e (id int);\nALTER TABLE e SET LOGGED;", "avoid-set-logged", False),
    ],
)
def test_rewrite_statements(sql: str, rule: str, expected: bool) -> None:
    assert (rule in fired(sql)) is expected
