"""Resuming a non-transactional migration runs each statement exactly once (issue 16 #3, #6, #16).

Statements that can run in a transaction commit with their progress row; statements that cannot
(`CONCURRENTLY`, ...) are checked in the catalog when a run stopped while one was running; INVALID
indexes left by a failed build are reported with the statement that removes them.
"""

from __future__ import annotations

import psycopg
import pytest
from runner_helpers import mig, runner_ctx, scalar

from guard.db.history import checksum_of, ensure_tables, read_history, set_progress
from guard.db.runner import RunFailed, migrate, rollback
from guard.errors import SafetyError

pytestmark = pytest.mark.db

TABLE = mig("1", "CREATE TABLE t (id int, v int)", "DROP TABLE t")


def _index_names(url: str, table: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = %s::regclass ORDER BY 1",
            (table,),
        ).fetchall()
    return [r[0] for r in rows]


def test_progress_commits_with_the_statement(fresh_db: str) -> None:
    # The progress update of statement 2 fails after the statement itself succeeded: the
    # statement must not stay applied, or the resume runs it a second time.
    inserts = mig(
        "2",
        "-- guard: no-transaction\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\nINSERT INTO t VALUES (3);",
    )
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [TABLE])
        ctx.conn.execute(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'progress write failed'; END $$;"
            "CREATE TRIGGER boom BEFORE UPDATE ON migration_guard.history FOR EACH ROW "
            "WHEN (NEW.statements_done = 2) EXECUTE FUNCTION boom()"
        )
        with pytest.raises(RunFailed) as info:
            migrate(ctx, [TABLE, inserts])
        assert "progress write failed" in info.value.message
        assert "at a migration boundary" not in (info.value.hint or "")
        assert scalar(fresh_db, "SELECT count(*) FROM t") == 1
        row = read_history(ctx.conn, "migration_guard")["2"]
        assert (row.status, row.statements_done) == ("partial", 1)
        ctx.conn.execute("DROP TRIGGER boom ON migration_guard.history")
        report = migrate(ctx, [TABLE, inserts])
    assert report.outcomes[0].status == "applied"
    assert scalar(fresh_db, "SELECT string_agg(id::text, ',' ORDER BY id) FROM t") == "1,2,3"


def test_unnamed_concurrent_build_leftover_is_reported_and_refused(fresh_db: str) -> None:
    build = mig(
        "2",
        "CREATE UNIQUE INDEX CONCURRENTLY ON t (v);\nINSERT INTO t VALUES (9, 9);",
        "DROP INDEX CONCURRENTLY t_v_idx",
    )
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [TABLE])
        ctx.conn.execute("INSERT INTO t VALUES (1, 1), (2, 1)")
        with pytest.raises(RunFailed) as info:
            migrate(ctx, [TABLE, build])
        # Named right away, not only on the next run.
        assert "left INVALID index public.t_v_idx" in info.value.message
        assert (
            "nothing of it is applied" in info.value.message and "no statement ran" not in info.value.message
        )
        assert 'DROP INDEX CONCURRENTLY IF EXISTS "public"."t_v_idx";' in (info.value.hint or "")

        ctx.conn.execute("DELETE FROM t WHERE id = 2")
        # Re-running would build `t_v_idx1` beside the broken `t_v_idx`: refused with the fix.
        with pytest.raises(SafetyError) as refused:
            migrate(ctx, [TABLE, build])
        assert "public.t_v_idx on public.t (for line 1)" in refused.value.message
        assert _index_names(fresh_db, "t") == ["t_v_idx"]

        ctx.conn.execute('DROP INDEX CONCURRENTLY IF EXISTS "public"."t_v_idx"')
        assert migrate(ctx, [TABLE, build]).outcomes[0].status == "applied"
        assert _index_names(fresh_db, "t") == ["t_v_idx"]
        assert scalar(fresh_db, "SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 't'::regclass")
        rollback(ctx, [TABLE, build])
        assert _index_names(fresh_db, "t") == []


