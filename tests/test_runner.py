"""Runner round trips against a real Postgres: migrate, status, rollback, failures, non-transactional
migrations, dry runs and the audit trail."""

from __future__ import annotations

import dataclasses

import psycopg
import pytest
from runner_helpers import FAST, history_versions, mig, runner_ctx, scalar

from guard.db.history import read_audit, read_history
from guard.db.runner import LintRefusal, RunFailed, build_plan, migrate, read_plan, rollback
from guard.errors import SafetyError

pytestmark = pytest.mark.db

THREE = [
    mig("1", "CREATE TABLE a (id int primary key)", "DROP TABLE a"),
    mig("2", "CREATE TABLE b (id int primary key); INSERT INTO b VALUES (1), (2)", "DROP TABLE b"),
    mig("3", "ALTER TABLE a ADD COLUMN note text", "ALTER TABLE a DROP COLUMN note"),
]


def test_migrate_status_rollback_round_trip(any_db: str) -> None:
    with runner_ctx(any_db) as ctx:
        assert [m.id for m in read_plan(ctx.conn, THREE, FAST).pending] == ["1_m1", "2_m2", "3_m3"]
        report = migrate(ctx, THREE)
        assert [o.status for o in report.outcomes] == ["applied"] * 3
        assert history_versions(any_db) == ["1", "2", "3"]
        assert scalar(any_db, "SELECT count(*) FROM b") == 2
        plan = read_plan(ctx.conn, THREE, FAST)
        assert plan.pending == [] and not plan.drift
        row = plan.applied["2"]
        assert row.applied_by.endswith("@testhost") and row.duration_ms is not None and row.tool_version
        # nothing left to do: a second run is a no-op
        assert migrate(ctx, THREE).outcomes == []

        rollback(ctx, THREE, steps=2)
        assert history_versions(any_db) == ["1"]
        assert scalar(any_db, "SELECT to_regclass('b')") is None
        rollback(ctx, THREE, to="0")
        assert history_versions(any_db) == []
        migrate(ctx, THREE, to="2")
        assert history_versions(any_db) == ["1", "2"]


