"""Rewrite rules: volatile defaults (11 cut-off), type changes (binary-compatible list), VACUUM FULL,
CLUSTER, SET TABLESPACE, SET LOGGED/UNLOGGED."""

from __future__ import annotations

import pytest
from rules_helpers import fired, lint_sql

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
    assert "ALTER TABLE users ADD COLUMN token uuid;" in f.fix
    assert "ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();" in f.fix


TYPE = "avoid-type-change-rewrite"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("varchar(20)", "varchar(40)", False),
        ("varchar(20)", "varchar", False),
        ("character varying(20)", "text", False),
        ("text", "varchar", False),
        ("numeric(10,2)", "numeric(12,2)", False),
        ("numeric(10,2)", "numeric", False),
        ("varbit(4)", "varbit(8)", False),
        ("cidr", "inet", False),
        ("varchar(40)", "varchar(20)", True),
        ("text", "varchar(20)", True),
        ("numeric(10,2)", "numeric(12,4)", True),
        ("numeric", "numeric(10,2)", True),
        ("integer", "bigint", True),
        ("int", "text", True),
        ("timestamp", "timestamptz", True),
        ("char(2)", "text", True),
    ],
)
def test_type_change_against_earlier_declaration(old: str, new: str, expected: bool) -> None:
    earlier = (f"CREATE TABLE t (id bigint, c {old});",)
    assert (TYPE in fired(f"ALTER TABLE t ALTER COLUMN c TYPE {new};", earlier=earlier)) is expected


@pytest.mark.parametrize(
    ("sql", "earlier", "expected"),
    [
        # the current type is unknown: cannot be proven safe
        ("ALTER TABLE t ALTER COLUMN c TYPE text;", (), True),
        # ADD COLUMN in an earlier migration declares the type too
        (
            "ALTER TABLE t ALTER COLUMN c SET DATA TYPE text;",
            ("ALTER TABLE t ADD COLUMN c varchar(10);",),
            False,
        ),
        # USING recomputes every value
        ("ALTER TABLE t ALTER COLUMN c TYPE text USING c::text;", ("CREATE TABLE t (c varchar(10));",), True),
        # a later change in between is followed
        (
            "ALTER TABLE t ALTER COLUMN c TYPE varchar(30);",
            ("CREATE TABLE t (c varchar(10));", "ALTER TABLE t ALTER COLUMN c TYPE varchar(20);"),
            False,
        ),
        ("CREATE TABLE t (c int);\nALTER TABLE t ALTER COLUMN c TYPE bigint;", (), False),
    ],
)
def test_type_change_edge_cases(sql: str, earlier: tuple[str, ...], expected: bool) -> None:
    assert (TYPE in fired(sql, earlier=earlier)) is expected


def test_type_change_message_names_old_and_new() -> None:
    found = lint_sql("ALTER TABLE t ALTER COLUMN c TYPE bigint;", earlier=("CREATE TABLE t (c integer);",))
    [f] = [f for f in found if f.rule == TYPE]
    assert "integer to bigint" in f.message and "ACCESS EXCLUSIVE" in f.message
    assert "ALTER TABLE t ADD COLUMN c_new bigint;" in f.fix


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
        ("CREATE TABLE e (id int);\nALTER TABLE e SET TABLESPACE fast;", "avoid-set-tablespace", False),
        ("ALTER TABLE events SET (fillfactor = 70);", "avoid-set-tablespace", False),
        ("ALTER TABLE events SET LOGGED;", "avoid-set-logged", True),
        ("ALTER TABLE events SET UNLOGGED;", "avoid-set-logged", True),
        ("CREATE UNLOGGED TABLE e (id int);\nALTER TABLE e SET LOGGED;", "avoid-set-logged", False),
    ],
)
def test_rewrite_statements(sql: str, rule: str, expected: bool) -> None:
    assert (rule in fired(sql)) is expected
