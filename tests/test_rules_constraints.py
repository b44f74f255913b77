"""Constraint rules: NOT VALID, validation timing, USING INDEX, exclusion, NOT NULL (with the 12 cut-off)."""

from __future__ import annotations

import pytest
from fix_sql_helpers import parses
from rules_helpers import fired, lint_sql

FK = "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id)"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (FK + ";", True),
        (FK + " NOT VALID;", False),
        ("ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users;", True),
        ("ALTER TABLE orders ADD CONSTRAINT c CHECK (total >= 0);", True),
        ("ALTER TABLE orders ADD CONSTRAINT c CHECK (total >= 0) NOT VALID;", False),
        ("ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);", True),
        ("ALTER TABLE orders ADD COLUMN note text;", False),
        (
            'ALTER TABLE ONLY "public"."orders" ADD CONSTRAINT "fk" FOREIGN KEY ("u") REFERENCES "users"("id");',
            True,
        ),
        # new table: nobody else sees it, no rows to check
        ("CREATE TABLE orders (id bigint, user_id bigint);\n" + FK + ";", False),
        ("CREATE TABLE orders (id bigint, user_id bigint REFERENCES users (id));", False),
    ],
)
def test_require_not_valid_constraint(sql: str, expected: bool) -> None:
    assert ("require-not-valid-constraint" in fired(sql)) is expected


def test_not_valid_fix_uses_real_names() -> None:
    [f] = [f for f in lint_sql(FK + ";") if f.rule == "require-not-valid-constraint"]
    assert "SHARE ROW EXCLUSIVE" in f.message and "orders" in f.message and "users" in f.message
    assert "NOT VALID;" in f.fix
    assert "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;" in f.fix
    [c] = [
        f for f in lint_sql("ALTER TABLE o ADD CHECK (a > 0);") if f.rule == "require-not-valid-constraint"
    ]
    assert "ACCESS EXCLUSIVE (blocks reads and writes)" in c.message


@pytest.mark.parametrize(
    ("sql", "kw", "expected"),
    [
        (
            "ALTER TABLE o ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nALTER TABLE o VALIDATE CONSTRAINT c;",
            {},
            True,
        ),
        (FK + " NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;", {}, True),
        # validating a constraint added by an earlier migration is the safe second step
        ("ALTER TABLE o VALIDATE CONSTRAINT c;", {}, False),
        # the runner drops BEGIN/COMMIT and runs both blocks in its one transaction
        (
            "BEGIN;\nALTER TABLE o ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nCOMMIT;\n"
            "BEGIN;\nALTER TABLE o VALIDATE CONSTRAINT c;\nCOMMIT;",
            {},
            True,
        ),
        # committed in between by a file that manages its own transactions: separate transactions
        (
            "-- guard: no-transaction\nBEGIN;\nALTER TABLE o ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\n"
            "COMMIT;\nBEGIN;\nALTER TABLE o VALIDATE CONSTRAINT c;\nCOMMIT;",
            {},
            False,
        ),
        (
            "ALTER TABLE o ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nALTER TABLE o VALIDATE CONSTRAINT c;",
            {"transaction": False},
            False,
        ),
    ],
)
def test_validate_constraint_separately(sql: str, kw: dict[str, object], expected: bool) -> None:
    assert ("validate-constraint-separately" in fired(sql, **kw)) is expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);", True),
        ("ALTER TABLE users ADD UNIQUE (email);", True),
        ("ALTER TABLE users ADD PRIMARY KEY (id);", True),
        ("ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id);", True),
        ("ALTER TABLE users ADD COLUMN code text UNIQUE;", True),
        ("ALTER TABLE users ADD COLUMN uid bigint PRIMARY KEY;", True),
        ("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;", False),
        ("ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_pkey;", False),
        ("CREATE TABLE users (id bigint);\nALTER TABLE users ADD PRIMARY KEY (id);", False),
    ],
)
def test_require_unique_index_first(sql: str, expected: bool) -> None:
    assert ("require-unique-index-first" in fired(sql)) is expected


def test_unique_fix_builds_index_concurrently_with_real_names() -> None:
    sql = "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);"
    [f] = [f for f in lint_sql(sql) if f.rule == "require-unique-index-first"]
    assert "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);" in f.fix
    assert "ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;" in f.fix


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("ALTER TABLE b ADD CONSTRAINT x EXCLUDE USING gist (room WITH =, during WITH &&);", True),
        (
            "CREATE TABLE b (room int, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));",
            False,
        ),
        ("CREATE TABLE b (room int);\nALTER TABLE b ADD EXCLUDE USING gist (room WITH =);", False),
    ],
)
def test_avoid_exclusion_constraint(sql: str, expected: bool) -> None:
    assert ("avoid-exclusion-constraint" in fired(sql)) is expected


