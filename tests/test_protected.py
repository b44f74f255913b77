"""Migrations never touch migration-guard's own schema or the environment marker: lint errors that
cannot be suppressed, disabled or lowered, and a runner refusal on a real Postgres before anything runs."""

from __future__ import annotations

import dataclasses

import pytest
from rules_helpers import lint_sql
from runner_helpers import FAST, history_versions, mig, runner_ctx, scalar

from guard.config import Settings
from guard.db.history import read_audit
from guard.db.runner import migrate, rollback
from guard.errors import ConfigError, SafetyError
from guard.lint.engine import lint_migrations
from guard.model import Severity

SCHEMA_RULE, MARKER_RULE = "avoid-touching-guard-schema", "avoid-writing-env-marker"

SCHEMA_BAD = [
    "DROP SCHEMA migration_guard CASCADE",
    "ALTER SCHEMA migration_guard RENAME TO mg_old",
    "ALTER TABLE migration_guard.audit DISABLE TRIGGER ALL",
    'TRUNCATE "migration_guard"."audit"',
    "DELETE FROM Migration_Guard.history WHERE version = '1'",
    "INSERT INTO migration_guard.history (version, checksum) VALUES ('9', 'x')",
    "UPDATE migration_guard.history SET checksum = 'x'",
    "DROP TRIGGER audit_append_only ON migration_guard.audit",
    "CREATE OR REPLACE FUNCTION migration_guard.audit_append_only() RETURNS trigger LANGUAGE plpgsql"
    " AS $$BEGIN RETURN NULL; END$$",
    "SET search_path = migration_guard, public",
    "SELECT set_config('search_path', 'migration_guard', false)",
    "DO $$ BEGIN EXECUTE 'TRUNCATE migration_guard.audit'; END $$",
    "WITH gone AS (DELETE FROM migration_guard.audit RETURNING id) SELECT count(*) FROM gone",
    "SELECT * INTO migration_guard.copy FROM pg_class",
    "GRANT ALL ON ALL TABLES IN SCHEMA migration_guard TO PUBLIC",
    "ALTER TABLE users SET SCHEMA migration_guard",
]
MARKER_BAD = [
    "UPDATE public.bk_env_marker SET env = 'dev' WHERE id = 1",
    "UPDATE bk_env_marker SET env = 'dev'",
    "INSERT INTO \"bk_env_marker\" (id, env) VALUES (1, 'dev')",
    'DELETE FROM "public"."bk_env_marker"',
    "TRUNCATE public.bk_env_marker",
    "DROP TABLE IF EXISTS bk_env_marker",
    "ALTER TABLE bk_env_marker RENAME TO bk_env_marker_old",
    "ALTER TABLE public.BK_ENV_MARKER DROP CONSTRAINT bk_env_marker_env_check",
    "CREATE VIEW bk_env_marker AS SELECT 1 AS id, 'prod'::text AS env",
    "DO $$ BEGIN EXECUTE 'UPDATE bk_env_marker SET env = ''dev'''; END $$",
    "COPY bk_env_marker FROM STDIN",
]
GOOD = [
    "SELECT env FROM bk_env_marker",
    "SELECT count(*) FROM migration_guard.history",
    "CREATE FUNCTION current_env() RETURNS text LANGUAGE sql STABLE AS $$ SELECT env FROM bk_env_marker $$",
    "CREATE TABLE markers (id bigint PRIMARY KEY)",
    "UPDATE users SET note = 'x' WHERE id = 1",
]


def _rules(sql: str, **settings: object) -> set[str]:
    return {f.rule for f in lint_sql(sql + ";", **settings)}


@pytest.mark.parametrize("sql", SCHEMA_BAD)
def test_writes_to_the_guard_schema_are_errors(sql: str) -> None:
    found = [f for f in lint_sql(sql + ";") if f.rule == SCHEMA_RULE]
    assert found and found[0].severity == Severity.ERROR, sql
    assert "migration_guard" in found[0].message


@pytest.mark.parametrize("sql", MARKER_BAD)
def test_writes_to_the_marker_are_errors(sql: str) -> None:
    found = [f for f in lint_sql(sql + ";") if f.rule == MARKER_RULE]
    assert found and found[0].severity == Severity.ERROR, sql


@pytest.mark.parametrize("sql", GOOD)
def test_reads_and_unrelated_statements_pass(sql: str) -> None:
    assert not _rules(sql) & {SCHEMA_RULE, MARKER_RULE}, sql


def test_the_configured_names_are_the_protected_ones() -> None:
    assert SCHEMA_RULE in _rules('DROP TABLE "ops history".audit', history_schema="ops history")
    assert SCHEMA_RULE not in _rules("DROP TABLE migration_guard.audit", history_schema="ops")
    assert MARKER_RULE in _rules("DELETE FROM envs.env_marker", marker_table="env_marker")


