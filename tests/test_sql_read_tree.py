"""The sqlglot side of the statement model: trees mapped exactly, or not at all."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from guard.sql import facts as f
from guard.sql import read_rows, read_text, read_tree, read_tree_data
from guard.tokens import tokenize


def tree(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="postgres")


def alter(sql: str) -> f.AlterTable | None:
    t = tree(sql)
    assert isinstance(t, exp.Alter), sql
    return read_tree.alter_table(t)


def test_alter_table_actions_are_typed() -> None:
    fact = alter('ALTER TABLE ONLY public."Users" ADD COLUMN x int NOT NULL DEFAULT 0')
    assert fact is not None and fact.only
    assert fact.table == f.Name("Users", 'public."Users"', "public")
    (action,) = fact.actions
    assert isinstance(action, f.AddColumn)
    assert action.column.name.key == "x" and action.column.not_null
    assert action.column.type is not None and action.column.type.name == "integer"
    assert action.column.default == f.Default("0")


@pytest.mark.parametrize(
    ("sql", "kind", "field", "value"),
    [
        (
            "ALTER TABLE t ALTER COLUMN y TYPE bigint USING y::bigint",
            f.AlterColumnType,
            "using",
            "CAST(y AS BIGINT)",
        ),
        ("ALTER TABLE t ALTER COLUMN z SET NOT NULL", f.SetNotNull, "column", f.Name("z", "z")),
        ("ALTER TABLE t ALTER COLUMN z DROP NOT NULL", f.DropNotNull, "column", f.Name("z", "z")),
        ("ALTER TABLE t ALTER COLUMN z DROP DEFAULT", f.DropDefault, "column", f.Name("z", "z")),
        ("ALTER TABLE t DROP COLUMN IF EXISTS w CASCADE", f.DropColumn, "cascade", True),
        ("ALTER TABLE t DROP CONSTRAINT IF EXISTS k", f.DropConstraint, "if_exists", True),
        ("ALTER TABLE t RENAME COLUMN a TO b", f.RenameColumn, "new", f.Name("b", "b")),
        ("ALTER TABLE t RENAME TO people", f.RenameTable, "new", f.Name("people", "people")),
        ("ALTER TABLE t SET UNLOGGED", f.SetLogged, "logged", False),
        ("ALTER TABLE t SET TABLESPACE fast", f.SetTablespace, "tablespace", "fast"),
    ],
)
def test_alter_table_action_kinds(sql: str, kind: type, field: str, value: object) -> None:
    fact = alter(sql)
    assert fact is not None
    (action,) = fact.actions
    assert isinstance(action, kind)
    assert getattr(action, field) == value


def test_volatile_default_is_known_from_the_expression() -> None:
    fact = alter("ALTER TABLE t ALTER COLUMN q SET DEFAULT gen_random_uuid()")
    assert fact is not None
    (action,) = fact.actions
    assert isinstance(action, f.SetDefault)
    assert action.default.volatility == "volatile"


def test_not_valid_is_the_clause_not_a_column_named_valid() -> None:
    checked = alter("ALTER TABLE users ADD CONSTRAINT c CHECK (valid)")
    assert checked is not None
    (action,) = checked.actions
    assert isinstance(action, f.AddConstraint) and action.constraint.valid
    not_valid = alter("ALTER TABLE users ADD CONSTRAINT c CHECK (valid) NOT VALID")
    assert not_valid is not None
    (action,) = not_valid.actions
    assert isinstance(action, f.AddConstraint) and not action.constraint.valid


def test_not_null_check_and_constraint_sql_parse() -> None:
    fact = alter("ALTER TABLE t ADD CONSTRAINT nn CHECK ((email IS NOT NULL)) NOT VALID")
    assert fact is not None
    (action,) = fact.actions
    assert isinstance(action, f.AddConstraint)
    assert action.constraint.not_null_column == "email"
    assert action.constraint.kind == f.CHECK
    sqlglot.parse_one(f"ALTER TABLE t ADD {action.constraint.body_sql}", read="postgres")


def test_one_not_valid_flag_for_two_constraints_is_not_guessed() -> None:
    sql = "ALTER TABLE t ADD CONSTRAINT a CHECK (x > 0), ADD CONSTRAINT b CHECK (y > 0) NOT VALID"
    t = tree(sql)
    if isinstance(t, exp.Alter):
        assert read_tree.alter_table(t) is None


def test_create_table_columns_and_constraints() -> None:
    t = tree(
        "CREATE TABLE IF NOT EXISTS t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a text NOT NULL"
        " DEFAULT 'x', b int REFERENCES u(id), CONSTRAINT c CHECK (a <> ''), UNIQUE (a, b))"
    )
    assert isinstance(t, exp.Create)
    fact = read_tree.create_table(t)
    assert fact is not None and fact.if_not_exists
    ids = {c.name.key: c for c in fact.columns}
    assert ids["id"].identity and ids["id"].primary_key
    assert ids["a"].not_null and ids["a"].default is not None
    assert ids["b"].references == f.Name("u", "u")
    assert [c.kind for c in fact.constraints] == [f.CHECK, f.UNIQUE]
    assert fact.constraints[1].columns == ("a", "b")


def test_create_index() -> None:
    t = tree(
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON public.users USING btree (lower(email), id) WHERE d IS NULL"
    )
    assert isinstance(t, exp.Create)
    fact = read_tree.create_index(t)
    assert fact is not None
    assert fact.unique and fact.concurrently and fact.if_not_exists and fact.expressions
    assert fact.table.key == "users" and fact.predicate == "d IS NULL"
    assert fact.columns[1] == "id"


@pytest.mark.parametrize(
    ("sql", "verb", "bounded", "actions"),
    [
        ("UPDATE t SET a = 1", "update", False, ()),
        ("DELETE FROM t WHERE id = 1", "delete", True, ()),
        (
            "MERGE INTO users u USING x ON u.id = x.id WHEN MATCHED THEN DELETE "
            "WHEN NOT MATCHED THEN INSERT (id) VALUES (x.id)",
            "merge",
            True,
            ("delete", "insert"),
        ),
    ],
)
def test_writes(sql: str, verb: str, bounded: bool, actions: tuple[str, ...]) -> None:
    t = tree(sql)
    assert isinstance(t, exp.Update | exp.Delete | exp.Merge)
    fact = read_tree_data.write(t)
    assert fact is not None
    assert (fact.verb, fact.bounded, fact.merge_actions) == (verb, bounded, actions)


def test_drop_kinds() -> None:
    t = tree("DROP MATERIALIZED VIEW IF EXISTS a, b.c CASCADE")
    assert isinstance(t, exp.Drop)
    fact = read_tree.drop(t)
    assert fact is not None
    assert fact.object_kind == "materialized view" and fact.if_exists and fact.cascade
    assert [n.shown for n in fact.names] == ["a", "b.c"]


def test_data_modifying_with_clauses_are_listed_with_the_statement() -> None:
    insert = read_tree_data.data_statement(
        tree(
            "WITH gone AS (DELETE FROM t RETURNING *), b AS (UPDATE u SET a = 1 WHERE x) INSERT INTO a SELECT 1"
        )
    )
    assert isinstance(insert, f.Insert) and insert.table.key == "a"
    assert [(w.verb, w.table.key, w.bounded) for w in insert.ctes] == [
        ("delete", "t", False),
        ("update", "u", True),
    ]
    update = read_tree_data.data_statement(tree("WITH g AS (DELETE FROM t) UPDATE u SET a = 1"))
    assert isinstance(update, f.Write) and update.table.key == "u"
    assert [w.table.key for w in update.ctes] == ["t"]
    select = read_tree_data.data_statement(tree("WITH g AS (DELETE FROM t), h AS (DELETE FROM v) SELECT 1"))
    assert (
        isinstance(select, f.Write)
        and select.table.key == "t"
        and [w.table.key for w in select.ctes] == ["v"]
    )
    plain = read_tree_data.data_statement(tree("WITH x AS (SELECT 1) DELETE FROM users WHERE id = 1"))
    assert isinstance(plain, f.Write) and plain.ctes == () and plain.bounded


def test_select_lists_the_functions_it_calls() -> None:
    fact = read_tree_data.data_statement(tree("WITH x AS (SELECT 1) SELECT public.purge(1), Other() FROM x"))
    assert fact == f.Harmless("select", frozenset({"purge", "other"}), (f.Name("x", "x"),))


def test_create_table_inherits() -> None:
    t = tree("CREATE TABLE c (extra int) INHERITS (p)")
    assert isinstance(t, exp.Create)
    fact = read_tree.create_table(t)
    assert fact is not None and fact.inherits
    plain = tree("CREATE TABLE c (extra int)")
    assert isinstance(plain, exp.Create)
    fact = read_tree.create_table(plain)
    assert fact is not None and not fact.inherits


@pytest.mark.parametrize(
    ("sql", "calls"),
    [
        ("WITH x AS (SELECT 1) SELECT * FROM x", False),
        ("WITH x AS (SELECT 1::int) SELECT * FROM x WHERE a IN (1, 2)", False),
        ("WITH x AS (SELECT 1) SELECT pg_advisory_lock(1) FROM x", True),
        ("WITH x AS (SELECT my_migrate()) SELECT * FROM x", True),
    ],
)
def test_select_that_calls_a_function(sql: str, calls: bool) -> None:
    fact = read_tree_data.data_statement(sqlglot.parse_one(sql, read="postgres"))
    assert isinstance(fact, f.Harmless) and bool(fact.calls) is calls and fact.reads == (f.Name("x", "x"),)


def test_select_reads_a_relation() -> None:
    def read(sql: str) -> object:
        return read_tree_data.data_statement(sqlglot.parse_one(sql, read="postgres"))

    assert read("WITH x AS (SELECT 1) SELECT 1") == f.Harmless("select", frozenset(), ())
    users = f.Name("users", "app.Users", "app")
    assert read("WITH x AS (SELECT 1) SELECT 1 FROM app.Users") == f.Harmless("select", frozenset(), (users,))


def test_index_keys_include_and_storage() -> None:
    t = tree('CREATE UNIQUE INDEX i ON t USING gin (a DESC, lower(b)) INCLUDE (c, "D") WHERE a > 0')
    assert isinstance(t, exp.Create)
    fact = read_tree.create_index(t)
    assert fact is not None and fact.method == "gin"
    assert fact.keys_sql == "a DESC, LOWER(b)" and fact.include == ("c", '"D"') and fact.predicate == "a > 0"
    stored = tree("CREATE INDEX i ON t (a) WITH (fillfactor = 70) TABLESPACE fast")
    assert isinstance(stored, exp.Create)
    stored_fact = read_tree.create_index(stored)
    assert stored_fact is not None and stored_fact.storage_sql == "WITH (fillfactor=70) TABLESPACE fast"


@pytest.mark.parametrize(
    ("sql", "keys"),
    [
        ('CREATE INDEX ON t ("B", c DESC NULLS LAST, d text_pattern_ops)', ("B", "c", "d")),
        # The catalog stores `(col)` and `col COLLATE c` as the column itself.
        ('CREATE INDEX ON t ((a), b COLLATE "C", lower(c), (a + b))', ("a", "b", None, None)),
        ("CREATE INDEX ON t (a.b, a::text)", (None, None)),
    ],
)
def test_index_key_columns_agree_between_the_readers(sql: str, keys: tuple[str | None, ...]) -> None:
    """Each key's column or None, as `guard.db.indexes` matches an INVALID leftover on it."""
    t = tree(sql)
    assert isinstance(t, exp.Create)
    from_tree = read_tree.create_index(t)
    from_tokens = read_text.create_index(tokenize(sql))
    assert from_tree is not None and from_tokens is not None
    assert from_tree.key_columns == from_tokens.key_columns == keys


