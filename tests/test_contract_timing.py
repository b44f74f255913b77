"""Expand/contract timing against a real Postgres: the window on both sides (history timestamps
written directly, no sleeps), expand in the same run, and precondition queries."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from runner_helpers import FAST, history_versions, mig, runner_ctx

from guard.db.contract import ContractRefusal, contract_spec, format_remaining
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
    import psycopg

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
    assert format_remaining(timedelta(days=2, hours=1)) == "2d 01h 00m"


def test_contract_refused_inside_the_window_with_time_remaining(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [EXPAND, BACKFILL])
        _age_expand(fresh_db, 47)
        with pytest.raises(ContractRefusal) as info:
            migrate(ctx, [EXPAND, BACKFILL, CONTRACT])
    msg = info.value.message
    assert "48h expand/contract window opens at" in msg
    assert "59m" in msg and "from now" in msg  # ~1h left: "59m 59s" or "1h 00m"
    assert history_versions(fresh_db) == ["1", "2"]


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
        with pytest.raises(ContractRefusal, match=r"2h expand/contract window"):
            migrate(ctx, [EXPAND, BACKFILL, CONTRACT])
        _age_expand(fresh_db, 2.5)
        migrate(ctx, [EXPAND, BACKFILL, CONTRACT])


def test_expand_in_the_same_run_is_refused_and_nothing_applied(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx, pytest.raises(ContractRefusal) as info:
        migrate(ctx, [EXPAND, BACKFILL, CONTRACT])
    assert "only being applied in this same run" in info.value.message
    assert "--to" in (info.value.hint or "")
    assert history_versions(fresh_db) == []


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
        with pytest.raises(ContractRefusal, match="read-only transaction"):
            migrate(ctx, [EXPAND, sneaky])
        rows = ctx.conn.execute("SELECT count(*) FROM users").fetchone()
    assert rows == (1,)


def test_window_uses_the_database_clock() -> None:
    from guard.db.contract import ContractSpec, check_window
    from guard.db.history import AppliedMigration

    applied_at = datetime(2024, 1, 1, tzinfo=UTC)
    row = AppliedMigration("1", "m1", "x", "applied", 1, applied_at, 1.0, "u@h", "0")
    spec = ContractSpec(CONTRACT, "1", 1)
    check_window(spec, {"1": row}, applied_at + timedelta(hours=48), 48)
    with pytest.raises(ContractRefusal, match="1s from now"):
        check_window(spec, {"1": row}, applied_at + timedelta(hours=48) - timedelta(seconds=1), 48)
