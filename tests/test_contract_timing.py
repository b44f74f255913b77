"""Expand/contract timing against a real Postgres: the window on both sides (history timestamps
written directly, no sleeps), where it binds (prod) and where it does not (dev), expand in the
same run, what waits behind a contract, and precondition queries."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from runner_helpers import FAST, history_versions, mig, runner_ctx, scalar

from guard.cli import cli
from guard.db.contract import (
    ContractRefusal,
    ContractWait,
    check_preconditions,
    contract_spec,
    format_remaining,
)
from guard.db.history import read_audit
from guard.db.runner import migrate

pytestmark = pytest.mark.db

EXPAND = mig("1", "CREATE TABLE users (id int, email text, email_new text)")
BACKFILL = mig("2", "UPDATE users SET email_new = email")
CONTRACT = mig(
    "3",
    "-- guard: contract 1\n"
    "-- guard: precondition SELECT count(*) = 0 FROM users WHERE email_new IS NULL\n"
    "ALTER TABLE users DROP COLUMN email",
)


def _age_expand(url: str, hours: float) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE migration_guard.history SET applied_at = now() - make_interval(secs => %s) WHERE version = '1'",
            (hours * 3600,),
        )


def test_contract_spec_reads_the_directives() -> None:
    spec = contract_spec(CONTRACT)
    assert spec is not None and spec.expand == "1" and spec.line == 1
    assert spec.preconditions == [(2, "SELECT count(*) = 0 FROM users WHERE email_new IS NULL")]
    assert contract_spec(EXPAND) is None
    assert format_remaining(timedelta(hours=13, minutes=5, seconds=9)) == "13h 05m"
    assert format_remaining(timedelta(days=2, hours=1)) == "49h 00m"  # hours, the window's unit
    assert format_remaining(timedelta(minutes=3, seconds=4)) == "3m 04s"


def test_contract_waits_inside_the_window_with_time_remaining(fresh_db: str) -> None:
    later = mig("4", "CREATE TABLE later (id int)")
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [EXPAND, BACKFILL])
        _age_expand(fresh_db, 47)
        opens = ctx.conn.execute(
            "SELECT to_char((applied_at + interval '48 hours') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
            " FROM migration_guard.history WHERE version = '1'"
        ).fetchone()
        ctx.conn.execute("SET timezone = 'America/New_York'")  # the message is UTC whatever the session says
        report = migrate(ctx, [EXPAND, BACKFILL, CONTRACT, later])
        audit = read_audit(ctx.conn, "migration_guard")[0]
    assert report.outcomes == [] and report.wait is not None
    msg = report.wait.message()
    assert msg.startswith("3_m3 waits for its expand/contract window: it contracts 1_m1")
    assert opens is not None and f"window opens at {opens[0]} UTC" in msg
    assert "in 59m" in msg or "in 1h 00m" in msg  # ~1h left
    assert msg.endswith("waiting behind it: 4_m4")
    assert f"run migrate again after {opens[0]} UTC" in report.wait.hint()
    assert report.as_dict()["waiting"]["behind"] == ["4_m4"]
    assert history_versions(fresh_db) == ["1", "2"]
    assert audit.outcome == "waiting" and "3_m3 waits" in (audit.error or "")


def test_contract_applied_once_the_window_has_passed(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [EXPAND, BACKFILL])
        _age_expand(fresh_db, 48.01)
        report = migrate(ctx, [EXPAND, BACKFILL, CONTRACT])
    assert [o.version for o in report.outcomes] == ["3"]
    assert history_versions(fresh_db) == ["1", "2", "3"]


def test_configured_window(fresh_db: str) -> None:
    settings = dataclasses.replace(FAST, contract_window_hours=2)
    with runner_ctx(fresh_db, settings) as ctx:
        migrate(ctx, [EXPAND, BACKFILL])
        _age_expand(fresh_db, 1.5)
        waited = migrate(ctx, [EXPAND, BACKFILL, CONTRACT]).wait
        assert waited is not None and "the 2h window opens" in waited.message()
        assert "in 29m" in waited.message() or "in 30m" in waited.message()
        _age_expand(fresh_db, 2.5)
        migrate(ctx, [EXPAND, BACKFILL, CONTRACT])
    assert history_versions(fresh_db) == ["1", "2", "3"]


def test_prod_applies_the_expand_and_stops_before_its_contract(fresh_db: str) -> None:
    later = mig("4", "CREATE TABLE later (id int)")
    with runner_ctx(fresh_db) as ctx:
        report = migrate(ctx, [EXPAND, BACKFILL, CONTRACT, later])
        applied_at = ctx.conn.execute(
            "SELECT applied_at FROM migration_guard.history WHERE version = '1'"
        ).fetchone()
    assert [o.version for o in report.outcomes] == ["1", "2"]
    assert history_versions(fresh_db) == ["1", "2"]
    wait = report.wait
    assert wait is not None and wait.behind == (later,)
    # the opening is measured from the expand's own applied_at, written during this run
    assert applied_at is not None and wait.opens == applied_at[0] + timedelta(hours=48)
    assert "applied 20" in wait.message() and "in 47h 59m" in wait.message()


def test_a_prod_dry_run_stops_where_migrate_would(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        dry = migrate(ctx, [EXPAND, BACKFILL, CONTRACT], dry=True)
    assert [(o.version, o.status) for o in dry.outcomes] == [("1", "dry-run ok"), ("2", "dry-run ok")]
    assert dry.wait is not None and dry.wait.spec.migration is CONTRACT
    # A dry run only reads: it does not even create the history tables.
    assert scalar(fresh_db, "SELECT to_regclass('migration_guard.history')") is None


def test_dev_replays_expand_and_contract_in_one_run(fresh_db: str) -> None:
    with runner_ctx(fresh_db, env="dev") as ctx:
        report = migrate(ctx, [EXPAND, BACKFILL, CONTRACT])
    assert report.wait is None
    assert [o.version for o in report.outcomes] == ["1", "2", "3"]


def test_the_window_binds_where_contract_window_envs_says(fresh_db: str) -> None:
    settings = dataclasses.replace(FAST, contract_window_envs=("dev", "prod"))
    with runner_ctx(fresh_db, settings, env="dev") as ctx:
        report = migrate(ctx, [EXPAND, BACKFILL, CONTRACT])
    assert report.wait is not None and history_versions(fresh_db) == ["1", "2"]


def test_a_zero_window_never_waits_even_in_prod(fresh_db: str) -> None:
    settings = dataclasses.replace(FAST, contract_window_hours=0)
    with runner_ctx(fresh_db, settings) as ctx:
        report = migrate(ctx, [EXPAND, BACKFILL, CONTRACT])
        orphan = mig("5", "-- guard: contract 4\nSELECT 1")
        with pytest.raises(ContractRefusal) as info:
            migrate(ctx, [EXPAND, BACKFILL, CONTRACT, orphan])
    assert report.wait is None and history_versions(fresh_db) == ["1", "2", "3"]
    assert "0h" not in str(info.value)


def test_preconditions_still_bind_on_dev(fresh_db: str) -> None:
    skip_backfill = mig("2", "INSERT INTO users VALUES (1, 'a@example.com', NULL)")
    with runner_ctx(fresh_db, env="dev") as ctx, pytest.raises(ContractRefusal, match="returned False"):
        migrate(ctx, [EXPAND, skip_backfill, CONTRACT])
    assert history_versions(fresh_db) == ["1", "2"]


def test_after_to_on_dev_a_later_migration_can_be_dry_run(fresh_db: str) -> None:
    later = mig("4", "CREATE TABLE later (id int)")
    with runner_ctx(fresh_db, env="dev") as ctx:
        migrate(ctx, [EXPAND, BACKFILL, CONTRACT], to="2")
        dry = migrate(ctx, [EXPAND, BACKFILL, CONTRACT, later], dry=True)
    assert [(o.version, o.status) for o in dry.outcomes] == [("3", "dry-run ok"), ("4", "dry-run ok")]
    assert dry.wait is None and history_versions(fresh_db) == ["1", "2"]


def test_expand_never_applied_is_refused(fresh_db: str) -> None:
    orphan = mig("5", "-- guard: contract 4\nSELECT 1")
    with runner_ctx(fresh_db) as ctx, pytest.raises(ContractRefusal, match="is not applied to this database"):
        migrate(ctx, [orphan])


def test_failing_precondition_quotes_the_query(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [EXPAND])
        ctx.conn.execute("INSERT INTO users VALUES (1, 'a@example.com', NULL)")
        _age_expand(fresh_db, 100)
        skip_backfill = mig("2", "SELECT 1")
        with pytest.raises(ContractRefusal) as info:
            migrate(ctx, [EXPAND, skip_backfill, CONTRACT])
        assert "SELECT count(*) = 0 FROM users WHERE email_new IS NULL" in info.value.message
        assert "returned False" in info.value.message
        assert history_versions(fresh_db) == ["1", "2"]
        ctx.conn.execute("UPDATE users SET email_new = email")
        migrate(ctx, [EXPAND, skip_backfill, CONTRACT])
    assert history_versions(fresh_db) == ["1", "2", "3"]


def test_precondition_cannot_write_and_errors_are_quoted(fresh_db: str) -> None:
    sneaky = mig(
        "3", "-- guard: contract 1\n-- guard: precondition DELETE FROM users RETURNING true\nSELECT 1"
    )
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [EXPAND])
        ctx.conn.execute("INSERT INTO users VALUES (1, 'a', 'a')")
        _age_expand(fresh_db, 100)
        with pytest.raises(ContractRefusal, match="read-only"):
            migrate(ctx, [EXPAND, sneaky])
        rows = ctx.conn.execute("SELECT count(*) FROM users").fetchone()
    assert rows == (1,)


def test_window_uses_the_database_clock() -> None:
    from guard.db.contract import ContractSpec, window_opens
    from guard.db.history import AppliedMigration

    applied_at = datetime(2024, 1, 1, tzinfo=UTC)
    row = AppliedMigration("1", "m1", "x", "applied", 1, applied_at, 1.0, "u@h", "0")
    spec = ContractSpec(CONTRACT, "1", 1)
    assert window_opens(spec, {"1": row}, applied_at + timedelta(hours=48), 48) is None
    wait = window_opens(spec, {"1": row}, applied_at + timedelta(hours=48) - timedelta(seconds=1), 48)
    assert wait is not None and "opens at 2024-01-03 00:00:00 UTC, in 1s" in wait.message()


# --- the sample project end to end through the CLI ----------------------------------------------

APP = Path(__file__).resolve().parent.parent / "sample_migrations" / "app"
CONTRACT_ID = "20240110090000_contract_users_full_name"


def _cli(
    url: str, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str, cmd: str = "migrate"
) -> Result:
    """`migration-guard CMD <args> --env ENV` (default args: sample_migrations/app) against a
    database marked ENV."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bk_env_marker (id integer PRIMARY KEY CHECK (id = 1),"
            " env text NOT NULL CHECK (env IN ('dev', 'prod')))"
        )
        conn.execute("INSERT INTO bk_env_marker VALUES (1, %s) ON CONFLICT DO NOTHING", (env,))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    for var in ("NODE_ENV", "VERCEL_ENV"):
        monkeypatch.delenv(var, raising=False)
    if env == "prod":
        monkeypatch.setenv("CONFIRM_PROD_MIGRATE", "YES")
    else:
        monkeypatch.delenv("CONFIRM_PROD_MIGRATE", raising=False)
    args = args if args and not args[0].startswith("-") else (str(APP), *args)
    return CliRunner().invoke(cli, [cmd, *args, "--env", env], catch_exceptions=False)


