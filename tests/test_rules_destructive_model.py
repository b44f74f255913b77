"""Destructive rules on the statement model (issue 13): renames of every object kind the application
names, destructive DDL reached through functions and dynamic SQL, MERGE, and fixes that parse."""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp
from test_rules_destructive import fired, lint

# --- renames: sequences and every other kind the model's `Rename` reports ---------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER SEQUENCE order_seq RENAME TO order_number_seq;",
        "ALTER SEQUENCE IF EXISTS public.order_seq RENAME TO order_number_seq;",
        "ALTER SEQUENCE order_seq SET SCHEMA archive;",
        "ALTER FOREIGN TABLE remote_orders RENAME TO remote_purchases;",
        "ALTER FOREIGN TABLE IF EXISTS ONLY remote_orders RENAME TO remote_purchases;",
        "ALTER FOREIGN TABLE ONLY remote_orders RENAME COLUMN total TO amount;",
        "ALTER AGGREGATE total_of(integer) RENAME TO sum_of;",
        "ALTER VIEW active_users RENAME COLUMN email TO email_address;",
        "ALTER MATERIALIZED VIEW daily RENAME COLUMN total TO amount;",
        "ALTER TYPE address RENAME ATTRIBUTE zip TO postcode;",
        "ALTER PROCEDURE archive_orders() RENAME TO archive_purchases;",
    ],
)
def test_renames_of_objects_the_application_names_fire(sql: str) -> None:
    assert fired(sql) == ["avoid-rename-object"]


def test_sequence_rename_message_names_the_sequence() -> None:
    [f] = lint("ALTER SEQUENCE order_seq RENAME TO order_number_seq;")
    assert f.rule == "avoid-rename-object"
    assert "renames sequence order_seq to order_number_seq" in f.message


@pytest.mark.parametrize(
    "sql",
    [
        # created earlier in the same file: unseen by the running release
        "CREATE SEQUENCE order_seq;\nALTER SEQUENCE order_seq RENAME TO order_number_seq;",
        "CREATE VIEW v AS SELECT 1 AS a;\nALTER VIEW v RENAME COLUMN a TO b;",
        "CREATE TYPE address AS (zip text);\nALTER TYPE address RENAME ATTRIBUTE zip TO postcode;",
        # a swap: the old name is taken again before commit
        "ALTER SEQUENCE order_seq RENAME TO order_seq_old;\nCREATE SEQUENCE order_seq;",
        # kinds the application never names
        "ALTER INDEX users_email_idx RENAME TO users_email_key;",
        "ALTER TRIGGER audit ON users RENAME TO audit_users;",
        "ALTER POLICY owner_only ON documents RENAME TO owners_only;",
        "ALTER STATISTICS users_stats RENAME TO user_stats;",
        # the contract step
        "-- guard: contract 20240102000000\nALTER SEQUENCE order_seq RENAME TO order_number_seq;",
    ],
)
def test_renames_that_break_nothing_do_not_fire(sql: str) -> None:
    assert fired(sql) == []


def test_table_rename_with_a_view_under_the_old_name_is_the_safe_swap() -> None:
    assert fired("ALTER TABLE users RENAME TO people;\nCREATE VIEW users AS SELECT * FROM people;") == []
    assert fired(
        "BEGIN;\nALTER TABLE users RENAME TO people;\nCOMMIT;\nCREATE VIEW users AS SELECT * FROM people;"
    ) == ["avoid-rename-table"]


# --- destructive DDL through functions and dynamic SQL ------------------------------------------------

PURGE = "CREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE sessions; END $$;\n"


def test_calling_a_destructive_function_created_in_the_file_fires_at_the_call() -> None:
    found = [f for f in lint(PURGE + "SELECT purge();") if f.rule == "avoid-destructive-dynamic-sql"]
    assert [f.line for f in found] == [2]
    assert "purge" in found[0].message and "DROP TABLE" in found[0].message


@pytest.mark.parametrize(
    "call",
    [
        "SELECT public.purge();",
        "SELECT * FROM purge();",
        "WITH x AS (SELECT 1) SELECT purge() FROM x;",
        "DO $$ BEGIN PERFORM purge(); END $$;",
    ],
)
def test_every_way_of_calling_it_fires(call: str) -> None:
    assert fired(PURGE + call) == ["avoid-destructive-dynamic-sql"]


def test_procedures_called_with_call_fire() -> None:
    sql = (
        "CREATE PROCEDURE wipe(t text) LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'TRUNCATE ' || t; END $$;\n"
        "CALL wipe('events');"
    )
    assert fired(sql) == ["avoid-destructive-dynamic-sql"]


def test_a_function_calling_a_destructive_function_is_destructive() -> None:
    sql = (
        PURGE
        + "CREATE FUNCTION cleanup() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM purge(); END $$;\n"
        + "SELECT cleanup();"
    )
    assert fired(sql) == ["avoid-destructive-dynamic-sql"]


@pytest.mark.parametrize(
    "sql",
    [
        PURGE,  # created but never called here
        PURGE + "CREATE OR REPLACE FUNCTION purge() RETURNS void LANGUAGE sql AS $$ SELECT 1 $$;\n"
        "SELECT purge();",  # replaced by a harmless body first
        "-- guard: contract 20240102000000\n" + PURGE + "SELECT purge();",
        "CREATE FUNCTION ok() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\nSELECT ok();",
        # a batch loop's own scratch table (openmeter 20250807075408_usageperiod-duration-calculations)
        "CREATE FUNCTION batch() RETURNS void LANGUAGE plpgsql AS $$ BEGIN LOOP\n"
        "  CREATE TEMP TABLE scratch (id bigint) ON COMMIT DROP;\n  DROP TABLE scratch;\nEND LOOP; END $$;\n"
        "SELECT batch();",
    ],
)
def test_functions_that_drop_nothing_of_the_application_do_not_fire(sql: str) -> None:
    assert fired(sql) == []


