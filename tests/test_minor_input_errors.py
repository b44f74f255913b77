"""Issue 16 #16 minors: multi-line Postgres errors stay on one line (DETAIL and HINT kept), a directory
named like a migration file is an input error (exit 2), an unterminated `/*` is a finding."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from guard.cli import cli
from guard.config import Settings
from guard.db.connect import connect
from guard.db.marker import init_marker
from guard.parsing import split_statements

RAISE = (
    "DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'line one' || chr(10) || 'line two', "
    "HINT = 'do this'; END $$;\n"
)


@pytest.fixture
def project(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> Iterator[Path]:
    clean_env.chdir(tmp_path)
    yield tmp_path


def _migration(root: Path, up: str) -> Path:
    mig = root / "migrations" / "20240101000000_a"
    mig.mkdir(parents=True)
    (mig / "up.sql").write_text(up)
    (mig / "down.sql").write_text("DROP TABLE IF EXISTS never_created;\n")
    return mig.parent


def _marked(url: str) -> None:
    with connect(url) as conn:
        init_marker(conn, Settings(), "dev")


def _error_lines_are_one_line(stderr: str) -> None:
    lines = stderr.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("migration-guard: error: "))
    # After the error line only its hint may follow, and nothing starts with Postgres's own layout.
    assert all(line.startswith("  hint: ") for line in lines[at + 1 :]), stderr
    assert not [line for line in lines if line.startswith(("DETAIL", "HINT", "\t", "server closed"))], stderr


@pytest.mark.db
def test_a_multi_line_postgres_error_is_one_line_with_detail_and_hint(fresh_db: str, project: Path) -> None:
    _marked(fresh_db)
    folder = _migration(project, RAISE)
    env = {"DATABASE_URL": fresh_db}
    result = CliRunner().invoke(cli, ["migrate", str(folder)], env=env)
    assert result.exit_code == 2, result.output
    joined = "boom | DETAIL: line one | line two | HINT: do this"
    assert f"error at line 1: {joined}" in result.stdout
    assert f"failed at line 1: {joined}" in result.stderr
    _error_lines_are_one_line(result.stderr)
    dry = CliRunner().invoke(cli, ["migrate", str(folder), "--dry-run"], env=env)
    assert dry.exit_code == 1 and f"error at line 1: {joined}" in dry.stdout
    with psycopg.connect(fresh_db) as conn:
        errors = [
            r[0] for r in conn.execute("SELECT error FROM migration_guard.audit WHERE error IS NOT NULL")
        ]
    assert errors and all("\n" not in e for e in errors) and any(joined in e for e in errors)


def test_a_directory_named_like_a_migration_file_is_an_input_error(project: Path) -> None:
    mig = project / "migrations" / "20240101000000_a"
    (mig / "up.sql").mkdir(parents=True)
    (mig / "down.sql").write_text("DROP TABLE a;\n")
    result = CliRunner().invoke(cli, ["lint", str(project / "migrations"), "--no-cache"])
    assert result.exit_code == 2, result.output
    assert "20240101000000_a/up.sql: is a directory, where a migration file is expected" in result.stderr
    flat = project / "flat"
    (flat / "20240101000000_b.sql").mkdir(parents=True)
    result = CliRunner().invoke(cli, ["lint", str(flat), "--no-cache"])
    assert result.exit_code == 2 and "is a directory, where a migration file is expected" in result.stderr


def test_a_trailing_unterminated_block_comment_is_kept_as_a_statement() -> None:
    statements, _ = split_statements("CREATE TABLE a (id int);\n/* DROP TABLE users;\n")
    assert [(s.text, s.unterminated, s.line) for s in statements] == [
        ("CREATE TABLE a (id int)", None, 1),
        ("/* DROP TABLE users;", "unterminated block comment", 2),
    ]
    closed, _ = split_statements("CREATE TABLE a (id int);\n/* done */\n")
    assert len(closed) == 1


def test_lint_reports_an_unterminated_block_comment(project: Path) -> None:
    folder = project / "migrations"
    folder.mkdir()
    (folder / "20240101000000_a.up.sql").write_text("CREATE TABLE a (id int);\n/* DROP TABLE users;\n")
    (folder / "20240101000000_a.down.sql").write_text("DROP TABLE a;\n")
    result = CliRunner().invoke(cli, ["lint", str(folder), "--no-cache", "--format", "json"])
    assert "unterminated block comment" in result.stdout, result.output
    assert '"unanalysed-statement"' in result.stdout