def test_suppressions_severity_and_disable_cannot_silence_them() -> None:
    sql = (
        "-- guard: ignore-file avoid-writing-env-marker reason: we know\n"
        "-- guard: ignore avoid-touching-guard-schema reason: cleanup\n"
        "TRUNCATE migration_guard.audit;\n"
        "UPDATE bk_env_marker SET env = 'dev';\n"
    )
    findings = lint_sql(sql)
    rules = [f.rule for f in findings]
    assert SCHEMA_RULE in rules and MARKER_RULE in rules
    unused = [f.message for f in findings if f.rule == "unused-suppression"]
    assert any("cannot be suppressed" in m for m in unused), unused
    m = mig("1", "TRUNCATE migration_guard.audit")
    for change in ({"disable": frozenset({SCHEMA_RULE})}, {"severity": {MARKER_RULE: Severity.INFO}}):
        with pytest.raises(ConfigError, match="cannot be disabled or lowered"):
            lint_migrations([m], dataclasses.replace(Settings(), **change))  # type: ignore[arg-type]


@pytest.mark.db
@pytest.mark.parametrize(
    "up",
    [
        "CREATE TABLE x (id int); UPDATE public.bk_env_marker SET env = 'dev' WHERE id = 1",
        "CREATE TABLE x (id int); DROP TRIGGER audit_append_only ON migration_guard.audit",
        "CREATE TABLE x (id int); DO $$ BEGIN EXECUTE 'TRUNCATE migration_guard.audit'; END $$",
    ],
)
def test_runner_refuses_before_running_without_a_lint_gate(fresh_db: str, up: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        ctx.conn.execute("CREATE TABLE bk_env_marker (id int PRIMARY KEY, env text)")
        ctx.conn.execute("INSERT INTO bk_env_marker VALUES (1, 'prod')")
        migrate(ctx, [mig("1", "SELECT 1")])
        for dry in (True, False):  # no lint gate and default settings: the runner's own check
            with pytest.raises(SafetyError, match=r"refusing to run 2_m2 \(up\): 2_m2\.up\.sql:1"):
                migrate(ctx, [mig("1", "SELECT 1"), mig("2", up)], dry=dry)
        assert read_audit(ctx.conn, "migration_guard")[0].outcome == "refused"
    assert history_versions(fresh_db) == ["1"]
    assert scalar(fresh_db, "SELECT to_regclass('x')") is None
    assert scalar(fresh_db, "SELECT env FROM bk_env_marker") == "prod"


@pytest.mark.db
def test_rollback_refuses_a_down_that_writes_the_marker(fresh_db: str) -> None:
    m = mig("1", "CREATE TABLE y (id int)", "DROP TABLE y; DELETE FROM bk_env_marker")
    with runner_ctx(fresh_db, FAST) as ctx:
        migrate(ctx, [m])
        with pytest.raises(SafetyError, match=r"refusing to run 1_m1 \(down\)"):
            rollback(ctx, [m])
    assert history_versions(fresh_db) == ["1"]


@pytest.mark.db
def test_exec_gate_refuses_a_migration_touching_the_marker(fresh_db: str) -> None:
    from guard.db.runner import Session, gate_check

    with runner_ctx(fresh_db) as ctx, Session(ctx, "exec") as session:
        with pytest.raises(SafetyError, match=r"refusing to run 1_m1 \(up\)"):
            gate_check(ctx, session, [mig("1", "TRUNCATE bk_env_marker")], None)
        assert read_audit(ctx.conn, "migration_guard")[0].outcome == "refused"


def test_a_baseline_never_accepts_them(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    from pathlib import Path

    from click.testing import CliRunner

    import guard.lint.baseline_update as baseline_update
    from guard.cli import cli
    from guard.lint.protected import LOCKED_RULES
    from guard.lint.registry import all_rules

    assert {r.id for r in all_rules().values() if not r.suppressible} == LOCKED_RULES
    root = Path(str(tmp_path))
    (root / "migration-guard.toml").write_text("cache = false\n")
    (root / "migrations").mkdir()
    (root / "migrations" / "1_flip.up.sql").write_text("UPDATE bk_env_marker SET env = 'dev' WHERE id = 1;\n")
    (root / "migrations" / "1_flip.down.sql").write_text("SELECT 1;\n")
    monkeypatch.chdir(root)

    def lint() -> tuple[int, list[str]]:
        out = CliRunner().invoke(cli, ["lint", "migrations", "--format", "json"], catch_exceptions=False)
        return out.exit_code, [f["rule"] for f in json.loads(out.stdout)["findings"]]

    assert CliRunner().invoke(cli, ["baseline", "migrations"]).exit_code == 0
    assert lint() == (1, [MARKER_RULE])  # `baseline` did not record it
    # A baseline that lists it anyway (written by hand, or by a build without this rule) accepts nothing.
    monkeypatch.setattr(baseline_update, "LOCKED_RULES", frozenset())
    assert CliRunner().invoke(cli, ["baseline", "migrations"]).exit_code == 0
    monkeypatch.undo()
    monkeypatch.chdir(root)
    assert MARKER_RULE in (root / "migration-guard-baseline.json").read_text()
    code, rules = lint()
    assert code == 1 and MARKER_RULE in rules