def test_other_definitions_and_partitioned_indexes_are_not_leftovers(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [TABLE])
        ctx.conn.execute("INSERT INTO t VALUES (1, 1), (2, 1)")
        with pytest.raises(psycopg.Error):
            ctx.conn.execute("CREATE UNIQUE INDEX CONCURRENTLY ON t (v)")  # leaves INVALID t_v_idx
        ctx.conn.execute(
            "CREATE TABLE p (a int) PARTITION BY RANGE (a); CREATE INDEX ON ONLY p (a)"  # INVALID by design
        )
        others = mig(
            "2",
            "CREATE INDEX CONCURRENTLY ON t (v) WHERE v > 0;\nCREATE INDEX CONCURRENTLY ON t (id, v);\n"
            "CREATE INDEX ON ONLY p (a)",
        )
        assert migrate(ctx, [TABLE, others]).outcomes[0].status == "applied"
    assert _index_names(fresh_db, "t") == ["t_id_v_idx", "t_v_idx", "t_v_idx1"]


def _stopped_while_running(url: str, migration_version: str, done: int, running: int) -> None:
    """History as a run killed while statement `running` was in flight outside a transaction leaves it."""
    with psycopg.connect(url, autocommit=True) as conn:
        set_progress(conn, "migration_guard", migration_version, "partial", done, running)


def test_resume_counts_a_finished_concurrent_build_as_done(fresh_db: str) -> None:
    build = mig(
        "2",
        "CREATE INDEX CONCURRENTLY t_v_idx ON t (v);\nCREATE INDEX CONCURRENTLY ON t (id);\n"
        "INSERT INTO t VALUES (1, 1)",
    )
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [TABLE, build])
        # As if killed after the unnamed build finished but before its progress was recorded.
        ctx.conn.execute("DELETE FROM t")
        _stopped_while_running(fresh_db, "2", 1, 2)
        report = migrate(ctx, [TABLE, build])
    notes = report.outcomes[0].notes
    assert any("statement 2 (line 2) was running" in n and "counted as done" in n for n in notes), notes
    assert _index_names(fresh_db, "t") == ["t_id_idx", "t_v_idx"]  # no t_id_idx1
    assert scalar(fresh_db, "SELECT count(*) FROM t") == 1


def test_resume_refuses_an_invalid_index_and_reruns_a_missing_one(fresh_db: str) -> None:
    build = mig("2", "CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v);\nINSERT INTO t VALUES (5, 5)")
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [TABLE])
        ctx.conn.execute("INSERT INTO t VALUES (1, 1), (2, 1)")
        with pytest.raises(psycopg.Error):
            ctx.conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v)")
        ensure_tables(ctx.conn, "migration_guard")
        ctx.conn.execute(
            "INSERT INTO migration_guard.history (version, name, checksum, status, statements_done,"
            " statement_running) VALUES ('2', 'm2', %s, 'partial', 0, 1)",
            (checksum_of(build),),
        )
        with pytest.raises(SafetyError) as refused:
            migrate(ctx, [TABLE, build])
        assert "INVALID index" in refused.value.message and "t_v_key" in refused.value.message
        assert 'DROP INDEX CONCURRENTLY IF EXISTS "public"."t_v_key";' in (refused.value.hint or "")
        ctx.conn.execute('DROP INDEX CONCURRENTLY "public"."t_v_key"')
        ctx.conn.execute("DELETE FROM t WHERE id = 2")
        report = migrate(ctx, [TABLE, build])
    assert any("does not exist: running it again" in n for n in report.outcomes[0].notes)
    assert _index_names(fresh_db, "t") == ["t_v_key"]
    assert scalar(fresh_db, "SELECT count(*) FROM t") == 2


def test_resume_after_a_concurrent_drop_that_finished(fresh_db: str) -> None:
    build = mig("2", "CREATE INDEX CONCURRENTLY t_v_idx ON t (v)")
    drop = mig("3", "DROP INDEX CONCURRENTLY t_v_idx;\nINSERT INTO t VALUES (1, 1)")
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [TABLE, build, drop])
        ctx.conn.execute("DELETE FROM t")
        _stopped_while_running(fresh_db, "3", 0, 1)
        # Without the check the resume would run `DROP INDEX CONCURRENTLY t_v_idx` again and fail.
        report = migrate(ctx, [TABLE, build, drop])
    assert any("no longer exists: counted as done" in n for n in report.outcomes[0].notes)
    assert scalar(fresh_db, "SELECT count(*) FROM t") == 1