def test_sample_app_builds_in_one_run_on_an_empty_dev_database(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _cli(fresh_db, "dev", monkeypatch, tmp_path)
    assert result.exit_code == 0, result.output
    assert len(history_versions(fresh_db)) == 11
    assert any(line.startswith("  applied") and CONTRACT_ID in line for line in result.stdout.splitlines())


def test_sample_app_in_prod_stops_before_the_contract_with_exit_3(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _cli(fresh_db, "prod", monkeypatch, tmp_path)
    assert result.exit_code == ContractWait.exit_code == 3, result.output
    assert history_versions(fresh_db) == [p.name.split("_")[0] for p in sorted(APP.iterdir())][:9]
    out = result.stdout
    assert f"{CONTRACT_ID} waits for its expand/contract window: it contracts 20240108090000_expand" in out
    assert "the 48h window opens at 20" in out and " UTC, in 47h 59m" in out
    assert out.rstrip().splitlines()[-2].endswith("waiting behind it: 20240111090000_unique_users_email")
    assert "next: nothing failed: run migrate again after 20" in out
    planned = _cli(fresh_db, "prod", monkeypatch, tmp_path, cmd="plan")
    assert planned.exit_code == 3 and f"note     {CONTRACT_ID} waits for its" in planned.stdout
    # every deploy inside the window says the same and applies nothing, with the same exit code
    again = _cli(fresh_db, "prod", monkeypatch, tmp_path, "--format", "json")
    assert again.exit_code == 3
    doc = json.loads(again.stdout)
    assert doc["outcomes"] == [] and doc["waiting"]["migration"] == CONTRACT_ID
    assert doc["waiting"]["behind"] == ["20240111090000_unique_users_email"]
    assert 47 * 3600 < doc["waiting"]["remaining_seconds"] <= 48 * 3600
    # once the window has passed, the next deploy applies the rest and exits 0
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("UPDATE migration_guard.history SET applied_at = applied_at - interval '48 hours'")
    assert _cli(fresh_db, "prod", monkeypatch, tmp_path).exit_code == 0
    assert len(history_versions(fresh_db)) == 11


def test_after_to_on_dev_a_later_migration_can_be_planned_and_dry_run(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    result = _cli(fresh_db, "dev", monkeypatch, tmp_path, str(app), "--to", "20240109090000")
    assert result.exit_code == 0 and len(history_versions(fresh_db)) == 9
    later = app / "20240112090000_add_users_nickname"
    later.mkdir()
    (later / "up.sql").write_text("ALTER TABLE users ADD COLUMN nickname text;\n")
    (later / "down.sql").write_text("ALTER TABLE users DROP COLUMN nickname;\n")
    planned = _cli(fresh_db, "dev", monkeypatch, tmp_path, str(app), cmd="plan")
    assert planned.exit_code == 0, planned.output
    assert "does not bind in dev (contract_window_envs)" in planned.stdout
    dry = _cli(fresh_db, "dev", monkeypatch, tmp_path, str(app), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert any(
        line.startswith("dry-run ok") and "20240112090000_add_users_nickname" in line
        for line in dry.stdout.splitlines()
    )
    assert len(history_versions(fresh_db)) == 9


def test_issue_16_11_multi_statement_precondition_is_refused_and_creates_nothing(fresh_db: str) -> None:
    sneaky = mig(
        "2",
        "-- guard: precondition SELECT true; COMMIT; CREATE TABLE x (id int); SELECT true\nSELECT 1",
    )
    with runner_ctx(fresh_db) as ctx:
        with pytest.raises(ContractRefusal, match="4 statements, not one read-only query"):
            migrate(ctx, [EXPAND, sneaky])
        # Refused before anything ran: the expand before it was not applied either.
        assert ctx.conn.execute("SELECT to_regclass('x'), to_regclass('users')").fetchone() == (None, None)
        # The check itself refuses too, whoever calls it, and never sends the text.
        spec = contract_spec(sneaky)
        assert spec is not None
        with pytest.raises(ContractRefusal, match="not one read-only query"):
            check_preconditions(ctx.conn, spec, "5s")
        assert ctx.conn.execute("SELECT to_regclass('x')").fetchone() == (None,)


@pytest.mark.parametrize("nested", [False, True])
def test_precondition_runs_in_a_read_only_transaction(fresh_db: str, nested: bool) -> None:
    reads_a_sequence = mig("2", "-- guard: precondition SELECT nextval('s') > 0\nSELECT 1")
    spec = contract_spec(reads_a_sequence)
    assert spec is not None
    with runner_ctx(fresh_db) as ctx:
        ctx.conn.execute("CREATE SEQUENCE s")
        if nested:
            ctx.conn.execute("BEGIN")
        with pytest.raises(ContractRefusal, match="read-only transaction"):
            check_preconditions(ctx.conn, spec, "5s")
        if nested:
            # Still inside the caller's transaction, which can go on.
            assert ctx.conn.execute("SELECT 1").fetchone() == (1,)
            ctx.conn.execute("ROLLBACK")
        assert ctx.conn.execute("SELECT last_value, is_called FROM s").fetchone() == (1, False)
