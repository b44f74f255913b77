"""Every question to the schema index counts itself in `queries`, so the lint cache never reuses
findings that depended on earlier migrations as if they did not (a stale cache entry)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guard.lint.schema_index import SchemaIndex, _records_reads
from guard.model import Migration


def _m(version: str, sql: str) -> Migration:
    return Migration(version=version, name="m", layout="plain", up_path=Path(f"{version}.sql"), up_sql=sql)


MIGRATIONS = [
    _m("1", "CREATE TABLE users (id bigint NOT NULL, email varchar(50));"),
    _m("2", "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;"),
    _m("3", "ALTER TABLE users ALTER COLUMN email TYPE text;"),
]

#: How to ask each question (the public methods that read earlier migrations).
QUESTIONS: dict[str, Callable[[SchemaIndex], Any]] = {
    "earlier": lambda i: i.earlier(MIGRATIONS[2]),
    "column_type_before": lambda i: i.column_type_before(MIGRATIONS[2], "users", "email"),
    "has_validated_not_null_check": lambda i: i.has_validated_not_null_check(MIGRATIONS[2], "users", "email"),
    "statements_about": lambda i: i.statements_about(MIGRATIONS[2], "users"),
    "index_table": lambda i: i.index_table(MIGRATIONS[2], "users_pkey"),
}


def _public_methods(cls: type) -> set[str]:
    return {n for n, v in vars(cls).items() if not n.startswith("_") and inspect.isfunction(v)}


def test_every_public_method_but_the_unrecorded_is_a_recorded_read() -> None:
    public = _public_methods(SchemaIndex)
    assert public >= SchemaIndex.UNRECORDED
    for name in public - SchemaIndex.UNRECORDED:
        assert getattr(getattr(SchemaIndex, name), "records_read", False), name
    # The behaviour test below asks every recorded question: a new one must be added to it.
    assert set(QUESTIONS) == public - SchemaIndex.UNRECORDED


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_each_question_counts_once_per_call(name: str) -> None:
    index = SchemaIndex(MIGRATIONS)
    QUESTIONS[name](index)
    first = index.queries
    assert first >= 1
    QUESTIONS[name](index)  # answered from what the first call folded: still a question
    assert index.queries == 2 * first


def test_reading_a_migrations_own_statements_is_not_a_question() -> None:
    index = SchemaIndex(MIGRATIONS)
    statements, _ = index.statements(MIGRATIONS[2])
    assert [s.head for s in statements] == ["ALTER"] and index.queries == 0


def test_a_new_read_method_is_recorded_without_doing_anything() -> None:
    @_records_reads
    class Grown(SchemaIndex):
        UNRECORDED = frozenset({"statements"})

        def newest_question(self, migration: Migration) -> int:
            return len(self._sorted()[: self._cut(migration)])

    index = Grown(MIGRATIONS)
    assert index.newest_question(MIGRATIONS[2]) == 2
    assert index.queries == 1