def test_statement_postgres_refuses_in_a_transaction_runs_alone_and_is_not_resumed_blindly(
    fresh_db: str,
) -> None:
    # `CLUSTER` without a table cannot run in a transaction block, and no word check says so.
    odd = mig(
        "2", "-- guard: no-transaction\nINSERT INTO t VALUES (1, 1);\nCLUSTER;\nINSERT INTO t VALUES (2, 2)"
    )
    with runner_ctx(fresh_db) as ctx:
        report = migrate(ctx, [TABLE, odd])
        assert report.outcomes[0].status == "applied"
        assert scalar(fresh_db, "SELECT count(*) FROM t") == 2
        ctx.conn.execute("DELETE FROM t WHERE id = 2")
        _stopped_while_running(fresh_db, "2", 1, 2)
        with pytest.raises(SafetyError) as refused:
            migrate(ctx, [TABLE, odd])
    assert "statement 2 (line 3) was running" in refused.value.message
    assert "cannot be read from the catalog" in refused.value.message
    hint = refused.value.hint or ""
    assert "SET statements_done = 2, statement_running = NULL WHERE version = '2'" in hint


def test_history_table_of_an_older_version_gains_the_column(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        ensure_tables(conn, "migration_guard")
        conn.execute("ALTER TABLE migration_guard.history DROP COLUMN statement_running")
        conn.execute(
            "INSERT INTO migration_guard.history (version, name, checksum, status, statements_done)"
            " VALUES ('1', 'm1', 'x', 'partial', 1)"
        )
        # Read-only commands read an old table as it is ...
        assert read_history(conn, "migration_guard")["1"].statement_running is None
        # ... and the runner adds the column, keeping the rows.
        ensure_tables(conn, "migration_guard")
        set_progress(conn, "migration_guard", "1", "partial", 1, 2)
        assert read_history(conn, "migration_guard")["1"].statement_running == 2


def test_status_lists_a_partial_migration_once(
    fresh_db: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from click.testing import CliRunner

    from guard.cli import cli

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bk_env_marker (id integer PRIMARY KEY CHECK (id = 1),"
            " env text NOT NULL CHECK (env IN ('dev', 'prod')))"
        )
        conn.execute("INSERT INTO bk_env_marker VALUES (1, 'dev')")
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, text in {
        "1_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        "2_seed.up.sql": "-- guard: no-transaction\nINSERT INTO users VALUES (1);\nINSERT INTO users VALUES (1);\n",
        "3_more.up.sql": "INSERT INTO users VALUES (3);\n",
        "1_users.down.sql": "DROP TABLE users;\n",
        "2_seed.down.sql": "DELETE FROM users WHERE id = 1;\n",
        "3_more.down.sql": "DELETE FROM users WHERE id = 3;\n",
    }.items():
        (folder / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", fresh_db)
    for var in ("CONFIRM_PROD_MIGRATE", "NODE_ENV", "VERCEL_ENV"):
        monkeypatch.delenv(var, raising=False)
    args = [str(folder), "--layout", "golang-migrate", "--env", "dev"]
    result = CliRunner().invoke(cli, ["migrate", *args])
    assert result.exit_code == 2, result.stdout + result.stderr
    text = CliRunner().invoke(cli, ["status", *args]).stdout
    assert [line.split()[0] for line in text.splitlines()[:3]] == ["applied", "partial", "pending"]
    assert text.count("2_seed") == 1 and "partial  2_seed  1 statements of its up done" in text
    assert "1 applied, 1 partial, 1 pending, 0 drift" in text
    doc = json.loads(CliRunner().invoke(cli, ["status", *args, "--format", "json"]).stdout)
    assert [a["version"] for a in doc["applied"]] == ["1"]
    assert [a["version"] for a in doc["partial"]] == ["2"] and doc["pending"] == ["3_more"]


def test_resume_refuses_a_pending_detach_with_the_finalize_fix(fresh_db: str) -> None:
    import threading
    import time

    parts = mig(
        "1",
        "CREATE TABLE pt (a int) PARTITION BY RANGE (a);\nCREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (10)",
    )
    detach = mig("2", "ALTER TABLE pt DETACH PARTITION pt1 CONCURRENTLY;\nCREATE TABLE after_detach (id int)")
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [parts])
        # Stop a concurrent detach in its second phase (it waits for the open transaction below).
        with psycopg.connect(fresh_db) as reader, psycopg.connect(fresh_db, autocommit=True) as detacher:
            reader.execute("SELECT * FROM pt")
            pid = detacher.info.backend_pid

            def cancel() -> None:
                with psycopg.connect(fresh_db, autocommit=True) as admin:
                    for _ in range(200):
                        waiting = admin.execute(
                            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", (pid,)
                        ).fetchone()
                        if waiting and waiting[0]:
                            break
                        time.sleep(0.01)
                    admin.execute("SELECT pg_cancel_backend(%s)", (pid,))

            thread = threading.Thread(target=cancel)
            thread.start()
            with pytest.raises(psycopg.errors.QueryCanceled):
                detacher.execute("ALTER TABLE pt DETACH PARTITION pt1 CONCURRENTLY")
            thread.join()
        assert scalar(fresh_db, "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'pt1'::regclass")
        ensure_tables(ctx.conn, "migration_guard")
        ctx.conn.execute(
            "INSERT INTO migration_guard.history (version, name, checksum, status, statements_done,"
            " statement_running) VALUES ('2', 'm2', %s, 'partial', 0, 1)",
            (checksum_of(detach),),
        )
        with pytest.raises(SafetyError) as refused:
            migrate(ctx, [parts, detach])
        assert "detach pending" in refused.value.message
        fix = 'ALTER TABLE "pt" DETACH PARTITION "pt1" FINALIZE;'
        assert fix in (refused.value.hint or "")
        ctx.conn.execute(fix)
        report = migrate(ctx, [parts, detach])
    assert any("is no longer a partition" in n and "counted as done" in n for n in report.outcomes[0].notes)
    assert scalar(fresh_db, "SELECT to_regclass('after_detach') IS NOT NULL") is True


def test_a_failed_audit_write_keeps_the_partial_hint(fresh_db: str) -> None:
    half = mig("2", "-- guard: no-transaction\nINSERT INTO t VALUES (1, 1);\nSELECT 1/0;")
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [TABLE])
        # A constraint, not a trigger: a foreign trigger on the audit table is tampering (refused).
        ctx.conn.execute(
            "ALTER TABLE migration_guard.audit ADD CONSTRAINT audit_unavailable"
            " CHECK (outcome <> 'failed') NOT VALID"
        )
        with pytest.raises(RunFailed) as info:
            migrate(ctx, [TABLE, half])
    assert (
        "audit_unavailable" in info.value.message and "statement 1 of 2 stays applied" in info.value.message
    )
    hint = info.value.hint or ""
    assert "history marks it partial (1/2)" in hint and "migration boundary" not in hint


def test_rollback_resume_checks_the_statement_that_was_running(fresh_db: str) -> None:
    index = mig(
        "2",
        "CREATE INDEX CONCURRENTLY t_v_idx ON t (v)",
        "DROP INDEX CONCURRENTLY t_v_idx;\nINSERT INTO t VALUES (7, 7);",
    )
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [TABLE, index])
        # As if a rollback was killed after its concurrent drop finished, before recording it.
        ctx.conn.execute("DROP INDEX CONCURRENTLY t_v_idx")
        set_progress(ctx.conn, "migration_guard", "2", "partial_down", 0, 1)
        report = rollback(ctx, [TABLE, index])
    assert report.outcomes[0].status == "rolled back"
    assert any("no longer exists: counted as done" in n for n in report.outcomes[0].notes)
    assert scalar(fresh_db, "SELECT count(*) FROM t WHERE id = 7") == 1
    assert scalar(fresh_db, "SELECT count(*) FROM migration_guard.history WHERE version = '2'") == 0


