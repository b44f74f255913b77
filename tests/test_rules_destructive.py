"""Destructive-change rules: the spellings people really write, new objects, the contract directive."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.config import Settings
from guard.lint.engine import lint_migration
from guard.model import Finding, Migration

HISTORY = """
CREATE TABLE users (id bigint PRIMARY KEY, name varchar(20), email varchar(100), score integer,
                    price numeric(10, 2), bio text, net cidr);
"""


def migration(
    sql: str, version: str = "20240105000000", down: str | None = "SELECT pg_sleep(0)"
) -> Migration:
    return Migration(
        version=version,
        name="change",
        layout="hasura",
        up_path=Path(f"migrations/{version}_change/up.sql"),
        up_sql=sql,
        down_path=Path(f"migrations/{version}_change/down.sql"),
        down_sql=down if down is not None else "DROP TABLE IF EXISTS nothing;",
    )


BASE = migration(HISTORY, version="20240101000000")
EXPAND = migration("ALTER TABLE users ADD COLUMN email_address text;", version="20240102000000")


def lint(sql: str, version: str = "20240105000000") -> list[Finding]:
    m = migration(sql, version)
    return [f for f in lint_migration(m, Settings(), [BASE, EXPAND, m]) if f.rule != "unanalysed-statement"]


def fired(sql: str) -> list[str]:
    """Ids of destructive-family rules fired (other families judge locks and rewrites)."""
    from guard.lint.registry import all_rules

    return sorted({f.rule for f in lint(sql) if all_rules()[f.rule].family == "destructive"})


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("DROP TABLE users;", "avoid-drop-table"),
        ("drop table if exists public.users cascade;", "avoid-drop-table"),
        ('DROP TABLE "Users";', "avoid-drop-table"),
        ("DROP TABLE a, b.c;", "avoid-drop-table"),
        ("DROP SCHEMA billing CASCADE;", "avoid-drop-schema"),
        ("DROP DATABASE analytics;", "avoid-drop-database"),
        ("DROP TYPE IF EXISTS mood;", "avoid-drop-type"),
        ("DROP DOMAIN email_address;", "avoid-drop-type"),
        ("DROP VIEW active_users;", "avoid-drop-view"),
        ("DROP MATERIALIZED VIEW IF EXISTS daily_totals;", "avoid-drop-view"),
        ("DROP FUNCTION f(arg integer, b text);", "avoid-drop-function"),
        ("DROP FUNCTION IF EXISTS public.f;", "avoid-drop-function"),
        ("DROP PROCEDURE p();", "avoid-drop-function"),
        ("DROP SEQUENCE s;", "avoid-drop-sequence"),
        ("ALTER TABLE users DROP COLUMN bio;", "avoid-drop-column"),
        ("alter table only public.users drop if exists bio cascade;", "avoid-drop-column"),
        ("ALTER TABLE users DROP bio;", "avoid-drop-column"),
        ('ALTER TABLE "users" DROP COLUMN "Bio";', "avoid-drop-column"),
        ("ALTER TABLE users ADD COLUMN x text, DROP COLUMN bio;", "avoid-drop-column"),
        ("ALTER TABLE users RENAME COLUMN bio TO about;", "avoid-rename-column"),
        ("ALTER TABLE users RENAME bio TO about;", "avoid-rename-column"),
        ("ALTER TABLE IF EXISTS ONLY users RENAME COLUMN bio TO about;", "avoid-rename-column"),
        ("ALTER TABLE users RENAME TO people;", "avoid-rename-table"),
        ("ALTER TABLE public.users SET SCHEMA archive;", "avoid-rename-table"),
        ("ALTER SCHEMA billing RENAME TO payments;", "avoid-rename-schema"),
        ("ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';", "avoid-rename-enum-value"),
        ("ALTER TABLE users ALTER COLUMN score TYPE text;", "avoid-column-type-change"),
        ("ALTER TABLE users ALTER score SET DATA TYPE text USING score::text;", "avoid-column-type-change"),
        ("ALTER TABLE users ALTER COLUMN name TYPE varchar(10);", "avoid-column-type-change"),
        ("ALTER TABLE users ALTER COLUMN unknown_col TYPE text;", "avoid-column-type-change"),
        ("ALTER TABLE users ADD COLUMN x text, ALTER COLUMN score TYPE text;", "avoid-column-type-change"),
        ("TRUNCATE users;", "avoid-truncate"),
        ("truncate table only a, b restart identity cascade;", "avoid-truncate"),
        ("DELETE FROM users;", "require-where-clause"),
        ("UPDATE users SET bio = '';", "require-where-clause"),
        ("UPDATE users SET bio = (SELECT x FROM y WHERE z);", "require-where-clause"),
        ("WITH x AS (SELECT 1) DELETE FROM users;", "require-where-clause"),
        ("DO $$ BEGIN EXECUTE 'DROP TABLE foo'; END $$;", "avoid-destructive-dynamic-sql"),
        (
            "DO $body$ BEGIN EXECUTE format('ALTER TABLE %I RENAME COLUMN a TO b', t); END $body$;",
            "avoid-destructive-dynamic-sql",
        ),
        ("DO $$ BEGIN IF true THEN ALTER TABLE x DROP y; END IF; END $$;", "avoid-destructive-dynamic-sql"),
        ("DO 'BEGIN EXECUTE ''TRUNCATE x''; END';", "avoid-destructive-dynamic-sql"),
        (
            "DO LANGUAGE plpgsql $$ BEGIN EXECUTE 'ALTER TABLE t ' || 'DROP COLUMN c'; END $$;",
            "avoid-destructive-dynamic-sql",
        ),
    ],
)
def test_destructive_spellings_fire(sql: str, rule: str) -> None:
    assert fired(sql) == [rule]


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE users DROP CONSTRAINT users_pkey;",
        "ALTER TABLE users ALTER COLUMN bio DROP DEFAULT;",
        "ALTER TABLE users ALTER COLUMN bio DROP NOT NULL;",
        "ALTER TABLE users RENAME CONSTRAINT a TO b;",
        "ALTER TABLE users ADD COLUMN about text;",
        # binary-compatible widenings (old types come from the earlier migration)
        "ALTER TABLE users ALTER COLUMN name TYPE varchar(50);",
        "ALTER TABLE users ALTER COLUMN name TYPE text;",
        "ALTER TABLE users ALTER COLUMN email SET DATA TYPE character varying;",
        "ALTER TABLE users ALTER COLUMN price TYPE numeric(12, 2);",
        "ALTER TABLE users ALTER COLUMN net TYPE inet;",
        "DELETE FROM users WHERE id = 1;",
        "UPDATE users SET bio = '' WHERE id IN (SELECT id FROM users LIMIT 10);",
        "DO $$ BEGIN CREATE TYPE mood AS ENUM ('a'); EXCEPTION WHEN duplicate_object THEN null; END $$;",
        "DO $$ BEGIN ALTER TABLE x DROP CONSTRAINT c; END $$;",
        "ALTER TYPE mood ADD VALUE 'c' AFTER 'b';",
        "COMMENT ON COLUMN users.bio IS 'DROP TABLE users';",
        "SELECT 'DROP TABLE users';",
    ],
)
def test_safe_statements_do_not_fire(sql: str) -> None:
    assert fired(sql) == []


def test_widening_with_using_still_fires() -> None:
    assert fired("ALTER TABLE users ALTER COLUMN name TYPE text USING upper(name);") == [
        "avoid-column-type-change"
    ]


def test_type_history_follows_earlier_statements_of_the_same_file() -> None:
    sql = (
        "ALTER TABLE users ALTER COLUMN name TYPE text;\nALTER TABLE users ALTER COLUMN name TYPE varchar(5);"
    )
    found = [f for f in lint(sql) if f.rule == "avoid-column-type-change"]
    assert [(f.line, "from text" in f.message) for f in found] == [(2, True)]


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t (id bigint, old text);\nALTER TABLE t DROP COLUMN old;",
        "CREATE TABLE t (id bigint, old text);\nALTER TABLE t RENAME COLUMN old TO new;",
        "CREATE TABLE t (id bigint, n integer);\nALTER TABLE t ALTER COLUMN n TYPE bigint;",
        "CREATE TABLE t (id bigint);\nDROP TABLE t;",
        "CREATE TABLE t (id bigint);\nTRUNCATE t;",
        "CREATE TABLE t (id bigint);\nDELETE FROM t;",
        "CREATE TYPE mood AS ENUM ('a');\nDROP TYPE mood;",
        "CREATE VIEW v AS SELECT 1;\nDROP VIEW v;",
        "CREATE SCHEMA s;\nALTER SCHEMA s RENAME TO t;",
        "CREATE SCHEMA s;\nDROP SCHEMA s;",
        "CREATE SEQUENCE s;\nDROP SEQUENCE s;",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\nDROP FUNCTION f();",
        "CREATE TABLE t (id bigint);\nALTER TABLE t RENAME TO u;",
    ],
)
def test_objects_created_earlier_in_the_file_are_fair_game(sql: str) -> None:
    assert fired(sql) == []


def test_names_and_fix_use_the_statement_own_names() -> None:
    (f,) = lint('ALTER TABLE public."Users" RENAME COLUMN "eMail" TO email_address;')
    assert f.rule == "avoid-rename-column"
    assert 'public."Users"."eMail"' in f.message
    # the column's type is unknown (no earlier migration declares it): the step says so in words
    assert 'add column email_address to public."Users" with the type of "eMail"' in f.fix
    assert 'DROP COLUMN "eMail"' in f.fix
    (g,) = lint("ALTER TABLE users DROP COLUMN bio;")
    assert "ALTER TABLE users DROP COLUMN bio;" in g.fix and "users.bio" in g.fix


def test_multi_action_alter_reports_each_rule_at_the_statement_line() -> None:
    sql = "SELECT 1;\nALTER TABLE users\n  DROP COLUMN bio,\n  RENAME TO people;"
    found = {(f.rule, f.line, f.end_line) for f in lint(sql) if f.rule.startswith("avoid-")}
    assert found == {("avoid-drop-column", 2, 4), ("avoid-rename-table", 2, 4)}


def test_command_fallback_alter_table_is_still_judged() -> None:
    # sqlglot parses neither of these into a structured tree.
    assert fired("ALTER TABLE users SET SCHEMA archive;") == ["avoid-rename-table"]
    assert fired("ALTER TABLE users RENAME bio TO about;") == ["avoid-rename-column"]


# --- the contract directive ---------------------------------------------------------------------------


def test_contract_naming_an_earlier_migration_accepts_destructive_changes() -> None:
    sql = (
        "-- guard: contract 20240102000000\n"
        "ALTER TABLE users DROP COLUMN email;\n"
        "ALTER TABLE users RENAME COLUMN bio TO about;\n"
        "DROP TABLE old_stuff;\n"
        "DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$;\n"
    )
    assert lint(sql) == []


def test_contract_does_not_excuse_unbounded_writes() -> None:
    sql = "-- guard: contract 20240102000000\nDELETE FROM users;\nTRUNCATE users;"
    assert fired(sql) == ["avoid-truncate", "require-where-clause"]


def test_contract_naming_an_unknown_version_is_an_error() -> None:
    sql = "SELECT 1;\n-- guard: contract 20240103000000\nALTER TABLE users DROP COLUMN email;"
    found = {(f.rule, f.line) for f in lint(sql)}
    assert found == {("contract-needs-earlier-expand", 2), ("avoid-drop-column", 3)}
    (msg,) = [f.message for f in lint(sql) if f.rule == "contract-needs-earlier-expand"]
    assert "matches no migration" in msg


def test_contract_naming_a_later_version_is_an_error() -> None:
    sql = "-- guard: contract 20240109000000\nALTER TABLE users DROP COLUMN email;"
    found = [f for f in lint(sql) if f.rule == "contract-needs-earlier-expand"]
    assert len(found) == 1 and "not earlier than this migration" in found[0].message
    assert fired("-- guard: contract 20240105000000\nSELECT 1;") == ["contract-needs-earlier-expand"]


def test_malformed_contract_directive_is_invalid() -> None:
    found = {f.rule for f in lint("-- guard: contract soon\nALTER TABLE users DROP COLUMN email;")}
    assert {"invalid-directive", "avoid-drop-column"} <= found


def test_down_files_are_not_judged_by_destructive_rules() -> None:
    m = migration("ALTER TABLE users ADD COLUMN about text;", down="ALTER TABLE users DROP COLUMN about;")
    assert lint_migration(m, Settings(), [BASE, m]) == []


# --- renames of views, types and functions (squawk's renaming-object / ban-set-schema on the corpus) ---


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # hasura 1697106868052_rename_old_mv_with_new: the _new view's name disappears
        (
            "ALTER MATERIALIZED VIEW dashboard RENAME TO dashboard_old;\n"
            "ALTER MATERIALIZED VIEW dashboard_new RENAME TO dashboard;",
            ["avoid-rename-object"],
        ),
        ("ALTER VIEW active_users RENAME TO current_users;", ["avoid-rename-object"]),
        ("ALTER VIEW IF EXISTS public.active_users SET SCHEMA archive;", ["avoid-rename-object"]),
        ("ALTER TYPE mood RENAME TO feeling;", ["avoid-rename-object"]),
        ("ALTER DOMAIN email_address RENAME TO email;", ["avoid-rename-object"]),
        ("ALTER FUNCTION normalize_email(text) RENAME TO norm_email;", ["avoid-rename-object"]),
        # Prisma's enum swap (trigger.dev 20221227191746_...): the old name is taken again before commit,
        # and the _new type was created in this file
        (
            "CREATE TYPE \"Status_new\" AS ENUM ('A', 'B');\n"
            'ALTER TYPE "Status" RENAME TO "Status_old";\n'
            'ALTER TYPE "Status_new" RENAME TO "Status";',
            [],
        ),
        # a swap with a view created under the old name
        (
            "ALTER VIEW active_users RENAME TO active_users_v1;\nCREATE VIEW active_users AS SELECT 1 AS id;",
            [],
        ),
        # the name comes back only after the transaction ended: the release sees it missing
        (
            "BEGIN;\nALTER VIEW active_users RENAME TO active_users_v1;\nCOMMIT;\n"
            "CREATE VIEW active_users AS SELECT 1 AS id;",
            ["avoid-rename-object"],
        ),
        # index renames are invisible to clients (openmeter 20251027102800_improve-subject-indexes)
        ('ALTER INDEX "subject_ns_key" RENAME TO "subject_ns_key_unique";', []),
        # enum value renames stay with their own rule
        ("ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';", ["avoid-rename-enum-value"]),
    ],
)
def test_avoid_rename_object(sql: str, expected: list[str]) -> None:
    assert fired(sql) == expected


def test_avoid_rename_object_names_the_object_and_the_new_name() -> None:
    [finding] = [
        f
        for f in lint("ALTER MATERIALIZED VIEW daily RENAME TO daily_v1;")
        if f.rule == "avoid-rename-object"
    ]
    assert "renames materialized view daily to daily_v1" in finding.message
    assert "contract" in finding.fix


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # bionic-gpt 20260727094224_reveal-presentation-builder-skill: an upsert, not an unbounded UPDATE
        (
            "WITH s AS (SELECT id FROM users WHERE name = 'x')\n"
            "INSERT INTO skill_files (skill_id, path) SELECT s.id, 'a' FROM s\n"
            "ON CONFLICT (skill_id, path) DO UPDATE SET path = EXCLUDED.path;",
            [],
        ),
        ("INSERT INTO users (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET name = 'x';", []),
        (
            "WITH old AS (SELECT id FROM users WHERE score < 0) UPDATE users SET score = 0;",
            ["require-where-clause"],
        ),
        ("UPDATE users SET score = 0;", ["require-where-clause"]),
    ],
)
def test_require_where_clause_reads_the_top_level_verb(sql: str, expected: list[str]) -> None:
    assert fired(sql) == expected
