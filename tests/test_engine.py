"""The lint engine: suppressions (next statement, whole file, reasons, unknown ids, unused), line numbers
and severities from the config."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from guard.config import Settings
from guard.lint.engine import lint_migration, lint_migrations
from guard.model import Finding, Migration, Severity


def migration(sql: str, version: str = "20240101000000") -> Migration:
    return Migration(
        version=version,
        name="m",
        layout="hasura",
        up_path=Path(f"migrations/{version}_m/up.sql"),
        up_sql=sql,
        down_path=Path(f"migrations/{version}_m/down.sql"),
        down_sql="DROP TABLE IF EXISTS whatever;",
    )


def lint(sql: str, settings: Settings | None = None) -> list[Finding]:
    m = migration(sql)
    return lint_migration(m, settings or Settings(), [m])


def pairs(findings: list[Finding]) -> set[tuple[str, int]]:
    return {(f.rule, f.line) for f in findings}


def test_ignore_silences_the_next_statement_only() -> None:
    sql = (
        "-- guard: ignore avoid-drop-table reason: empty since 2023, owned by nobody\n"
        "DROP TABLE a;\n"
        "DROP TABLE b;\n"
    )
    assert pairs(lint(sql)) == {("avoid-drop-table", 3)}


def test_ignore_inside_a_multi_line_statement_applies_to_it() -> None:
    sql = (
        "ALTER TABLE users\n  -- guard: ignore avoid-drop-column reason: never read\n  DROP COLUMN legacy;\n"
    )
    assert lint(sql) == []


def test_ignore_several_rules_with_commas() -> None:
    sql = (
        "-- guard: ignore avoid-drop-column, avoid-rename-table reason: archive table\n"
        "ALTER TABLE users DROP COLUMN a, RENAME TO people;\n"
    )
    assert lint(sql) == []


def test_ignore_other_rule_leaves_finding_and_warns_unused() -> None:
    sql = "-- guard: ignore avoid-truncate reason: wrong rule\nDROP TABLE a;\n"
    assert pairs(lint(sql)) == {("avoid-drop-table", 2), ("unused-suppression", 1)}


def test_ignore_file_silences_every_statement() -> None:
    sql = "DROP TABLE a;\nSELECT 1;\n-- guard: ignore-file avoid-drop-table reason: test fixture database\nDROP TABLE b;\n"
    assert lint(sql) == []


def test_reason_is_mandatory() -> None:
    for directive in ("ignore", "ignore-file"):
        found = lint(f"-- guard: {directive} avoid-drop-table\nDROP TABLE a;\n")
        assert pairs(found) == {("invalid-directive", 1), ("avoid-drop-table", 2)}
        (bad,) = [f for f in found if f.rule == "invalid-directive"]
        assert "reason" in bad.message and bad.severity == Severity.ERROR


def test_unknown_rule_is_an_error_with_did_you_mean() -> None:
    found = lint("-- guard: ignore avoid-drop-tabel reason: typo\nDROP TABLE a;\n")
    assert pairs(found) == {("invalid-directive", 1), ("avoid-drop-table", 2)}
    (bad,) = [f for f in found if f.rule == "invalid-directive"]
    assert "avoid-drop-tabel" in bad.message and "did you mean 'avoid-drop-table'" in bad.message


def test_unused_suppression_is_a_warning() -> None:
    found = lint("-- guard: ignore-file avoid-drop-table reason: not needed\nSELECT 1;\n")
    assert [(f.rule, f.severity, f.line) for f in found] == [("unused-suppression", Severity.WARNING, 1)]


def test_unknown_directive_is_invalid() -> None:
    assert pairs(lint("-- guard: ignroe avoid-drop-table reason: x\nSELECT 1;")) == {("invalid-directive", 1)}


def test_block_comment_directives_work() -> None:
    assert lint("/* guard: ignore avoid-drop-table reason: fixture */ DROP TABLE a;") == []


def test_directive_inside_a_string_is_not_a_directive() -> None:
    sql = "SELECT '-- guard: ignore avoid-drop-table reason: x';\nDROP TABLE a;"
    assert pairs(lint(sql)) == {("avoid-drop-table", 2)}


def test_line_numbers_with_crlf_bom_and_dollar_bodies() -> None:
    sql = (
        "\ufeff-- header\r\n"
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\r\n"
        "BEGIN\r\n"
        "  -- ; DROP TABLE x; inside the body\r\n"
        "  RETURN NEW;\r\n"
        "END $$;\r\n"
        "\r\n"
        "DROP\r\n"
        "  TABLE a;\r\n"
    )
    (f,) = lint(sql)
    assert (f.rule, f.line, f.end_line) == ("avoid-drop-table", 8, 9)


def test_severity_override_and_disable_from_settings() -> None:
    settings = replace(
        Settings(), severity=MappingProxyType({"avoid-drop-table": Severity.WARNING}), disable=frozenset()
    )
    (f,) = lint("DROP TABLE a;", settings)
    assert f.severity == Severity.WARNING
    disabled = replace(Settings(), disable=frozenset({"avoid-drop-table"}))
    assert lint("DROP TABLE a;", disabled) == []


def test_unanalysed_statement_warns_and_can_be_made_an_error() -> None:
    sql = "CREATE STATISTICS s1 (dependencies) ON a, b FROM t1;"
    (f,) = lint(sql)
    assert (f.rule, f.severity) == ("unanalysed-statement", Severity.WARNING)
    strict = replace(Settings(), severity=MappingProxyType({"unanalysed-statement": Severity.ERROR}))
    (g,) = lint(sql, strict)
    assert g.severity == Severity.ERROR


@pytest.mark.parametrize(
    ("sql", "severity"),
    [
        # may change existing objects: blocks by default (fail closed)
        ("ALTER SERVER files OPTIONS (SET path '/new');", Severity.ERROR),
        ("DROP SERVER remote CASCADE;", Severity.ERROR),
        ("ALTER FOREIGN TABLE ft DROP COLUMN a;", Severity.ERROR),
        ("SECURITY LABEL ON TABLE t IS 'x';", Severity.ERROR),
        ("ALTER SYSTEM SET work_mem = '1GB';", Severity.ERROR),
        ("DISCARD ALL;", Severity.ERROR),
        ("SELECT 'never closed;", Severity.ERROR),
        # only creates a new object: a warning
        ("CREATE STATISTICS s1 ON a, b FROM t1;", Severity.WARNING),
        ("CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw;", Severity.WARNING),
        ("CREATE FOREIGN TABLE ft (a int) SERVER remote;", Severity.WARNING),
    ],
)
def test_unanalysed_statement_blocks_what_may_change_existing_objects(sql: str, severity: Severity) -> None:
    found = [f for f in lint(sql) if f.rule == "unanalysed-statement"]
    assert [f.severity for f in found] == [severity]
    assert ("may change existing objects" in found[0].message) is (severity == Severity.ERROR)
    # the config's severity for the rule overrides the finding's own, both ways
    lenient = replace(Settings(), severity=MappingProxyType({"unanalysed-statement": Severity.INFO}))
    assert [f.severity for f in lint(sql, lenient) if f.rule == "unanalysed-statement"] == [Severity.INFO]


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE EXTENSION IF NOT EXISTS pgcrypto;",
        "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO app;",
        "CREATE OPERATOR CLASS c FOR TYPE int USING btree AS OPERATOR 1 <;",
        "ALTER TYPE mood RENAME VALUE 'a' TO 'b';",
        "PREPARE TRANSACTION 'x';",
        "COMMENT ON TABLE t IS 'x';",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY mv;",
        "DROP OWNED BY reporting;",
    ],
)
def test_statements_some_rule_judges_are_not_unanalysed(sql: str) -> None:
    assert "unanalysed-statement" not in {f.rule for f in lint(sql)}


def test_unterminated_input_is_unanalysed_not_safe() -> None:
    found = lint("DROP TABLE a;\nSELECT 'never closed;\n")
    assert pairs(found) >= {("avoid-drop-table", 1), ("unanalysed-statement", 2)}


def test_exit_code_follows_fail_on() -> None:
    m = migration("CREATE STATISTICS s1 (dependencies) ON a, b FROM t1;")
    assert lint_migrations([m], Settings()).exit_code == 0
    assert lint_migrations([m], replace(Settings(), fail_on=Severity.WARNING)).exit_code == 1
    bad = migration("DROP TABLE a;", "20240102000000")
    result = lint_migrations([m, bad], Settings())
    assert result.exit_code == 1
    assert result.summary()["errors"] == 1 and result.summary()["warnings"] == 1