@pytest.mark.parametrize(
    ("setup", "statement", "action"),
    [
        ("CREATE TYPE mood AS ENUM ('sad', 'ok')", "ALTER TYPE mood ADD VALUE 'ok'", "done"),
        ("CREATE TYPE mood AS ENUM ('sad')", "ALTER TYPE mood ADD VALUE 'ok'", "rerun"),
        ("CREATE TABLE v (id int)", "VACUUM v", "rerun"),
        (
            "CREATE TABLE r (id int); CREATE INDEX r_id_idx ON r (id)",
            "REINDEX INDEX CONCURRENTLY r_id_idx",
            "rerun",
        ),
        ("SELECT 1", "DROP INDEX CONCURRENTLY IF EXISTS gone_idx", "done"),
        ("SELECT 1", "CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p", "refuse"),
        # Names as Postgres resolves them: quoted parts kept, bare ones folded, schemas honoured.
        (
            "CREATE SCHEMA s; CREATE TYPE s.\"Mood\" AS ENUM ('it''s')",
            "ALTER TYPE s.\"Mood\" ADD VALUE 'it''s'",
            "done",
        ),
        ("CREATE TYPE \"Mood\" AS ENUM ('a')", "ALTER TYPE mood ADD VALUE 'b'", "rerun"),
        (
            'CREATE SCHEMA s; CREATE TABLE s.t (id int); CREATE INDEX "T_idx" ON s.t (id)',
            'DROP INDEX CONCURRENTLY s."T_idx"',
            "rerun",
        ),
        ("CREATE TABLE t (id int); CREATE INDEX t_idx ON t (id)", 'DROP INDEX CONCURRENTLY "T_idx"', "done"),
        ("ANALYZE", "VACUUM (VERBOSE, ANALYZE)", "rerun"),
        ("SELECT 1", "ALTER SYSTEM RESET ALL", "rerun"),
    ],
)
def test_in_flight_verdicts(fresh_db: str, setup: str, statement: str, action: str) -> None:
    from guard.db.inflight import check
    from guard.parsing import split_statements

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(setup)  # type: ignore[arg-type]
        assert check(conn, split_statements(statement)[0][0]).action == action


