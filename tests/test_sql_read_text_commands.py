"""The token reader (`guard.sql.read_text`) reads TRUNCATE, maintenance, DO, SET and transaction
control and the calls and relations a statement names, keeps operators whole, reads every corpus
statement, never raises on a truncated one, and sits below the linter."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS

from guard.parsing import split_statements
from guard.sql import read_text as rt
from guard.sql.facts import Harmless
from guard.tokens import tokenize
from guard.txcontrol import read_tx_control


def test_truncate_and_maintenance() -> None:
    tr = rt.truncate(tokenize("TRUNCATE TABLE ONLY a, s.b * RESTART IDENTITY CASCADE"))
    assert tr is not None and [n.key for n in tr.tables] == ["a", "b"] and tr.cascade
    cases = {
        "REINDEX (VERBOSE) INDEX CONCURRENTLY i": ("reindex", "i", "index", True, False),
        "REINDEX TABLE t": ("reindex", "t", "table", False, False),
        "VACUUM FULL t": ("vacuum", "t", "", False, True),
        "VACUUM (FULL, ANALYZE) t": ("vacuum", "t", "", False, True),
        "VACUUM (FULL false) t": ("vacuum", "t", "", False, False),
        "CLUSTER t USING i": ("cluster", "t", "", False, False),
        "LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE": ("lock", "t", "share row exclusive", False, False),
        "LOCK t": ("lock", "t", "access exclusive", False, False),
        "REFRESH MATERIALIZED VIEW CONCURRENTLY mv": ("refresh", "mv", "materialized view", True, False),
        "ANALYZE t": ("analyze", "t", "", False, False),
    }
    for sql, (verb, target, kind, concurrently, full) in cases.items():
        m = rt.maintenance(tokenize(sql))
        assert m is not None, sql
        assert (m.verb, m.target.key if m.target else None, m.target_kind, m.concurrently, m.full) == (
            verb,
            target,
            kind,
            concurrently,
            full,
        ), sql
    assert rt.maintenance(tokenize("SELECT 1")) is None


def test_code_setting_transaction() -> None:
    do = rt.code(tokenize("DO LANGUAGE plpgsql $body$ BEGIN PERFORM 1; END $body$"))
    assert do is not None and do.body == " BEGIN PERFORM 1; END " and do.language == "plpgsql"
    assert rt.code(tokenize("DO 'select 1' LANGUAGE sql")) == type(do)("select 1", "sql")
    assert rt.setting(tokenize("SET lock_timeout = '5s'")) == rt.Setting("lock_timeout", "5s")
    assert rt.setting(tokenize("SET LOCAL statement_timeout TO 0")) == rt.Setting(
        "statement_timeout", "0", True
    )
    assert rt.setting(tokenize("SET search_path TO app, public")) == rt.Setting("search_path", "app, public")
    assert rt.setting(tokenize("SET SESSION TIME ZONE 'UTC'")) == rt.Setting("timezone", "UTC")
    assert rt.setting(tokenize("RESET ALL")) == rt.Setting("all", reset=True)
    assert rt.setting(tokenize("RESET lock_timeout")) == rt.Setting("lock_timeout", reset=True)
    expected = {
        "BEGIN": ("begin", False),
        "START TRANSACTION ISOLATION LEVEL SERIALIZABLE": ("begin", False),
        "COMMIT AND CHAIN": ("commit", True),
        "END": ("commit", False),
        "ROLLBACK TO SAVEPOINT a": ("rollback to", False),
        "RELEASE a": ("release", False),
        "SAVEPOINT a": ("savepoint", False),
        "PREPARE TRANSACTION 'x'": ("prepare", False),
    }
    for sql, (action, chain) in expected.items():
        tx = rt.transaction(read_tx_control(split_statements(sql)[0][0]))
        assert tx is not None and (tx.action, tx.chain) == (action, chain), sql
    assert rt.transaction(read_tx_control(split_statements("SELECT 1")[0][0])) is None


def test_transaction_modes_savepoint_and_keyword() -> None:
    def read(sql: str) -> rt.Transaction | None:
        return rt.transaction(read_tx_control(split_statements(sql)[0][0]))

    begin = read("start transaction isolation level serializable")
    assert begin is not None and begin.modes == ("ISOLATION", "LEVEL", "SERIALIZABLE")
    assert begin.keyword == "START TRANSACTION"
    end = read("/* x */ End -- y\n")
    assert end is not None and end.keyword == "END" and end.modes == ()
    release = read('RELEASE SAVEPOINT "My Point"')
    assert release is not None and release.savepoint == "My Point"
    back = read("ROLLBACK TO Sp1")
    assert back is not None and back.savepoint == "sp1" and back.keyword == "ROLLBACK"


_READERS = {
    "ALTER": (rt.alter_table, rt.rename, rt.alter_enum, rt.alter_other),
    "CREATE": (rt.create_table, rt.create_index, rt.create_object),
    "DROP": (rt.drop,),
}


@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus not present")
def test_every_corpus_ddl_statement_reads() -> None:
    alter_tables = 0
    for path in sorted(Path(CORPUS).rglob("*.sql")):
        for stmt in split_statements(path.read_text(encoding="utf-8", errors="replace"))[0]:
            readers = _READERS.get(stmt.head)
            if readers is None or len(stmt.text) > 200_000:
                continue
            tokens = stmt.tokens
            found = [reader(tokens) for reader in readers]
            words = stmt.words
            if words[:2] == ("ALTER", "TABLE") and words[2:5] != ("ALL", "IN", "TABLESPACE"):
                alter_tables += 1
                assert found[0] is not None, (path, stmt.line)
            elif stmt.head in ("CREATE", "DROP"):
                assert any(f is not None for f in found), (path, stmt.line, stmt.text[:80])
    assert alter_tables > 1000


def test_more_operators_stay_whole() -> None:
    from guard.sql.read_text_common import sql_of

    sql = "a <<= b AND f(x => 1) AND c ->> 'k' <> 'v' AND d >= -1 AND e @> '{}' AND g !~* 'x'"
    out = sql_of(tokenize(sql))
    assert out == "a <<= b AND f(x => 1) AND c ->> 'k' <> 'v' AND d >= - 1 AND e @> '{}' AND g !~* 'x'"
    assert sql_of(tokenize("a = -1")) == "a = - 1"  # `=-` is no operator: never glued


_ALL_READERS = (
    rt.alter_table,
    rt.create_table,
    rt.create_index,
    rt.create_object,
    rt.drop,
    rt.rename,
    rt.alter_enum,
    rt.alter_other,
    rt.truncate,
    rt.maintenance,
    rt.code,
    rt.setting,
)


def test_readers_never_raise_on_truncated_statements() -> None:
    statements = [
        "ALTER TABLE IF EXISTS ONLY s.t * ADD COLUMN IF NOT EXISTS a int NOT NULL DEFAULT f(1), "
        "ADD CONSTRAINT c CHECK ((a IS NOT NULL)) NOT VALID, ALTER COLUMN b SET DATA TYPE text USING b::text, "
        "RENAME CONSTRAINT x TO y, DETACH PARTITION p CONCURRENTLY, ADD UNIQUE USING INDEX i",
        'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON ONLY "T" USING gin (lower(a)) WHERE b >= 1',
        "CREATE TABLE IF NOT EXISTS t (a int PRIMARY KEY, CONSTRAINT c FOREIGN KEY (a) REFERENCES u (id))",
        "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
        "DROP TRIGGER IF EXISTS tr ON s.t CASCADE",
        "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'x' BEFORE 'y'",
        "ALTER TYPE mood RENAME VALUE 'a' TO 'b'",
        "ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0) NOT VALID",
        "REINDEX (VERBOSE) TABLE CONCURRENTLY t",
        "LOCK TABLE ONLY t IN ACCESS EXCLUSIVE MODE NOWAIT",
        "SET LOCAL lock_timeout TO '1s'",
        "ROLLBACK TO SAVEPOINT a",
    ]
    for sql in statements:
        tokens = tokenize(sql)
        for n in range(len(tokens) + 1):
            for reader in _ALL_READERS:
                reader(tokens[:n])


def test_statement_model_sits_below_the_linter() -> None:
    import ast

    sql_dir = Path(rt.__file__).parent
    for path in sql_dir.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("guard.lint"), path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("guard.lint") for a in node.names), path


def test_calls_are_the_names_before_a_parenthesis() -> None:
    assert rt.calls(tokenize('SELECT public.purge(1), "Mixed"(2), x FROM f(3) WHERE y IN (1)')) == {
        "purge",
        "Mixed",
        "f",
    }
    assert rt.calls(tokenize("SELECT 'purge()' AS s")) == frozenset()


def test_select_and_call_facts_carry_their_calls() -> None:
    select, call, comment = (
        s.fact for s in split_statements("SELECT purge(); CALL wipe('x'); COMMENT ON TABLE t IS 'f()';")[0]
    )
    assert select == Harmless("select", frozenset({"purge"}))
    assert call == Harmless("call", frozenset({"wipe"}))
    assert comment == Harmless("comment")


@pytest.mark.parametrize(
    ("sql", "calls"),
    [
        ("SELECT 1", False),
        ("SELECT 'Could not auto-generate a down migration.'", False),
        ("SELECT 1 WHERE false AND x IN (1, 2)", False),
        ("SELECT a FROM t WHERE EXISTS (SELECT 1)", False),
        ("SELECT pg_advisory_lock(1)", True),
        ('SELECT "Drop"(1)', True),
        ("SELECT app.migrate ()", True),
    ],
)
def test_calls_function(sql: str, calls: bool) -> None:
    assert bool(rt.calls(tokenize(sql))) is calls


def test_relations_read() -> None:
    users, orders = rt.Name("users", "app.Users", "app"), rt.Name("orders", "orders")
    assert rt.relations_read(tokenize("SELECT 1 FROM app.Users u JOIN orders o ON true")) == (users, orders)
    assert rt.relations_read(tokenize("SELECT 1 FROM ONLY orders")) == (orders,)
    assert rt.relations_read(tokenize("SELECT 'from', 1")) == ()