def test_failing_statement_in_the_middle_leaves_nothing(fresh_db: str) -> None:
    bad = mig(
        "2", "CREATE TABLE c (id int);\nINSERT INTO c VALUES (1);\nSELECT 1/0;\nCREATE TABLE d (id int)"
    )
    with runner_ctx(fresh_db) as ctx:
        with pytest.raises(RunFailed) as info:
            migrate(ctx, [THREE[0], bad, THREE[2]])
        assert "line 3" in info.value.message and "division by zero" in info.value.message
        assert [o.status for o in info.value.report.outcomes] == ["applied", "failed"]
    assert history_versions(fresh_db) == ["1"]
    assert scalar(fresh_db, "SELECT to_regclass('c')") is None
    assert scalar(fresh_db, "SELECT to_regclass('d')") is None
    assert scalar(fresh_db, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'note'") == 0


def test_edited_applied_migration_is_refused(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, THREE[:1])
        edited = [mig("1", "CREATE TABLE a (id bigint primary key)", "DROP TABLE a"), THREE[1]]
        with pytest.raises(SafetyError, match="edited since they ran: 1_m1"):
            migrate(ctx, edited)
        assert history_versions(fresh_db) == ["1"]
        audit = read_audit(ctx.conn, "migration_guard")
        assert audit[0].outcome == "refused" and "edited" in (audit[0].error or "")


def test_status_reports_drift_kinds(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [THREE[0], THREE[2]])
        applied = read_history(ctx.conn, "migration_guard")
    files = [mig("1", "CREATE TABLE a (id int primary key) -- edited"), THREE[1]]
    plan = build_plan(files, applied)
    assert [m.id for m, _ in plan.drift.edited] == ["1_m1"]
    assert [a.version for a in plan.drift.missing] == ["3"]
    assert [m.id for m in plan.drift.out_of_order] == ["2_m2"]


def test_non_transactional_migration_progress_and_resume(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, THREE[:2])
        ctx.conn.execute("CREATE TABLE dup (v int); INSERT INTO dup VALUES (1), (1)")
        conc = mig(
            "4",
            "CREATE INDEX CONCURRENTLY a_id_idx ON a (id);\n"
            "CREATE UNIQUE INDEX CONCURRENTLY dup_v_key ON dup (v);\n"
            "CREATE INDEX CONCURRENTLY b_id_idx ON b (id)",
            "DROP INDEX CONCURRENTLY b_id_idx; DROP INDEX CONCURRENTLY dup_v_key; DROP INDEX CONCURRENTLY a_id_idx",
        )
        with pytest.raises(RunFailed) as info:
            migrate(ctx, [*THREE[:2], conc])
        msg = info.value.message
        assert "statement 2 (line 2)" in msg and "; statement 1 of 3 stays applied" in msg
        # The INVALID index the failed build left is named right away, with the statement that removes it.
        assert "left INVALID index public.dup_v_key" in msg
        assert 'DROP INDEX CONCURRENTLY IF EXISTS "public"."dup_v_key";' in (info.value.hint or "")
        row = read_history(ctx.conn, "migration_guard")["4"]
        assert (row.status, row.statements_done) == ("partial", 1)
        assert scalar(fresh_db, "SELECT to_regclass('a_id_idx') IS NOT NULL") is True

        # Re-run: the failed concurrent build left an INVALID index, which is reported with the fix.
        with pytest.raises(SafetyError) as refused:
            migrate(ctx, [*THREE[:2], conc])
        assert "INVALID index" in refused.value.message and "dup_v_key" in refused.value.message
        assert 'DROP INDEX CONCURRENTLY IF EXISTS "public"."dup_v_key"' in (refused.value.hint or "")

        ctx.conn.execute("DROP INDEX CONCURRENTLY dup_v_key")
        ctx.conn.execute("DELETE FROM dup WHERE ctid <> (SELECT min(ctid) FROM dup)")
        report = migrate(ctx, [*THREE[:2], conc])
        out = report.outcomes[0]
        assert out.status == "applied" and not out.transactional
        assert any("resumed at statement 2" in n for n in out.notes)
        row = read_history(ctx.conn, "migration_guard")["4"]
        assert (row.status, row.statements_done) == ("applied", 3)

        rollback(ctx, [*THREE[:2], conc])
        assert "4" not in history_versions(fresh_db)
        assert scalar(fresh_db, "SELECT to_regclass('a_id_idx')") is None


def test_layout_transaction_false_and_directive_run_outside_a_transaction(fresh_db: str) -> None:
    ms = [
        mig("1", "CREATE TABLE t (id int)", "DROP TABLE t", transaction=False),
        mig("2", "-- guard: no-transaction\nINSERT INTO t VALUES (1)", "DELETE FROM t"),
        mig("3", "INSERT INTO t VALUES (2)", "DELETE FROM t WHERE id = 2"),
    ]
    with runner_ctx(fresh_db) as ctx:
        report = migrate(ctx, ms)
    assert [o.transactional for o in report.outcomes] == [False, False, True]
    assert "transaction:false" in report.outcomes[0].notes[0]
    assert "no-transaction" in report.outcomes[1].notes[0]


def test_dry_run_reports_locks_errors_and_changes_nothing(fresh_db: str) -> None:
    ms = [
        *THREE,
        mig("4", "SELECT 1/0"),
        mig("5", "CREATE INDEX CONCURRENTLY a_idx ON a (id)"),
        mig("6", "CREATE INDEX b_id ON b (id); CREATE INDEX a_id ON a (id)"),
    ]
    lines: list[str] = []
    with runner_ctx(fresh_db, lines=lines) as ctx:
        migrate(ctx, ms[:1])
        lines.clear()
        report = migrate(ctx, ms, dry=True)
        by = {o.version: o for o in report.outcomes}
        # Every migration tried (ok, failed, not dry-runnable) is reported on ctx.out, in order.
        assert [line.split()[-3] for line in lines] == ["2_m2", "3_m3", "4_m4", "5_m5", "6_m6"], lines
        assert lines == [o.headline() for o in report.outcomes]
        assert lines[2].startswith("dry-run failed   4_m4  ") and lines[3].startswith(
            "not dry-runnable 5_m5  "
        )
        assert by["2"].status == "dry-run ok"
        # Locks on tables that exist before the run, as production would feel them.
        assert [(u.mode, u.relation) for u in by["3"].locks] == [("ACCESS EXCLUSIVE", "public.a")]
        assert by["4"].status == "dry-run failed" and "division by zero" in (by["4"].error or "")
        assert by["5"].status == "not dry-runnable" and "CONCURRENTLY" in by["5"].notes[0]
        # b is created by this run (no lock on it matters); a existed before.
        assert [(u.mode, u.relation) for u in by["6"].locks] == [("SHARE", "public.a")]
        assert all(o.duration_ms >= 0 for o in report.outcomes)
        assert list(read_history(ctx.conn, "migration_guard")) == ["1"]
        assert scalar(fresh_db, "SELECT to_regclass('b')") is None
        assert (
            scalar(fresh_db, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'note'")
            == 0
        )
        audit = read_audit(ctx.conn, "migration_guard")
        assert audit[0].action == "dry-run" and audit[0].outcome == "failed"


def test_dry_run_refuses_access_exclusive_without_hard_lock(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, THREE[:2])
        with pytest.raises(SafetyError, match="ACCESS EXCLUSIVE"):
            migrate(ctx, THREE, dry=True, refuse_access_exclusive=True)
        # A dry run that only creates things is allowed.
        ok = migrate(
            ctx, [*THREE[:2], mig("4", "CREATE TABLE z (id int)")], dry=True, refuse_access_exclusive=True
        )
        assert ok.outcomes[0].status == "dry-run ok"


def test_lint_gate_refusal_is_audited(fresh_db: str) -> None:
    def gate(pending: list) -> None:
        raise LintRefusal(f"{len(pending)} pending migrations have lint errors")

    with runner_ctx(fresh_db) as ctx:
        with pytest.raises(LintRefusal):
            migrate(ctx, THREE, lint_gate=gate)
        assert history_versions(fresh_db) == []
        entry = read_audit(ctx.conn, "migration_guard")[0]
        assert entry.outcome == "refused" and entry.attempted == ["1_m1", "2_m2", "3_m3"]


def test_lint_gate_is_a_warning_where_it_does_not_bind(fresh_db: str) -> None:
    def gate(pending: list) -> None:
        raise LintRefusal("lint found 2 problem(s)", count=2)

    lines: list[str] = []
    with runner_ctx(fresh_db, lines=lines, env="dev") as ctx:
        report = migrate(ctx, THREE, lint_gate=gate)
    warning = "warning: lint found 2 problem(s) at the fail level in the migrations about to run"
    assert [o.status for o in report.outcomes] == ["applied"] * 3
    assert any(n.startswith(warning) for n in report.notes) and any(ln.startswith(warning) for ln in lines)
    settings = dataclasses.replace(FAST, lint_gate_envs=("dev", "prod"))
    with runner_ctx(fresh_db, settings, env="dev") as ctx, pytest.raises(LintRefusal):
        migrate(ctx, [*THREE, mig("4", "SELECT 1")], lint_gate=gate)
    assert history_versions(fresh_db) == ["1", "2", "3"]


def test_exec_gates_follow_lint_gate_envs(fresh_db: str) -> None:
    from guard.db.runner import Session, gate_check

    def gate(pending: list) -> None:
        raise LintRefusal("lint found 1 problem(s)", count=1)

    lines: list[str] = []
    with runner_ctx(fresh_db, lines=lines, env="dev") as ctx, Session(ctx, "exec", "true") as session:
        plan = gate_check(ctx, session, THREE, gate)
    assert len(plan.pending) == 3 and any(ln.startswith("warning: lint found 1 problem(s)") for ln in lines)
    with runner_ctx(fresh_db) as ctx, Session(ctx, "exec", "true") as session, pytest.raises(LintRefusal):
        gate_check(ctx, session, THREE, gate)


def test_audit_trail_records_every_attempt_and_is_append_only(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, THREE)
        rollback(ctx, THREE, steps=1)
        with pytest.raises(RunFailed):
            migrate(ctx, [*THREE, mig("4", "SELECT 1/0")])
        entries = list(reversed(read_audit(ctx.conn, "migration_guard")))
        assert [(e.action, e.outcome) for e in entries] == [
            ("migrate", "started"),
            ("migrate", "ok"),
            ("rollback", "started"),
            ("rollback", "ok"),
            ("migrate", "started"),
            ("migrate", "failed"),
        ]
        assert entries[-1].attempted == ["3_m3", "4_m4"] and "division by zero" in (entries[-1].error or "")
        assert all(e.actor.endswith("@testhost") for e in entries)
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            ctx.conn.execute("DELETE FROM migration_guard.audit")


def test_rollback_refuses_without_down_or_with_missing_file(fresh_db: str) -> None:
    no_down = mig("1", "CREATE TABLE q (id int)")
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [no_down])
        with pytest.raises(SafetyError, match="no down migration"):
            rollback(ctx, [no_down])
        with pytest.raises(SafetyError, match="file is missing"):
            rollback(ctx, [])
    assert history_versions(fresh_db) == ["1"]


def test_custom_history_schema(fresh_db: str) -> None:
    settings = dataclasses.replace(FAST, history_schema="ops history")
    with runner_ctx(fresh_db, settings) as ctx:
        migrate(ctx, THREE)
    assert history_versions(fresh_db, '"ops history"') == ["1", "2", "3"]