CHECK_VALID = "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL);"
CHECK_NOT_VALID = "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;"
VALIDATE = "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;"
SET_NN = "ALTER TABLE users ALTER COLUMN email SET NOT NULL;"


@pytest.mark.parametrize(
    ("sql", "earlier", "version", "expected"),
    [
        (SET_NN, (), 15, True),
        ("ALTER TABLE users ALTER email SET NOT NULL;", (), 15, True),
        ("ALTER TABLE users ALTER COLUMN email DROP NOT NULL;", (), 15, False),
        ("CREATE TABLE users (email text);\n" + SET_NN, (), 15, False),
        # validated check in an earlier migration: instant on 12+, still a scan on 11
        (SET_NN, (CHECK_NOT_VALID, VALIDATE), 12, False),
        (SET_NN, (CHECK_NOT_VALID, VALIDATE), 11, True),
        (SET_NN, (CHECK_VALID,), 15, False),
        # check never validated: Postgres still scans
        (SET_NN, (CHECK_NOT_VALID,), 15, True),
        # a check on another column does not help
        ("ALTER TABLE users ALTER COLUMN name SET NOT NULL;", (CHECK_VALID,), 15, True),
        # validated in this file, then SET NOT NULL (the strong_migrations sequence)
        (VALIDATE + "\n" + SET_NN, (CHECK_NOT_VALID,), 15, False),
        # a constraint name that does not spell the column, validated in its own migration
        (
            SET_NN,
            (
                "ALTER TABLE users ADD CONSTRAINT chk_1 CHECK (email IS NOT NULL) NOT VALID;",
                "ALTER TABLE users VALIDATE CONSTRAINT chk_1;",
            ),
            15,
            False,
        ),
    ],
)
def test_avoid_set_not_null(sql: str, earlier: tuple[str, ...], version: int, expected: bool) -> None:
    assert ("avoid-set-not-null" in fired(sql, earlier=earlier, pg_version=version)) is expected


def test_set_not_null_fix_is_the_check_sequence() -> None:
    [f] = [f for f in lint_sql(SET_NN) if f.rule == "avoid-set-not-null"]
    assert "CHECK (email IS NOT NULL) NOT VALID" in f.fix and "VALIDATE CONSTRAINT" in f.fix
    assert "ACCESS EXCLUSIVE" in f.message


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("ALTER TABLE users ADD COLUMN plan text NOT NULL;", True),
        ('ALTER TABLE "Users" ADD COLUMN "plan" TEXT NOT NULL;', True),
        ("ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';", False),
        ("ALTER TABLE users ADD COLUMN plan text DEFAULT 'free' NOT NULL;", False),
        ("ALTER TABLE users ADD COLUMN plan text;", False),
        ("ALTER TABLE users ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY NOT NULL;", False),
        ("CREATE TABLE users (id bigint);\nALTER TABLE users ADD COLUMN plan text NOT NULL;", False),
    ],
)
def test_require_default_for_not_null(sql: str, expected: bool) -> None:
    assert ("require-default-for-not-null" in fired(sql)) is expected


# --- ADD PRIMARY KEY USING INDEX (eugene W14) ------------------------------------------------------------

BOOKS = "CREATE TABLE books (id bigint, isbn text NOT NULL, title text);"
BOOK_INDEXES = (
    "CREATE UNIQUE INDEX CONCURRENTLY books_id_key ON books (id);\n"
    "CREATE UNIQUE INDEX CONCURRENTLY books_isbn_key ON books (isbn DESC);"
)
PK_ID = "ALTER TABLE books ADD CONSTRAINT books_pkey PRIMARY KEY USING INDEX books_id_key;"
PK_ISBN = "ALTER TABLE books ADD CONSTRAINT books_pkey PRIMARY KEY USING INDEX books_isbn_key;"
NOT_NULL_CHECK = (
    "ALTER TABLE books ADD CONSTRAINT books_id_nn CHECK (id IS NOT NULL) NOT VALID;",
    "ALTER TABLE books VALIDATE CONSTRAINT books_id_nn;",
)


