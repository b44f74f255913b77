"""A file's column types are read forward once: asking the type before each statement of a
migration with N type changes reads O(N) statements, and answers as a rescan would."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_helpers import column_types

from guard.config import Settings
from guard.lint.engine import lint_migrations
from guard.lint.facts import column_types as facts
from guard.lint.facts.column_types import TypesSoFar, type_before_statement
from guard.model import Migration
from guard.parsing import split_statements

SQL = """
CREATE TABLE users (id int, email varchar(50), age smallint);
ALTER TABLE users ALTER COLUMN email TYPE varchar(100);
ALTER TABLE users ADD COLUMN note text, ALTER COLUMN age TYPE integer;
ALTER TABLE users ALTER COLUMN email TYPE some_schema.mystery(a);
ALTER TABLE "Users" ALTER COLUMN email TYPE text;
ALTER TABLE users ALTER COLUMN email SET DATA TYPE text;
"""
KEYS = [(t, c) for t in ("users", "Users") for c in ("email", "age", "note", "id")]


def _rescan(statements, stmt, key):  # type: ignore[no-untyped-def]
    before = ";\n".join(s.text for s in statements if s.index < stmt.index)
    return column_types(before).get(key)


def test_in_order_and_out_of_order_answers_match_a_rescan() -> None:
    statements = split_statements(SQL)[0]
    so_far = TypesSoFar(statements)
    for order in (statements, list(reversed(statements)), statements):
        for stmt in order:
            for table, column in KEYS:
                got = type_before_statement(statements, stmt, table, column, None, so_far)
                # A rescan stops at an unreadable type; the file reader then falls back to `spec`.
                assert got == _rescan(statements, stmt, (table, column))


def _project(tmp_path: Path, changes: int) -> list[Migration]:
    tables = "".join(f"CREATE TABLE t{i} (c varchar(10));\n" for i in range(changes))
    alters = "".join(
        f"ALTER TABLE t{i} ALTER COLUMN c TYPE bigint USING c::bigint;\n" for i in range(changes)
    )
    return [
        Migration(
            version="20240101000000", name="a", layout="hasura", up_path=tmp_path / "1.sql", up_sql=tables
        ),
        Migration(
            version="20240102000000", name="b", layout="hasura", up_path=tmp_path / "2.sql", up_sql=alters
        ),
    ]


def test_linting_n_type_changes_reads_statements_in_linear_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real = facts.column_type_events

    def counted(stmt):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return real(stmt)

    monkeypatch.setattr(facts, "column_type_events", counted)
    reads = []
    for n in (150, 300):
        calls = 0
        migrations = _project(tmp_path / str(n), n)
        result = lint_migrations(migrations, Settings(cache=False), only=[migrations[1].id])
        # Every change is judged against the type the earlier migration declared.
        judged = [f for f in result.findings if f.rule == "avoid-column-type-change"]
        assert len(judged) == n and all("from varchar(10) to bigint" in f.message for f in judged)
        reads.append(calls)
    # Twice the changes, twice the reads (a rescan per change reads ~n*n/2: about 4x).
    assert reads[1] <= 2.5 * reads[0], reads