def test_constraint_index_columns_options_and_column_clauses() -> None:
    plain = alter('ALTER TABLE t ADD CONSTRAINT k UNIQUE (a, "B")')
    assert plain is not None and isinstance(plain.actions[0], f.AddConstraint)
    assert (
        plain.actions[0].constraint.columns_sql == 'a, "B"' and not plain.actions[0].constraint.index_options
    )
    for sql in (
        "ALTER TABLE t ADD CONSTRAINT k UNIQUE NULLS NOT DISTINCT (a)",
        "ALTER TABLE t ADD CONSTRAINT k PRIMARY KEY (a) INCLUDE (b)",
        "ALTER TABLE t ADD CONSTRAINT k UNIQUE (a) DEFERRABLE",
    ):
        fact = alter(sql)
        assert fact is not None and isinstance(fact.actions[0], f.AddConstraint), sql
        assert fact.actions[0].constraint.index_options, sql
    col = alter('ALTER TABLE t ADD COLUMN a text COLLATE "C" DEFAULT now()')
    assert col is not None and isinstance(col.actions[0], f.AddColumn)
    assert col.actions[0].column.clauses == ('COLLATE "C"',)
    typed = alter('ALTER TABLE t ALTER COLUMN a TYPE text COLLATE "C"')
    assert typed is not None and isinstance(typed.actions[0], f.AlterColumnType)
    assert typed.actions[0].collation == '"C"'


def test_insert_rows_are_read_when_asked() -> None:
    rows = read_rows.insert_rows(
        tree("INSERT INTO s.\"T\" (id, a) VALUES (1, 'x'), (-2, CAST(NULL AS text))")
    )
    assert rows is not None and rows.table == f.Name("T", 's."T"', "s")
    assert rows.columns == ("id", "a") and rows.literal and not rows.on_conflict
    assert rows.values == (("1", "'x'"), ("-2", "CAST(NULL AS TEXT)"))
    computed = read_rows.insert_rows(tree("INSERT INTO t (a) VALUES (now()) ON CONFLICT DO NOTHING"))
    assert computed is not None and not computed.literal and computed.on_conflict
    selected = read_rows.insert_rows(tree("INSERT INTO t SELECT 1"))
    assert selected is not None and selected.values is None and selected.columns == ()
    assert read_rows.insert_rows(tree("UPDATE t SET a = 1")) is None