@pytest.mark.parametrize(
    ("sql", "earlier", "pg", "expected"),
    [
        (PK_ID, (BOOKS, BOOK_INDEXES), 15, True),  # id is nullable
        (PK_ISBN, (BOOKS, BOOK_INDEXES), 15, False),  # isbn is declared NOT NULL
        (PK_ISBN, (BOOKS, BOOK_INDEXES, "ALTER TABLE books ALTER COLUMN isbn DROP NOT NULL;"), 15, True),
        (PK_ID, (BOOKS, BOOK_INDEXES, "ALTER TABLE books ALTER COLUMN id SET NOT NULL;"), 15, False),
        # a validated CHECK (id IS NOT NULL) lets Postgres 12+ skip the scan; 11 still scans
        (PK_ID, (BOOKS, BOOK_INDEXES, *NOT_NULL_CHECK), 15, False),
        (PK_ID, (BOOKS, BOOK_INDEXES, *NOT_NULL_CHECK), 11, True),
        # the index is unknown: fail closed
        ("ALTER TABLE books ADD PRIMARY KEY USING INDEX books_pkey;", (BOOKS,), 15, True),
        ("ALTER TABLE books ADD PRIMARY KEY USING INDEX books_pkey;", (), 15, True),
        # an expression index column cannot be proven NOT NULL
        (
            PK_ID,
            (BOOKS, "CREATE UNIQUE INDEX CONCURRENTLY books_id_key ON books ((lower(title)));"),
            15,
            True,
        ),
        # UNIQUE USING INDEX does not touch nullability
        (
            "ALTER TABLE books ADD CONSTRAINT u UNIQUE USING INDEX books_id_key;",
            (BOOKS, BOOK_INDEXES),
            15,
            False,
        ),
        # a table created in this migration is empty
        (BOOKS + "\nCREATE UNIQUE INDEX books_id_key ON books (id);\n" + PK_ID, (), 15, False),
    ],
)
def test_require_not_null_before_primary_key(
    sql: str, earlier: tuple[str, ...], pg: int, expected: bool
) -> None:
    assert ("require-not-null-before-primary-key" in fired(sql, earlier=earlier, pg_version=pg)) is expected


def test_primary_key_using_index_message_names_the_nullable_columns() -> None:
    [finding] = [
        f
        for f in lint_sql(PK_ID, earlier=(BOOKS, BOOK_INDEXES))
        if f.rule == "require-not-null-before-primary-key"
    ]
    assert "SET NOT NULL on id" in finding.message and "ACCESS EXCLUSIVE" in finding.message
    assert "CHECK (id IS NOT NULL) NOT VALID" in finding.fix


# --- accuracy (issue 13) ----------------------------------------------------------------------

NV = "require-not-valid-constraint"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # a column named `valid` is not the NOT VALID clause
        ("ALTER TABLE users ADD CONSTRAINT c CHECK (valid);", True),
        ("ALTER TABLE users ADD CONSTRAINT c CHECK (valid) NOT VALID;", False),
        ("ALTER TABLE users ADD CONSTRAINT c CHECK (not valid);", True),
        ("ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (valid) REFERENCES v (id);", True),
    ],
)
def test_a_column_named_valid_is_not_not_valid(sql: str, expected: bool) -> None:
    assert (NV in fired(sql)) is expected


def test_a_constraint_named_like_valid_is_tracked_by_the_clause() -> None:
    """`VALIDATE` of a check over a `valid` column added in the same transaction without NOT VALID is
    not the NOT VALID + VALIDATE pair."""
    sql = "ALTER TABLE o ADD CONSTRAINT c CHECK (valid);\nALTER TABLE o VALIDATE CONSTRAINT c;"
    assert "validate-constraint-separately" not in fired(sql)


def test_check_fix_is_sql_from_the_model_that_parses() -> None:
    """The constraint openmeter adds 12 times: its fix once glued `> =` and `| |` from tokens."""
    sql = "ALTER TABLE t ADD CONSTRAINT c CHECK(a >= 0 AND a <= 10 AND a != 5 AND b || 'x' <> 'yx');"
    [f] = [f for f in lint_sql(sql) if f.rule == NV]
    assert (
        "ALTER TABLE t ADD CONSTRAINT c CHECK(a >= 0 AND a <= 10 AND a != 5 AND b || 'x' <> 'yx') NOT VALID;"
        in f.fix  # the user's spelling of the check, never glued from tokens (`> =`, `| |`)
    )
    assert parses(f.fix)


