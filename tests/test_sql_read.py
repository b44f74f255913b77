"""The statement model as rules see it (`Statement.fact`), and the two readers agreeing.

The token reader (`guard.sql.read_text`) reads the DDL frame of every statement; sqlglot
(`guard.sql.read_tree`) reads the statements it structures. On every statement of the
shared corpus that sqlglot structures, both must give the same facts.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import CORPUS
from sqlglot import exp

from guard.parsing import split_statements
from guard.sql import facts as f
from guard.sql import read_text, read_tree, read_tree_data
from guard.sql.read_rows import inserted_rows
from guard.sql.record import fields, is_record


def fact_of(sql: str) -> f.Fact:
    (stmt,), _ = split_statements(sql)
    return stmt.fact


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("INSERT INTO users (id) VALUES (1)", f.Insert),
        ("COPY users FROM stdin", f.Insert),
        ("ALTER TABLE users ADD COLUMN a int", f.AlterTable),
        ("ALTER TABLE users VALIDATE CONSTRAINT c", f.AlterTable),
        ("CREATE TABLE t (id int)", f.CreateTable),
        ("CREATE INDEX ON t (a)", f.CreateIndex),
        ("CREATE MATERIALIZED VIEW mv AS SELECT 1", f.CreateObject),
        ("DROP TABLE t", f.Drop),
        ("DROP POLICY p ON t", f.Drop),
        ("ALTER SEQUENCE s RENAME TO s2", f.Rename),
        ("ALTER TYPE mood ADD VALUE 'x'", f.AlterEnum),
        ("TRUNCATE t", f.Truncate),
        ("UPDATE t SET a = 1", f.Write),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", f.Write),
        ("WITH d AS (DELETE FROM t RETURNING id) SELECT count(*) FROM d", f.Write),
        ("DO $$ BEGIN PERFORM 1; END $$", f.Code),
        ("BEGIN", f.Transaction),
        ("SET lock_timeout = '5s'", f.Setting),
        ("REINDEX INDEX CONCURRENTLY i", f.Maintenance),
        ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", f.Maintenance),
        ("GRANT SELECT ON t TO r", f.Harmless),
        ("IMPORT FOREIGN SCHEMA s FROM SERVER x INTO y", f.Unknown),
    ],
)
def test_each_statement_has_one_typed_fact(sql: str, kind: type) -> None:
    assert type(fact_of(sql)) is kind


def test_insert_select_is_told_from_values() -> None:
    values = fact_of("INSERT INTO \"Users\" (note) VALUES ('select me')")
    assert isinstance(values, f.Insert) and not values.select and values.table.key == "Users"
    copied = fact_of("INSERT INTO users SELECT * FROM old_users")
    assert isinstance(copied, f.Insert) and copied.select


def test_insert_rows_are_read_only_when_asked() -> None:
    (st,) = split_statements("INSERT INTO t (a) VALUES (1), (2)")[0]
    fact = st.fact
    assert isinstance(fact, f.Insert) and fact.source == st.text
    assert "ast" not in st.__dict__  # reading the fact parsed nothing
    rows = inserted_rows(fact)
    assert rows is not None and rows.values == (("1",), ("2",)) and rows.literal
    (copy,) = split_statements("COPY t (a) FROM stdin")[0]
    copied = copy.fact
    assert isinstance(copied, f.Insert) and copied.source and inserted_rows(copied) is None
    assert inserted_rows(f.Insert(f.Name("t", "t"))) is None  # no text kept: nothing to read


def test_merge_bounds_and_actions() -> None:
    fact = fact_of("MERGE INTO users u USING x ON u.id = x.id WHEN MATCHED THEN DELETE")
    assert isinstance(fact, f.Write)
    assert fact.verb == "merge" and fact.merge_actions == ("delete",)


def test_unterminated_statement_is_unknown() -> None:
    (stmt,), _ = split_statements("ALTER TABLE t ADD COLUMN a text DEFAULT 'oops")
    assert isinstance(stmt.fact, f.Unknown)


def _comparable(value: Any) -> Any:
    """A fact with the spellings the readers may legitimately write differently left out:
    SQL text (sqlglot writes `CAST(x AS BIGINT)`, the token reader `x::bigint`) and the text an insert
    keeps (`Insert.source`, set by `guard.sql.read` for the tree reader too)."""
    if is_record(value):
        return (
            type(value).__name__,
            tuple(
                (fl.name, _comparable(getattr(value, fl.name)))
                for fl in fields(value)
                if not fl.name.endswith("sql")
                and fl.name not in ("using", "predicate", "shown", "function", "source")
            ),
        )
    if isinstance(value, tuple):
        return tuple(_comparable(v) for v in value)
    return value


_TREE_READERS = {
    exp.Alter: (read_tree.alter_table, read_text.alter_table),
    exp.Drop: (read_tree.drop, read_text.drop),
    exp.Update: (read_tree_data.write, read_text.write),
    exp.Delete: (read_tree_data.write, read_text.write),
}


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is not at {CORPUS}")
def test_token_reader_agrees_with_sqlglot_on_the_corpus() -> None:
    compared = 0
    disagree: list[str] = []
    for path in sorted(CORPUS.rglob("*.sql")):
        statements, _ = split_statements(path.read_text(errors="replace"))
        for stmt in statements:
            if stmt.head not in ("ALTER", "CREATE", "DROP", "UPDATE", "DELETE", "WITH"):
                continue
            tree = stmt.ast
            if tree is None:
                continue
            pair: Any
            if stmt.head == "WITH":
                pair = (read_tree_data.data_statement, read_text.with_statement)
            elif isinstance(tree, exp.Create):
                kind = (tree.args.get("kind") or "").upper()
                pair = {
                    "TABLE": (read_tree.create_table, read_text.create_table),
                    "INDEX": (read_tree.create_index, read_text.create_index),
                }.get(kind)
            else:
                pair = _TREE_READERS.get(type(tree))
            if pair is None:
                continue
            from_tree = pair[0](tree)
            from_text = pair[1](stmt.tokens)
            # Every statement both read must agree; a `WITH` the tokens leave (`WITH ... SELECT`)
            # is sqlglot's alone.
            if from_tree is None or (from_text is None and stmt.head == "WITH"):
                continue
            compared += 1
            if _comparable(from_tree) != _comparable(from_text):
                disagree.append(
                    f"{path.name}:{stmt.line}: {stmt.text[:120]!r}\n  tree {from_tree}\n  text {from_text}"
                )
    assert compared > 3000
    assert not disagree, f"{len(disagree)} of {compared} differ:\n" + "\n".join(disagree[:5])


def test_a_data_load_too_large_to_parse_is_still_an_insert() -> None:
    rows = ", ".join(f"({i}, 'name {i}')" for i in range(12_000))
    (load,), _ = split_statements(f"WITH s AS (SELECT 1) INSERT INTO skills (id, name) VALUES {rows}")
    assert isinstance(load.fact, f.Insert)
    (hidden,), _ = split_statements(
        f"WITH d AS (DELETE FROM users) INSERT INTO skills (id, name) VALUES {rows}"
    )
    # Read from its tokens, so the delete its `WITH` runs is on the record for the rules.
    fact = hidden.fact
    assert isinstance(fact, f.Insert) and [(c.verb, c.table.key, c.bounded) for c in fact.ctes] == [
        ("delete", "users", False)
    ]


def test_a_large_upsert_is_still_an_insert() -> None:
    rows = ", ".join(f"({i}, 'name {i}')" for i in range(12_000))
    (upsert,), _ = split_statements(
        f"WITH s AS (SELECT 1) INSERT INTO skills (id, name) VALUES {rows} "
        "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name"
    )
    assert isinstance(upsert.fact, f.Insert)
    (hidden,), _ = split_statements(f"WITH u AS (UPDATE users SET a = 1) INSERT INTO skills VALUES {rows}")
    fact = hidden.fact
    assert isinstance(fact, f.Insert) and [(c.verb, c.table.key, c.bounded) for c in fact.ctes] == [
        ("update", "users", False)
    ]


@pytest.mark.parametrize(
    ("sql", "verb", "table", "bounded"),
    [
        ("UPDATE users SET a = 1", "update", "users", False),
        ("UPDATE ONLY public.users u SET a = (SELECT b FROM x WHERE x.id = u.id)", "update", "users", False),
        ('UPDATE "Users" SET a = 1 FROM x WHERE "Users".id = x.id', "update", "Users", True),
        ("DELETE FROM users WHERE id IN (SELECT id FROM old)", "delete", "users", True),
        ("DELETE FROM users USING old WHERE users.id = old.id RETURNING users.id", "delete", "users", True),
        ("DELETE FROM users RETURNING (SELECT 1 WHERE true)", "delete", "users", False),
    ],
)
def test_plain_updates_and_deletes_are_read_without_a_parse(
    sql: str, verb: str, table: str, bounded: bool
) -> None:
    (stmt,), _ = split_statements(sql)
    fact = stmt.fact
    assert isinstance(fact, f.Write) and (fact.verb, fact.table.key, fact.bounded) == (verb, table, bounded)
    assert "ast" not in stmt.__dict__
    assert _comparable(read_tree_data.write(stmt.ast)) == _comparable(fact)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "WITH gone AS (DELETE FROM old RETURNING id) UPDATE users SET a = 1 WHERE id IN (SELECT id FROM gone)",
            ("Write", "update", "users", True, (("delete", "old", False),)),
        ),
        (
            "WITH RECURSIVE s (id) AS NOT MATERIALIZED (SELECT 1), t AS (UPDATE x SET a = 1 WHERE b) "
            "DELETE FROM users",
            ("Write", "delete", "users", False, (("update", "x", True),)),
        ),
        (
            "WITH skill AS (INSERT INTO skills (name) VALUES ('a') RETURNING id) "
            "INSERT INTO context.skill_files (skill_id) SELECT id FROM skill",
            ("Insert", "", "skill_files", True, ()),
        ),
    ],
)
def test_with_statements_are_read_without_a_parse(sql: str, expected: tuple[Any, ...]) -> None:
    (stmt,), _ = split_statements(sql)
    fact = stmt.fact
    assert "ast" not in stmt.__dict__
    got: tuple[Any, ...]
    if isinstance(fact, f.Write):
        got = (
            "Write",
            fact.verb,
            fact.table.key,
            fact.bounded,
            tuple((c.verb, c.table.key, c.bounded) for c in fact.ctes),
        )
    else:
        assert isinstance(fact, f.Insert) and fact.source == stmt.text
        got = ("Insert", "", fact.table.key, fact.select, fact.ctes)
    assert got == expected
    assert _comparable(read_tree_data.data_statement(stmt.ast)) == _comparable(fact)  # type: ignore[arg-type]


def test_with_select_and_merge_still_go_to_sqlglot() -> None:
    for sql in (
        "WITH d AS (DELETE FROM t RETURNING id) SELECT count(*) FROM d",
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
    ):
        (stmt,), _ = split_statements(sql)
        assert isinstance(stmt.fact, f.Write) and "ast" in stmt.__dict__


def test_a_statement_and_its_fact_form_no_cycle() -> None:
    """The collector is paused while linting: a cycle would keep every statement of a run alive."""
    import gc
    import weakref

    was = gc.isenabled()
    gc.disable()
    try:
        (stmt,), _ = split_statements("INSERT INTO t (a) VALUES (1)")
        fact = stmt.fact
        assert isinstance(fact, f.Insert) and fact.source
        gone = weakref.ref(stmt)
        del stmt
        assert gone() is None  # freed by reference counting alone
        rows = inserted_rows(fact)  # the rows can still be read, from the text the fact kept
        assert rows is not None and rows.values == (("1",),)
    finally:
        if was:
            gc.enable()
