"""`CREATE FUNCTION/PROCEDURE ... BEGIN ATOMIC ... END` (Postgres 14+) is one statement (issue 12 #7):
the splitter keeps its body whole, lint does not read the body's DELETE as a migration-time delete,
and migrate and verify apply it on real Postgres."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rules_helpers import lint_sql
from runner_helpers import mig, runner_ctx, scalar

from guard.cli import cli
from guard.db.runner import migrate
from guard.parsing import split_statements

FUNCTION = """CREATE OR REPLACE FUNCTION purge_users(keep int) RETURNS void
LANGUAGE sql
begin atomic
  SELECT CASE WHEN keep > 0 THEN 1 ELSE 0 END;  -- a CASE ... END inside the body
  DELETE FROM users WHERE id <> keep;
  DELETE FROM users;
END"""
PROCEDURE = "CREATE PROCEDURE add_user(i int) BEGIN ATOMIC INSERT INTO users VALUES (i); END"
SCRIPT = f"CREATE TABLE users (id int);\n{FUNCTION};\n{PROCEDURE};\nSELECT 'begin atomic; x';\nDELETE FROM users WHERE id = 1;\n"


def test_body_is_one_statement() -> None:
    statements, _ = split_statements(SCRIPT)
    assert [s.text for s in statements] == [
        "CREATE TABLE users (id int)",
        FUNCTION,
        PROCEDURE,
        "SELECT 'begin atomic; x'",
        "DELETE FROM users WHERE id = 1",
    ]
    assert [(s.line, s.end_line) for s in statements] == [(1, 1), (2, 8), (9, 9), (10, 10), (11, 11)]


def test_function_bodies_in_strings_still_split_at_their_semicolons() -> None:
    sql = (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\nSELECT 2;\n-- begin atomic;\nSELECT 3;"
    )
    assert len(split_statements(sql)[0]) == 3


def test_lint_does_not_read_the_body_as_migration_time_statements() -> None:
    body = "CREATE FUNCTION purge() RETURNS void LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  DELETE FROM users;\nEND;"
    findings = lint_sql(body, earlier=("CREATE TABLE users (id int);",))
    assert not [f for f in findings if f.rule in ("require-where-clause", "transaction-control")], findings


@pytest.mark.db
def test_migrate_applies_begin_atomic_bodies(local_fresh_db: str) -> None:
    with runner_ctx(local_fresh_db) as ctx:
        report = migrate(ctx, [mig("1", SCRIPT.replace("DELETE FROM users WHERE id = 1;\n", ""))])
        assert report.outcomes[0].status == "applied" and report.outcomes[0].statements == 4
        ctx.conn.execute("CALL add_user(1); CALL add_user(2)")
        ctx.conn.execute("SELECT purge_users(2)")
    assert scalar(local_fresh_db, "SELECT count(*) FROM users") == 0


@pytest.mark.db
def test_verify_round_trips_begin_atomic(tmp_path: Path, pg_server) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_users.up.sql").write_text("CREATE TABLE users (id int);\n")
    (folder / "1_users.down.sql").write_text("DROP TABLE users;\n")
    (folder / "2_purge.up.sql").write_text(FUNCTION + ";\n" + PROCEDURE + ";\n")
    (folder / "2_purge.down.sql").write_text(
        "DROP PROCEDURE add_user(int);\nDROP FUNCTION purge_users(int);\n"
    )
    argv = [
        "verify",
        str(folder),
        "--layout",
        "golang-migrate",
        "--shadow",
        "url",
        "--shadow-url",
        pg_server.admin_url,
    ]
    result = CliRunner().invoke(cli, [*argv, "--format", "json"], catch_exceptions=False)
    doc = json.loads(result.stdout)
    assert result.exit_code == 0, doc["findings"]
    assert [m["status"] for m in doc["migrations"]] == ["ok", "ok"]
