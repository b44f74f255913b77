"""The speed-ups change nothing: the schema index answers as the naive look-back did, a cache entry
is dropped when an earlier migration it consulted changes, and statement words and display paths
equal the plain readings."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rules_helpers import column_types

from guard.config import Settings
from guard.lint import folder_cache
from guard.lint.cache import LintCache, open_cache
from guard.lint.cache_keys import earlier_identities
from guard.lint.engine import lint_migrations
from guard.lint.schema_index import SchemaIndex
from guard.model import Finding, Migration
from guard.parsing import LEAD_WORDS, Statement, split_statements


@pytest.fixture(autouse=True)
def _no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    # Files written by a test have a fresh ctime that no utime can age; only a change
    # after the walk is racy here (the production window is RACY_SECONDS).
    monkeypatch.setattr(folder_cache, "RACY_SECONDS", 0.0)


def _m(version: str, sql: str, tmp_path: Path) -> Migration:
    return Migration(
        version=version, name=f"m{version}", layout="plain", up_path=tmp_path / f"{version}.sql", up_sql=sql
    )


def _naive_type(migrations: list[Migration], mine: Migration, table: str, column: str) -> object:
    spec = None
    for m in sorted(migrations, key=lambda m: m.version_key):
        if m.version_key < mine.version_key:
            spec = column_types(m.up_sql).get((table, column), spec)
    return spec


def test_column_type_before_matches_a_walk_over_earlier_migrations(tmp_path: Path) -> None:
    ms = [
        _m("3", "ALTER TABLE users ALTER COLUMN email TYPE varchar(200);", tmp_path),
        _m("1", "CREATE TABLE users (id int, email varchar(50));", tmp_path),
        _m("5", "ALTER TABLE users ADD COLUMN age smallint;", tmp_path),
        _m("10", "ALTER TABLE users ALTER COLUMN email TYPE text;", tmp_path),
        _m("7", "SELECT 1;", tmp_path),
    ]
    index = SchemaIndex(ms)
    for mine in ms:
        for column in ("email", "id", "age", "missing"):
            assert index.column_type_before(mine, "users", column) == _naive_type(ms, mine, "users", column)
    # Version order, not list order: before 10 the type is varchar(200), before 3 it is varchar(50).
    assert str(index.column_type_before(ms[3], "users", "email")) != str(
        index.column_type_before(ms[0], "users", "email")
    )
    assert index.queries > 0


def test_not_null_check_needs_an_earlier_validation(tmp_path: Path) -> None:
    add = "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;"
    ms = [
        _m("1", add, tmp_path),
        _m("2", "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;", tmp_path),
        _m("3", "ALTER TABLE users ALTER COLUMN email SET NOT NULL;", tmp_path),
    ]
    index = SchemaIndex(ms)
    assert index.has_validated_not_null_check(ms[2], "users", "email")[0]
    found, pending = index.has_validated_not_null_check(ms[1], "users", "email")
    assert not found and pending == {"users_email_nn"}
    # The rule agrees: SET NOT NULL after the validation is fine, without it it is not.
    settings = Settings(cache=False)
    assert not [f for f in lint_migrations(ms, settings).findings if f.rule == "avoid-set-not-null"]
    alone = [ms[0], ms[2]]
    assert [f for f in lint_migrations(alone, settings).findings if f.rule == "avoid-set-not-null"]


_DDL_PIECES = (
    "CREATE TABLE users (id int, email varchar(50), name text);",
    "CREATE TABLE users (id bigint NOT NULL, email text);",
    'CREATE TABLE "Users" ("Email" varchar(9), "a""b" int);',
    "ALTER TABLE users ALTER COLUMN email TYPE varchar(200);",
    "ALTER TABLE users ALTER COLUMN email TYPE text, ADD COLUMN age smallint;",
    "ALTER TABLE users ALTER COLUMN email TYPE ;",
    'ALTER TABLE "Users" ALTER COLUMN "Email" TYPE text;',
    'ALTER TABLE "Users" ALTER COLUMN "a""b" TYPE bigint;',
    "ALTER TABLE users ADD COLUMN IF NOT EXISTS id uuid;",
    "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;",
    "ALTER TABLE users ADD CONSTRAINT chk CHECK (id IS NOT NULL) NOT VALID;",
    "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;",
    "ALTER TABLE users VALIDATE CONSTRAINT chk;",
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    "ALTER TABLE users ALTER COLUMN id DROP NOT NULL;",
    "CREATE UNIQUE INDEX users_id_key ON users (id);",
    "CREATE UNIQUE INDEX users_id_key ON users (id, email);",
    "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_key;",
    "INSERT INTO users (id) VALUES (1), (2);",
    "SELECT 1;",
)
_COLUMNS = ("email", "id", "age", "name", "Email", 'a"b', "missing")


def _naive_check(migrations: list[Migration], mine: Migration, table: str, column: str) -> object:
    """`has_validated_not_null_check` as the look-back before the index read it."""
    from guard.lint.facts.nullability import not_null_check_actions

    pending: set[str] = set()
    for m in sorted(migrations, key=lambda m: m.version_key):
        if m.version_key >= mine.version_key or column.lower() not in m.up_sql.lower():
            continue
        if "is not null" not in m.up_sql.lower() and "validate" not in m.up_sql.lower():
            continue
        for stmt in split_statements(m.up_sql)[0]:
            for key, name, checked, valid in (
                not_null_check_actions(stmt.fact) if stmt.head == "ALTER" else ()
            ):
                if key != table:
                    continue
                if checked == column and valid:
                    return True, pending
                if checked == column:
                    pending.add(name)
                elif valid and name in pending:
                    return True, pending
    return False, pending


@settings(max_examples=300, deadline=None)
@given(
    files=st.lists(st.lists(st.sampled_from(_DDL_PIECES), max_size=4), min_size=1, max_size=7),
    asks=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=10),
)
def test_linear_index_answers_like_the_look_back(files: list[list[str]], asks: list[int]) -> None:
    """In any order of questions (the index folds only as far as asked, then further), each answer
    equals a walk over every earlier migration: types, NOT NULL checks, table statements."""
    from guard.lint.facts.nullability import nullability_tables

    ms = [
        Migration(
            version=str(n + 1), name=f"m{n}", layout="plain", up_path=Path(f"/x/{n}.sql"), up_sql="\n".join(f)
        )
        for n, f in enumerate(files)
    ]
    index = SchemaIndex(ms)
    for ask in asks:
        mine = ms[ask % len(ms)]
        earlier = [m for m in ms if m.version_key < mine.version_key]
        for table in ("users", "Users"):
            for column in _COLUMNS:
                assert index.column_type_before(mine, table, column) == _naive_type(ms, mine, table, column)
                assert index.has_validated_not_null_check(mine, table, column) == _naive_check(
                    ms, mine, table, column
                )
            about = [s.text for s in index.statements_about(mine, table)]
            walked = [
                s.text
                for m in earlier
                for s in split_statements(m.up_sql)[0]
                if s.head in ("CREATE", "ALTER") and table in nullability_tables(s.fact)
            ]
            assert about == walked


def test_type_before_a_statement_matches_the_rejoined_text() -> None:
    from guard.lint.facts.column_types import type_before_statement

    sql = "\n".join(_DDL_PIECES)
    statements = split_statements(sql)[0]
    for stmt in statements:
        before = ";\n".join(s.text for s in statements if s.index < stmt.index)
        for table in ("users", "Users"):
            for column in _COLUMNS:
                assert type_before_statement(statements, stmt, table, column, None) == column_types(
                    before
                ).get((table, column))


def test_earlier_identities_ignore_later_and_equal_versions(tmp_path: Path) -> None:
    ms = [_m(v, f"SELECT {v};", tmp_path) for v in ("1", "2", "3")]
    before = earlier_identities(ms)
    after = earlier_identities([*ms, _m("4", "SELECT 4;", tmp_path)])
    assert all(before[id(m)] == after[id(m)] for m in ms)
    edited = [replace(ms[0], up_sql="SELECT 100;"), ms[1], ms[2]]
    changed = earlier_identities(edited)
    assert changed[id(ms[1])] != before[id(ms[1])] and changed[id(edited[0])] == before[id(ms[0])]


def _type_change_project(tmp_path: Path) -> list[Migration]:
    return [
        _m("1", "CREATE TABLE users (id bigint PRIMARY KEY, name varchar(50));", tmp_path),
        _m("2", "ALTER TABLE users ALTER COLUMN name TYPE varchar(100);", tmp_path),
        _m("3", "ALTER TABLE users ALTER COLUMN name TYPE integer USING name::integer;", tmp_path),
    ]


def test_cache_entry_that_consulted_earlier_migrations(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path / "cache")
    ms = _type_change_project(tmp_path)
    expected = lint_migrations(ms, replace(settings, cache=False)).findings

    def run(migrations: list[Migration]) -> tuple[list[Finding], LintCache]:
        cache = open_cache(settings, tmp_path)
        assert cache is not None
        return lint_migrations(migrations, settings, cache=cache).findings, cache

    assert run(ms)[0] == expected
    # A later migration (the CI gate's change) keeps every earlier entry valid.
    grown = [*ms, _m("4", "ALTER TABLE users ADD COLUMN note text;", tmp_path)]
    findings, cache = run(grown)
    assert (
        cache.stats.misses == 1
        and findings == lint_migrations(grown, replace(settings, cache=False)).findings
    )
    # Editing an earlier migration invalidates the entries that consulted it.
    edited = [replace(ms[0], up_sql="CREATE TABLE users (id bigint PRIMARY KEY, name text);"), *grown[1:]]
    findings, cache = run(edited)
    assert cache.stats.stale >= 1
    assert findings == lint_migrations(edited, replace(settings, cache=False)).findings


@pytest.mark.parametrize("cwd", ["/", "/tmp", None])
@settings(max_examples=400, deadline=None)
@given(path=st.lists(st.sampled_from(["", "/", "//", ".", "..", "a", "b", "tmp", "work"]), max_size=7))
def test_display_is_relpath(cwd: str | None, path: list[str]) -> None:
    from guard.layouts.files import display

    text = "".join(path)
    if not text:
        return
    here = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        assert display(text) == os.path.relpath(text)
        assert display(Path(text)) == os.path.relpath(Path(text))
    finally:
        os.chdir(here)


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ('ALTER TABLE "Drop" ADD c text', ("ALTER", "TABLE", '"Drop"', "ADD", "C", "TEXT")),
        ('SELECT "" , "a""b"', ("SELECT", '""', '"a""b"')),
        ("SELECT E'it\\'s -- not' , 'x''y' -- DROP\n/* DROP */ x", ("SELECT", "X")),
        ("DO $f$ DROP TABLE t $f$; DROP", ("DO", "DROP")),
        ("SELECT a$b, x1", ("SELECT", "A$B", "X1")),
    ],
)
def test_words_skip_strings_comments_and_dollar_quotes(sql: str, words: tuple[str, ...]) -> None:
    assert Statement(sql, 1, 1, 0).words == words
    assert Statement(sql, 1, 1, 0).lead == words[:LEAD_WORDS]
