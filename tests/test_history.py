"""History and drift: checksums, the three drift kinds, table creation that is idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from runner_helpers import mig

from guard.db.drift import compute_drift
from guard.db.history import (
    AppliedMigration,
    checksum_of,
    ensure_tables,
    history_exists,
    read_audit,
    read_history,
)
from guard.db.runner import build_plan
from guard.errors import InputError


def _row(version: str, checksum: str, status: str = "applied") -> AppliedMigration:
    return AppliedMigration(
        version, f"m{version}", checksum, status, 1, datetime(2024, 1, 1, tzinfo=UTC), 1.0, "u@h", "0"
    )


def test_checksum_prefers_discovery_and_falls_back_to_sha256() -> None:
    m = mig("1", "SELECT 1")
    assert checksum_of(m) == "e004ebd5b5532a4b85984a62f8ad48a81aa3460c1ca07701f386135d72cdecf5"
    from dataclasses import replace

    assert checksum_of(replace(m, checksum="abc")) == "abc"


def test_drift_kinds_and_numeric_order() -> None:
    files = [mig("9", "A"), mig("10", "B"), mig("11", "C")]
    applied = {"10": _row("10", checksum_of(files[1])), "12": _row("12", "x")}
    drift = compute_drift(files, applied)
    assert drift.edited == [] and [a.version for a in drift.missing] == ["12"]
    assert [m.version for m in drift.out_of_order] == ["9", "11"]  # both older than 12
    plan = build_plan(files, applied)
    assert [m.version for m in plan.pending] == ["9", "11"]
    assert [m.version for m in build_plan(files, applied, to="9").pending] == ["9"]
    with pytest.raises(InputError, match="--to 99"):
        build_plan(files, applied, to="99")


def test_partial_rows_are_pending_and_listed() -> None:
    files = [mig("1", "A"), mig("2", "B")]
    applied = {"1": _row("1", checksum_of(files[0])), "2": _row("2", checksum_of(files[1]), "partial")}
    plan = build_plan(files, applied)
    assert [m.version for m in plan.pending] == ["2"] and [a.version for a in plan.partial] == ["2"]


@pytest.mark.db
def test_tables_created_once_and_read_only_readers_create_nothing(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert read_history(conn, "mg") == {} and read_audit(conn, "mg") == []
        assert not history_exists(conn, "mg")
        ensure_tables(conn, "mg")
        ensure_tables(conn, "mg")
        assert history_exists(conn, "mg")
        cols = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'mg' AND table_name = 'history'"
        ).fetchall()
    assert {c[0] for c in cols} >= {
        "version",
        "name",
        "checksum",
        "applied_at",
        "duration_ms",
        "applied_by",
        "tool_version",
    }