@pytest.mark.parametrize(
    ("statement", "action"), [("CREATE DATABASE {db}", "done"), ("DROP DATABASE {db}", "rerun")]
)
def test_in_flight_database_verdicts(fresh_db: str, statement: str, action: str) -> None:
    from guard.db.inflight import check
    from guard.parsing import split_statements

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        name = conn.info.dbname  # the database this test runs in exists
        assert check(conn, split_statements(statement.format(db=name))[0][0]).action == action
        missing = split_statements(statement.format(db="mg_no_such_database"))[0][0]
        assert check(conn, missing).action == ("rerun" if action == "done" else "done")


def test_in_flight_reindex_leftover_is_refused_with_its_drop(fresh_db: str) -> None:
    from guard.db.inflight import check
    from guard.parsing import split_statements

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE r (v int); INSERT INTO r VALUES (1), (1); CREATE INDEX r_v_idx ON r (v)")
        # A REINDEX CONCURRENTLY stopped part-way leaves an INVALID `<index>_ccnew`: made here by a
        # concurrent build of that name that fails.
        with pytest.raises(psycopg.Error):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY r_v_idx_ccnew ON r (v)")
        verdict = check(conn, split_statements("REINDEX INDEX CONCURRENTLY r_v_idx")[0][0])
    assert verdict.action == "refuse" and "r_v_idx_ccnew" in verdict.why
    assert verdict.fix == "DROP INDEX CONCURRENTLY IF EXISTS public.r_v_idx_ccnew;"


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("CREATE INDEX CONCURRENTLY ON t (v)", ("", '"t"', False, ("v",), False)),
        (
            'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "Idx" ON ONLY s."T" USING btree ((v) DESC, lower(w))'
            " INCLUDE (x) WHERE v > 0",
            ("Idx", '"s"."T"', True, ("v", None), True),
        ),
        (
            'CREATE INDEX ON t (v text_pattern_ops, w COLLATE "C" NULLS LAST)',
            ("", '"t"', False, ("v", "w"), False),
        ),
        ("CREATE TABLE t (v int)", None),
    ],
)
def test_read_create_index(statement: str, expected: tuple[object, ...] | None) -> None:
    from guard.db.indexes import read_create_index
    from guard.parsing import split_statements

    target = read_create_index(split_statements(statement)[0][0])
    got = None if target is None else (target.name, target.table, target.unique, target.keys, target.partial)
    assert got == expected
