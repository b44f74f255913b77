"""Reversibility rules: missing, empty, comment-only and no-op downs, per layout and setting."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from guard.config import Settings
from guard.lint.engine import lint_migration
from guard.model import Finding, Migration

UP = "CREATE TABLE t (id bigint PRIMARY KEY);"


def hasura(down: str | None) -> Migration:
    folder = Path("migrations/20240101000000_create_t")
    return Migration(
        version="20240101000000",
        name="create_t",
        layout="hasura",
        up_path=folder / "up.sql",
        up_sql=UP,
        down_path=folder / "down.sql" if down is not None else None,
        down_sql=down,
    )


def lint(m: Migration, settings: Settings | None = None, others: tuple[Migration, ...] = ()) -> list[Finding]:
    return lint_migration(m, settings or Settings(), [m, *others])


def rules(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


def test_real_down_is_clean() -> None:
    assert lint(hasura("DROP TABLE t;")) == []


def test_missing_down_in_a_layout_with_downs() -> None:
    (f,) = lint(hasura(None))
    assert f.rule == "require-down-migration" and f.line == 1
    assert str(Path("migrations/20240101000000_create_t/down.sql")) in f.fix


@pytest.mark.parametrize(
    ("down", "why"),
    [
        ("", "empty"),
        ("   \n\n", "empty"),
        ("-- nothing to undo\n/* really */\n", "only comments"),
        ("SELECT 1;", "no-op"),
        ("select 1 where false;", "no-op"),
        ("BEGIN;\nSELECT NULL;\nCOMMIT;", "no-op"),
        (
            "-- Could not auto-generate a down migration.\n"
            "-- Please write an appropriate down migration for the SQL below:\n"
            "-- CREATE TABLE t (id bigint PRIMARY KEY);\n",
            "Hasura",
        ),
    ],
)
def test_noop_downs_are_errors_pointing_at_the_down_file(down: str, why: str) -> None:
    (f,) = lint(hasura(down))
    assert f.rule == "avoid-noop-down-migration"
    assert f.file.endswith("down.sql") and f.line == 1
    assert why in f.message


@pytest.mark.parametrize("down", ["SELECT drop_everything();", "SELECT 1 FROM t;", "DELETE FROM t;"])
def test_downs_that_do_something_are_not_noops(down: str) -> None:
    assert "avoid-noop-down-migration" not in rules(lint(hasura(down)))


def test_dbmate_down_section_points_at_its_line() -> None:
    m = Migration(
        version="20240101000000",
        name="t",
        layout="dbmate",
        up_path=Path("db/migrations/20240101000000_t.sql"),
        up_sql=UP,
        down_path=Path("db/migrations/20240101000000_t.sql"),
        down_sql="\n",
        up_line=2,
        down_line=4,
    )
    (f,) = lint(m)
    assert (f.rule, f.line) == ("avoid-noop-down-migration", 4)


@pytest.mark.parametrize(
    ("layout", "up", "where"),
    [
        (
            "prisma",
            "prisma/migrations/20240101000000_t/migration.sql",
            "prisma/migrations/20240101000000_t/down.sql",
        ),
        ("plain", "migrations/0001_t.sql", "migrations/0001_t.down.sql"),
        ("flyway", "sql/V1__t.sql", "sql/U1__t.sql"),
        ("golang-migrate", "m/1_t.up.sql", "m/1_t.down.sql"),
    ],
)
def test_layouts_without_downs_follow_require_down(layout: str, up: str, where: str) -> None:
    m = Migration(version="1", name="t", layout=layout, up_path=Path(up), up_sql=UP)
    (f,) = lint(m)
    assert f.rule == "require-down-migration"
    assert str(Path(where)) in f.fix
    if layout != "golang-migrate":
        assert "require_down = false" in f.fix
        assert lint(m, replace(Settings(), require_down=False)) == []
    else:  # golang-migrate always has downs: the setting does not excuse it
        assert rules(lint(m, replace(Settings(), require_down=False))) == ["require-down-migration"]


def test_flyway_with_undo_scripts_elsewhere_requires_them_everywhere() -> None:
    undo = Migration(
        version="1",
        name="a",
        layout="flyway",
        up_path=Path("sql/V1__a.sql"),
        up_sql=UP,
        down_path=Path("sql/U1__a.sql"),
        down_sql="DROP TABLE t;",
    )
    m = Migration(version="2", name="b", layout="flyway", up_path=Path("sql/V2__b.sql"), up_sql=UP)
    assert rules(lint(m, replace(Settings(), require_down=False), (undo,))) == ["require-down-migration"]


def test_missing_down_can_be_suppressed_for_the_file_with_a_reason() -> None:
    m = replace(
        hasura(None),
        up_sql="-- guard: ignore-file require-down-migration reason: seed data, dropped with the database\n"
        + UP,
    )
    assert lint(m) == []


NOOP = "avoid-noop-down-migration"


@pytest.mark.parametrize(
    "up",
    [
        "",
        "-- nothing yet",
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;",
        "SET lock_timeout = '5s';\nALTER TABLE orders VALIDATE CONSTRAINT a, VALIDATE CONSTRAINT b;\nANALYZE orders;",
        "CREATE TABLE scratch (id int);\nINSERT INTO scratch SELECT id FROM users;\nDROP TABLE scratch;",
        "CREATE TYPE tmp_mood AS ENUM ('a');\nDROP TYPE tmp_mood;",
        "CREATE TEMP TABLE ids AS SELECT 1;\nVACUUM orders;",
    ],
)
def test_noop_down_is_right_when_the_up_has_nothing_to_undo(up: str) -> None:
    assert NOOP not in rules(lint(replace(hasura("SELECT 1;"), up_sql=up)))


@pytest.mark.parametrize(
    "up",
    [
        "ALTER TABLE orders VALIDATE CONSTRAINT a, ADD COLUMN note text;",
        "CREATE TABLE scratch (id int);\nINSERT INTO scratch SELECT 1;",  # left behind
        "CREATE TABLE scratch (id int);\nDROP TABLE scratch;\nDROP TABLE users;",
        "UPDATE users SET a = 1 WHERE id = 2;",
        "ALTER TYPE mood ADD VALUE 'curious';",
        "SELECT backfill_users();",
        "COMMENT ON TABLE users IS 'people';",
    ],
)
def test_noop_down_is_wrong_when_the_up_changes_something(up: str) -> None:
    found = [f for f in lint(replace(hasura("SELECT 1;"), up_sql=up)) if f.rule == NOOP]
    assert len(found) == 1 and "-- guard: irreversible reason: <why>" in found[0].fix


IRREVERSIBLE_UP = (
    "-- guard: irreversible reason: Postgres cannot drop an enum value\nALTER TYPE mood ADD VALUE 'curious';"
)


@pytest.mark.parametrize("down", [None, "SELECT 1;", ""])
def test_irreversible_directive_satisfies_both_rules(down: str | None) -> None:
    ours = {"require-down-migration", NOOP}
    m = replace(hasura(down), up_sql=IRREVERSIBLE_UP)
    assert ours.isdisjoint(rules(lint(m)))
    assert ours & set(rules(lint(replace(m, up_sql=IRREVERSIBLE_UP.split("\n")[1]))))  # without it
    plain = replace(m, layout="plain", down_path=None, down_sql=None)
    assert ours.isdisjoint(rules(lint(plain)))


@pytest.mark.parametrize(
    "directive",
    ["-- guard: irreversible", "-- guard: irreversible reason:", "-- guard: irreversible why not"],
)
def test_irreversible_directive_needs_a_reason(directive: str) -> None:
    m = replace(hasura(None), up_sql=f"{directive}\nALTER TYPE mood ADD VALUE 'curious';")
    found = lint(m)
    assert {"invalid-directive", "require-down-migration"} <= set(rules(found))
    assert any("`guard: irreversible` needs a reason" in f.message for f in found)


def test_the_irreversible_directive_in_the_down_file_declares_it_too() -> None:
    from guard.lint.directives import declared_irreversible

    down = "-- guard: irreversible reason: enum value 'meh' cannot be removed\n"
    assert (
        declared_irreversible("ALTER TYPE mood ADD VALUE 'meh';", down)
        == "enum value 'meh' cannot be removed"
    )
    assert declared_irreversible("ALTER TYPE mood ADD VALUE 'meh';", "SELECT 1;") is None
    m = replace(hasura(down), up_sql="ALTER TYPE mood ADD VALUE 'meh';")
    assert NOOP not in rules(lint(m))
    assert NOOP in rules(lint(replace(m, down_sql="-- nothing to undo\n")))
