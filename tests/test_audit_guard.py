"""Tamper evidence of the audit trail on a real Postgres: every way of disarming or emptying it is
refused on production until acknowledged, re-armed with a warning elsewhere, and a trail created by
the earlier DDL is upgraded without being reported."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from runner_helpers import history_versions, mig, runner_ctx

from guard.cli import cli
from guard.config import Settings
from guard.db.audit_guard import ACK_ACTION, CHECK_ACTION, acknowledge, inspect_trail
from guard.db.history import ensure_tables, read_audit, write_audit
from guard.db.marker import init_marker
from guard.db.runner import Session, migrate
from guard.errors import SafetyError

pytestmark = pytest.mark.db

S = "migration_guard"
ONE = [mig("1", "CREATE TABLE a (id int primary key)", "DROP TABLE a")]
TWO = [*ONE, mig("2", "CREATE TABLE b (id int primary key)", "DROP TABLE b")]

TAMPERING = {
    "drop row trigger": f"DROP TRIGGER audit_append_only ON {S}.audit",
    "drop truncate trigger": f"DROP TRIGGER audit_no_truncate ON {S}.audit",
    "disable trigger": f"ALTER TABLE {S}.audit DISABLE TRIGGER audit_append_only",
    "disable all": f"ALTER TABLE {S}.audit DISABLE TRIGGER ALL",
    "origin mode only": f"ALTER TABLE {S}.audit ENABLE TRIGGER audit_no_truncate",
    "replaced function": f"CREATE OR REPLACE FUNCTION {S}.audit_append_only() RETURNS trigger"
    " LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$",
    "trigger with WHEN": f"DROP TRIGGER audit_append_only ON {S}.audit; CREATE TRIGGER audit_append_only"
    f" BEFORE UPDATE OR DELETE ON {S}.audit FOR EACH ROW WHEN (false) EXECUTE FUNCTION {S}.audit_append_only()",
    "dropped audit table": f"DROP TABLE {S}.audit",
    "renamed audit table": f"ALTER TABLE {S}.audit RENAME TO audit_old",
    "swallowing rule": f"CREATE RULE swallow AS ON INSERT TO {S}.audit DO INSTEAD NOTHING",
    "truncated while disarmed": f"ALTER TABLE {S}.audit DISABLE TRIGGER audit_no_truncate;"
    f" TRUNCATE {S}.audit; ALTER TABLE {S}.audit ENABLE ALWAYS TRIGGER audit_no_truncate",
    "truncated with restart identity": f"ALTER TABLE {S}.audit DISABLE TRIGGER audit_no_truncate;"
    f" TRUNCATE {S}.audit RESTART IDENTITY; ALTER TABLE {S}.audit ENABLE ALWAYS TRIGGER audit_no_truncate",
}


def _run(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _actions(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [(e.action, e.outcome) for e in reversed(read_audit(conn, S))]


def test_trail_refuses_update_delete_truncate_even_in_replica_mode(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, ONE)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for sql in (f"TRUNCATE {S}.audit", f"DELETE FROM {S}.audit", f"UPDATE {S}.audit SET actor = 'x'"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(sql)  # type: ignore[arg-type]
        conn.execute("SET session_replication_role = replica")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(f"TRUNCATE {S}.audit")  # type: ignore[arg-type]
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(f"DELETE FROM {S}.audit")  # type: ignore[arg-type]
    assert inspect_trail(psycopg.connect(fresh_db, autocommit=True), S).problems == []


def test_trail_created_by_the_earlier_ddl_is_upgraded_not_reported(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        ensure_tables(conn, S)  # the DDL deployed databases already have (no TRUNCATE trigger)
        write_audit(conn, S, run_id="r", actor="a", action="migrate", outcome="ok")
        state = inspect_trail(conn, S)
        assert state.problems == [] and state.needs_arming
    lines: list[str] = []
    with runner_ctx(fresh_db, lines=lines) as ctx:
        ctx.env = "prod"
        migrate(ctx, ONE)
    assert history_versions(fresh_db) == ["1"]
    assert any("one-time upgrade" in line for line in lines)
    assert all(action != CHECK_ACTION for action, _ in _actions(fresh_db))
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        _run(fresh_db, f"TRUNCATE {S}.audit")


def test_each_tampering_refuses_prod_until_acknowledged(fresh_db: str) -> None:
    """One database, each way in turn: tamper, be refused twice, acknowledge, migrate again."""
    migrations = list(ONE)
    with runner_ctx(fresh_db) as ctx:
        ctx.env = "prod"
        migrate(ctx, migrations)
        for n, how in enumerate(sorted(TAMPERING), start=2):
            migrations.append(mig(str(n), f"CREATE TABLE t{n} (id int)"))
            _run(fresh_db, TAMPERING[how])
            for _ in range(2):  # the refusal persists: recording it must not make the trail look intact
                with pytest.raises(SafetyError, match="tampered with") as info:
                    migrate(ctx, migrations)
                assert "audit ack" in (info.value.hint or ""), how
            assert len(history_versions(fresh_db)) == n - 1, how
            with Session(ctx, ACK_ACTION, check_trail=False) as session:
                found = acknowledge(
                    ctx.conn, S, f"dba cleanup: {how}", lambda a, o, e: session.audit(o, (), e, action=a)
                )
            assert found, how
            migrate(ctx, migrations)
            assert len(history_versions(fresh_db)) == n, how
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                ack = next(e for e in read_audit(conn, S) if e.action == ACK_ACTION)
                assert how in (ack.error or "") and inspect_trail(conn, S).all_problems() == [], how
                with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                    conn.execute(f"TRUNCATE {S}.audit")  # type: ignore[arg-type]


@pytest.mark.parametrize("how", ["disable all", "truncated while disarmed", "dropped audit table"])
def test_tampering_on_dev_warns_and_rearms(fresh_db: str, how: str) -> None:
    lines: list[str] = []
    with runner_ctx(fresh_db, lines=lines) as ctx:
        ctx.env = "dev"
        migrate(ctx, ONE)
        _run(fresh_db, TAMPERING[how])
        migrate(ctx, TWO)
        assert any(line.startswith("WARNING: audit trail tampered with") for line in lines)
        lines.clear()
        migrate(ctx, TWO)
        assert not any("WARNING" in line for line in lines)
    assert (CHECK_ACTION, "rearmed") in _actions(fresh_db)
    assert history_versions(fresh_db) == ["1", "2"]
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        _run(fresh_db, f"TRUNCATE {S}.audit")


def test_the_default_environment_is_production(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, ONE)
        _run(fresh_db, TAMPERING["disable trigger"])
        with pytest.raises(SafetyError, match="tampered with"):
            migrate(ctx, TWO)


def test_cli_prod_refuses_then_audit_ack_rearms(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        init_marker(conn, Settings(), "prod", prod_unlocked=True)
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_a.up.sql").write_text("CREATE TABLE a (id int PRIMARY KEY);\n")
    (folder / "1_a.down.sql").write_text("DROP TABLE a;\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", fresh_db)
    monkeypatch.setenv("CONFIRM_PROD_MIGRATE", "YES")
    for var in ("NODE_ENV", "VERCEL_ENV"):
        monkeypatch.delenv(var, raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    assert run("migrate", str(folder), "--env", "prod")[0] == 0
    assert run("audit", "check", str(folder), "--env", "prod")[0] == 0
    _run(fresh_db, TAMPERING["disable all"])
    (folder / "2_b.up.sql").write_text("CREATE TABLE b (id int PRIMARY KEY);\n")
    (folder / "2_b.down.sql").write_text("DROP TABLE b;\n")
    code, _, err = run("migrate", str(folder), "--env", "prod")
    assert code == 2 and "tampered with" in err and "audit ack" in err and "Traceback" not in err
    assert run("audit", "check", str(folder), "--env", "prod")[0] == 2
    code, out, _ = run("plan", str(folder), "--env", "prod")  # the developer's dry run says so too
    assert code == 2 and "refused: the audit trail has been tampered with" in out
    code, _, err = run("audit", "ack", str(folder), "--env", "prod")
    assert code == 2 and "--reason" in err  # a reason is required
    monkeypatch.delenv("CONFIRM_PROD_MIGRATE")
    code, _, err = run("audit", "ack", str(folder), "--env", "prod", "--reason", "checked by ops")
    assert code == 2 and "CONFIRM_PROD_MIGRATE" in err  # re-arming prod is a change: the hard lock
    monkeypatch.setenv("CONFIRM_PROD_MIGRATE", "YES")
    code, out, _ = run("audit", "ack", str(folder), "--env", "prod", "--reason", "checked by ops")
    assert code == 0 and "acknowledged: the trigger audit_append_only was altered" in out
    assert run("migrate", str(folder), "--env", "prod")[0] == 0
    assert history_versions(fresh_db) == ["1", "2"]
    code, out, _ = run("audit", "ack", str(folder), "--env", "prod", "--reason", "again")
    assert code == 0 and "nothing to acknowledge" in out