@pytest.mark.parametrize(
    "body",
    [
        "EXECUTE format('DROP %s %I', kind, name);",
        "EXECUTE 'DROP ' || kind || ' ' || quote_ident(name);",
        "EXECUTE format('DROP TABLE %I', name);",
    ],
)
def test_drops_built_at_run_time_fire(body: str) -> None:
    assert fired(f"DO $$ BEGIN {body} END $$;") == ["avoid-destructive-dynamic-sql"]


# --- MERGE --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actions", "said"),
    [
        ("WHEN MATCHED THEN DELETE", "DELETE"),
        ("WHEN MATCHED THEN UPDATE SET name = s.name", "UPDATE"),
        (
            "WHEN MATCHED THEN UPDATE SET name = s.name WHEN NOT MATCHED BY SOURCE THEN DELETE",
            "UPDATE and DELETE",
        ),
    ],
)
def test_merge_that_updates_or_deletes_fires_with_its_actions(actions: str, said: str) -> None:
    sql = f"MERGE INTO users u USING staging s ON u.id = s.id {actions};"
    found = [f for f in lint(sql) if f.rule == "require-where-clause"]
    assert len(found) == 1, sql
    assert f"MERGE into users runs {said} on every row" in found[0].message


@pytest.mark.parametrize(
    "sql",
    [
        "MERGE INTO users u USING staging s ON u.id = s.id WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id);",
        "CREATE TABLE t (id bigint);\nMERGE INTO t USING staging s ON t.id = s.id WHEN MATCHED THEN DELETE;",
    ],
)
def test_merge_that_only_inserts_or_targets_a_new_table_does_not_fire(sql: str) -> None:
    assert "require-where-clause" not in fired(sql)


def test_data_modifying_with_clauses_are_judged_whatever_follows() -> None:
    sql = "WITH gone AS (DELETE FROM users RETURNING *) INSERT INTO archive SELECT * FROM gone;"
    assert fired(sql) == ["require-where-clause"]
    both = "WITH a AS (DELETE FROM users RETURNING id), b AS (UPDATE orders SET x = 1 RETURNING id) SELECT 1;"
    assert sorted(f.message.split(" ")[2] for f in lint(both) if f.rule == "require-where-clause") == [
        "orders",
        "users",
    ]


# --- fixes: generated SQL parses, and no fix breaks another rule ----------------------------------------

_SQL = re.compile(r"(?:ALTER TABLE|CREATE VIEW|DROP VIEW)\b[^;]*;")


@pytest.mark.parametrize(
    "sql",
    [
        'ALTER TABLE public."Users" DROP COLUMN "Bio";',
        "ALTER TABLE users RENAME COLUMN bio TO about;",
        "ALTER TABLE users RENAME COLUMN name TO full_name;",
        "ALTER TABLE users RENAME TO people;",
        "ALTER TABLE users SET SCHEMA archive;",
        "ALTER TABLE users ALTER COLUMN score TYPE bigint;",
        "ALTER TABLE users ALTER COLUMN price TYPE numeric(12, 4)[];",
        'ALTER TABLE "Users" ALTER COLUMN "Score" TYPE text USING "Score"::text;',
    ],
)
def test_fix_sql_parses(sql: str) -> None:
    findings = [f for f in lint(sql) if f.rule.startswith("avoid-")]
    statements = [s for f in findings for s in _SQL.findall(f.fix)]
    assert statements, findings
    for statement in statements:
        tree = sqlglot.parse_one(statement, dialect="postgres")
        assert not isinstance(tree, exp.Command), statement


def test_type_change_fix_never_renames_a_column() -> None:
    [f] = [
        f for f in lint("ALTER TABLE users ALTER COLUMN score TYPE text;") if f.rule.startswith("avoid-col")
    ]
    assert "RENAME" not in f.fix.upper()
    assert "ALTER TABLE users ADD COLUMN score_new text;" in f.fix


def test_fix_quotes_derived_names_postgres_would_fold_or_refuse() -> None:
    [f] = [x for x in lint('ALTER TABLE t ALTER COLUMN "Order" TYPE text;') if x.rule.startswith("avoid-col")]
    assert 'ALTER TABLE t ADD COLUMN "Order_new" text;' in f.fix
    assert 'ALTER TABLE t DROP COLUMN "Order";' in f.fix


def test_rename_table_fix_passes_the_rule_it_came_from() -> None:
    [f] = lint("ALTER TABLE users RENAME TO people;")
    step = f.fix.splitlines()[0].split(": ", 1)[1]
    assert step == "ALTER TABLE users RENAME TO people; CREATE VIEW users AS SELECT * FROM people;"
    assert fired(step) == []
    [moved] = lint("ALTER TABLE users SET SCHEMA archive;")
    assert "CREATE VIEW users AS SELECT * FROM archive.users;" in moved.fix
    assert (
        fired("ALTER TABLE users SET SCHEMA archive;\nCREATE VIEW users AS SELECT * FROM archive.users;")
        == []
    )
