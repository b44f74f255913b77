"""Adversarial spellings of destructive or lock-heavy SQL: none may pass the linter silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rules_helpers import lint_sql

from guard.cli import cli


def _ids(sql: str) -> set[str]:
    return {f.rule for f in lint_sql(sql)}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # Spelling: quoting, schema, IF EXISTS/ONLY/CASCADE, comments and odd whitespace between keywords.
        (
            'ALTER TABLE IF EXISTS ONLY "Public"."Users" DROP COLUMN IF EXISTS "Email" CASCADE;',
            "avoid-drop-column",
        ),
        ("ALTER /* x */ TABLE users -- y\n DROP COLUMN a;", "avoid-drop-column"),
        ("alter\ttable\nusers\tdrop\tcolumn\ta;", "avoid-drop-column"),
        ("AlTeR TaBlE users DrOp a;", "avoid-drop-column"),
        ('ALTER TABLE "użytkownicy" DROP COLUMN "ąć";', "avoid-drop-column"),
        ("DROP TABLE IF EXISTS a, b, c;", "avoid-drop-table"),
        # Dynamic SQL and dollar quoting.
        ("DO $$ BEGIN EXECUTE format('DROP TABLE %I', 'users'); END $$;", "avoid-destructive-dynamic-sql"),
        ("DO $fn$ BEGIN PERFORM $$ x $$; DROP TABLE users; END $fn$;", "avoid-destructive-dynamic-sql"),
        ("DO $$ BEGIN DROP TABLE users; END $$ LANGUAGE plpgsql;", "avoid-destructive-dynamic-sql"),
        # Statements after a quote/comment boundary, `$` inside identifiers, no final semicolon.
        ("SELECT E'\\''; DROP TABLE users; SELECT '1';", "avoid-drop-table"),
        ("CREATE TABLE a$$ (id int); DROP TABLE users; CREATE TABLE b$$ (id int);", "avoid-drop-table"),
        ("SELECT 1; -- ; DROP TABLE x\nDROP TABLE users", "avoid-drop-table"),
        ("\ufeffALTER TABLE t DROP COLUMN a;\r\nSELECT 1", "avoid-drop-column"),
        # Index and constraint spellings.
        ("CREATE UNIQUE INDEX IF NOT EXISTS i ON t (a);", "require-concurrent-index"),
        ("CREATE INDEX ON t (a);", "require-concurrent-index"),
        ("BEGIN; CREATE INDEX CONCURRENTLY i ON t (a); COMMIT;", "concurrent-in-transaction"),
        ("ALTER TABLE t ADD PRIMARY KEY (a);", "require-unique-index-first"),
        # ALTER without COLUMN, SET DATA TYPE, renames, truncate.
        ("ALTER TABLE t ALTER a TYPE bigint;", "avoid-column-type-change"),
        ("ALTER TABLE t ALTER COLUMN a SET DATA TYPE bigint USING a::bigint;", "avoid-column-type-change"),
        ("ALTER TABLE t RENAME a TO b;", "avoid-rename-column"),
        ("ALTER TABLE t RENAME TO u;", "avoid-rename-table"),
        ("ALTER TYPE e RENAME VALUE 'a' TO 'b';", "avoid-rename-enum-value"),
        ("TRUNCATE TABLE ONLY t RESTART IDENTITY;", "avoid-truncate"),
        # Data-modifying CTEs run in full whatever the outer statement is.
        ("WITH x AS (DELETE FROM t RETURNING *) SELECT 1;", "require-where-clause"),
        ("WITH x AS NOT MATERIALIZED (UPDATE t SET a = 1 RETURNING 1) SELECT 1;", "require-where-clause"),
        (
            "WITH gone AS (DELETE FROM t RETURNING *) INSERT INTO archive SELECT * FROM gone;",
            "require-where-clause",
        ),
        # DROP forms that destroy objects without naming a table.
        ("DROP OWNED BY reporting_role;", "avoid-drop-schema"),
        ("DROP EXTENSION IF EXISTS pgcrypto CASCADE;", "avoid-drop-type"),
        # Statements no rule understands are reported, never silent.
        ("CREATE STATISTICS s ON a, b FROM t;", "unanalysed-statement"),
        ("ALTER FOREIGN TABLE ft DROP COLUMN a;", "unanalysed-statement"),
        ("IMPORT FOREIGN SCHEMA s FROM SERVER x INTO y;", "unanalysed-statement"),
        ("SECURITY LABEL ON TABLE t IS 'x';", "unanalysed-statement"),
        # DROP forms no rule judges are unanalysed, not passed as safe
        ("DROP FOREIGN TABLE ft;", "unanalysed-statement"),
        ("DROP ROLE reporting;", "unanalysed-statement"),
        ("DROP SERVER remote CASCADE;", "unanalysed-statement"),
        ("DROP PUBLICATION changes;", "unanalysed-statement"),
        ("ALTER LARGE OBJECT 1 OWNER TO x;", "unanalysed-statement"),
        ("\\i file.sql", "unanalysed-statement"),
        ("\\connect other", "unanalysed-statement"),
    ],
)
def test_dangerous_spelling_is_reported(sql: str, expected: str) -> None:
    assert expected in _ids(sql)


@pytest.mark.parametrize(
    ("sql", "absent"),
    [
        # A function body is not executed by the migration that creates it.
        (
            "CREATE FUNCTION f() RETURNS void AS $$ BEGIN DROP TABLE users; END $$ LANGUAGE plpgsql;",
            "avoid-drop-table",
        ),
        # Postgres nests block comments: the DROP is inside the outer comment.
        ("/* outer /* inner */ DROP TABLE users; */ SELECT 1;", "avoid-drop-table"),
        (
            "WITH gone AS (DELETE FROM t WHERE a < 5 RETURNING *) INSERT INTO archive SELECT * FROM gone;",
            "require-where-clause",
        ),
        (
            "WITH RECURSIVE x(a) AS (SELECT 1 UNION SELECT a + 1 FROM x WHERE a < 3) SELECT * FROM x;",
            "require-where-clause",
        ),
        ("CREATE EXTENSION foo;\nDROP EXTENSION foo;", "avoid-drop-type"),
    ],
)
def test_harmless_spelling_is_not_flagged(sql: str, absent: str) -> None:
    assert absent not in _ids(sql)


def test_cli_reports_bom_crlf_file_without_final_semicolon(tmp_path: Path) -> None:
    folder = tmp_path / "migrations" / "20240102000000_drop"
    folder.mkdir(parents=True)
    (folder / "up.sql").write_bytes(b"\xef\xbb\xbfSELECT 1;\r\nDROP OWNED BY old_role")
    (folder / "down.sql").write_text("SELECT 1;\n")
    result = CliRunner().invoke(cli, ["lint", str(tmp_path / "migrations"), "--format", "json"])
    assert result.exit_code == 1, result.output
    assert "avoid-drop-schema" in result.output