@pytest.mark.parametrize(
    "sql",
    [
        FK + ";",
        "ALTER TABLE o ADD CHECK (a > 0);",
        'ALTER TABLE "Order" ADD FOREIGN KEY ("userId") REFERENCES "User"(id) ON DELETE CASCADE;',
        "ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);",
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        'ALTER TABLE "T" ADD PRIMARY KEY ("order", id);',
        "ALTER TABLE users ADD COLUMN code text UNIQUE;",
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        "ALTER TABLE users ADD COLUMN plan text NOT NULL;",
        "ALTER TABLE users ADD COLUMN n int[] NOT NULL;",
        "ALTER DOMAIN d ADD CONSTRAINT d_pos CHECK (VALUE > 0);",
        "ALTER DOMAIN d ADD CHECK (VALUE > 0);",
        "ALTER DOMAIN d SET NOT NULL;",
        "CREATE UNIQUE INDEX users_id_key ON users (id);\n"
        "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_key;",
    ],
)
def test_constraint_fixes_parse(sql: str) -> None:
    family = {
        NV,
        "require-unique-index-first",
        "avoid-set-not-null",
        "require-default-for-not-null",
        "require-not-valid-domain-constraint",
        "require-not-null-before-primary-key",
    }
    found = [f for f in lint_sql(sql) if f.rule in family]
    assert found
    for f in found:
        assert "<" not in f.fix.replace("<>", "") and parses(f.fix), f"{f.rule}: {f.fix}"


DEFAULT_RULE = "require-default-for-not-null"
ADD = "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';\n"


@pytest.mark.parametrize(
    ("sql", "earlier", "lines"),
    [
        # the release still running inserts without `plan`: with the default gone, those inserts fail
        (ADD + "ALTER TABLE users ALTER COLUMN plan DROP DEFAULT;", (), [2]),
        (
            "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free', ALTER COLUMN plan DROP DEFAULT;",
            (),
            [1],
        ),
        (
            'ALTER TABLE "U" ADD COLUMN "Plan" text NOT NULL DEFAULT \'x\';\nALTER TABLE "U" ALTER "Plan" DROP DEFAULT;',
            (),
            [2],
        ),
        # a nullable column, another column, another table: nothing breaks
        (
            "ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';\nALTER TABLE users ALTER COLUMN plan DROP DEFAULT;",
            (),
            [],
        ),
        (ADD + "ALTER TABLE users ALTER COLUMN other DROP DEFAULT;", (), []),
        (ADD + "ALTER TABLE accounts ALTER COLUMN plan DROP DEFAULT;", (), []),
        # a new default replaces the first one: still a default
        (
            ADD
            + "ALTER TABLE users ALTER COLUMN plan SET DEFAULT 'basic';\nALTER TABLE users ALTER COLUMN plan DROP DEFAULT;",
            (),
            [3],
        ),
        (ADD + "ALTER TABLE users ALTER COLUMN plan SET DEFAULT 'basic';", (), []),
        # added by an earlier migration (already deployed): dropping the default is the contract step
        ("ALTER TABLE users ALTER COLUMN plan DROP DEFAULT;", (ADD,), []),
        # a table created in this file has no running release writing to it
        (
            "CREATE TABLE users (id int);\n" + ADD + "ALTER TABLE users ALTER COLUMN plan DROP DEFAULT;",
            (),
            [],
        ),
    ],
)
def test_dropping_the_default_of_a_new_not_null_column_in_the_same_migration(
    sql: str, earlier: tuple[str, ...], lines: list[int]
) -> None:
    found = [f for f in lint_sql(sql, earlier=earlier) if f.rule == DEFAULT_RULE]
    assert [f.line for f in found] == lines
    for f in found:
        assert "DROP DEFAULT" in f.message and "later migration" in f.fix


def test_primary_key_history_is_read_once_per_file() -> None:
    """`require-not-null-before-primary-key` reads this file's earlier statements from the context,
    which files each statement once, not by rescanning the file for every ADD PRIMARY KEY."""
    from rules_helpers import migration

    from guard.config import Settings
    from guard.lint.context import FileContext
    from guard.lint.directives import read_file_directives
    from guard.parsing import split_statements

    sql = (
        "CREATE TABLE t (id bigint NOT NULL, b int);\nCREATE UNIQUE INDEX t_id ON t (id);\n"
        "ALTER TABLE t ALTER COLUMN b SET NOT NULL;\nCREATE UNIQUE INDEX u_x ON u (x);"
    )
    m = migration(sql)
    statements, comments = split_statements(sql)
    ctx = FileContext(Settings(), m, read_file_directives(comments, ()), [m])
    for stmt in statements:
        ctx.observe(stmt)
    assert [type(f).__name__ for f in ctx.about["t"]] == ["CreateTable", "CreateIndex", "AlterTable"]
    assert [type(f).__name__ for f in ctx.about["u"]] == ["CreateIndex"]
