"""Transaction control in migration files (issue 16 #1, #2): every spelling is recognised; files
whose only transaction control is BEGIN ... COMMIT blocks run atomically; anything else is refused
before anything runs; a statement that still escapes the runner's transaction stops it loudly."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from runner_helpers import FAST, mig, runner_ctx, scalar

from guard.cli import cli
from guard.db.apply import Executor, MigrationFailed
from guard.db.execute import TransactionEnded, check_same_transaction, run_statements, transaction_token
from guard.db.history import read_history
from guard.db.runner import migrate
from guard.errors import SafetyError
from guard.parsing import split_statements
from guard.txcontrol import (
    BEGIN,
    COMMIT,
    COMMIT_CHAIN,
    COMMIT_PREPARED,
    PREPARE,
    RELEASE,
    ROLLBACK,
    ROLLBACK_CHAIN,
    ROLLBACK_PREPARED,
    ROLLBACK_TO,
    SAVEPOINT,
    read_tx_control,
)

SPELLINGS = [
    ("BEGIN", BEGIN),
    ("begin work", BEGIN),
    ("Begin Transaction Isolation Level Serializable", BEGIN),
    ("/* c */ BEGIN /* d */ TRANSACTION", BEGIN),
    ("START TRANSACTION READ ONLY", BEGIN),
    ("start\n  transaction", BEGIN),
    ("COMMIT", COMMIT),
    ("commit work", COMMIT),
    ("END", COMMIT),
    ("end transaction", COMMIT),
    ("COMMIT AND NO CHAIN", COMMIT),
    ("COMMIT AND CHAIN", COMMIT_CHAIN),
    ("end -- x\n and chain", COMMIT_CHAIN),
    ("ROLLBACK", ROLLBACK),
    ("abort", ROLLBACK),
    ("ABORT WORK AND NO CHAIN", ROLLBACK),
    ("rollback transaction and chain", ROLLBACK_CHAIN),
    ("ROLLBACK TO SAVEPOINT s1", ROLLBACK_TO),
    ("rollback work to s1", ROLLBACK_TO),
    ("SAVEPOINT s1", SAVEPOINT),
    ("RELEASE SAVEPOINT s1", RELEASE),
    ("release s1", RELEASE),
    ("PREPARE TRANSACTION 'x'", PREPARE),
    ("COMMIT PREPARED 'x'", COMMIT_PREPARED),
    ("ROLLBACK PREPARED 'x'", ROLLBACK_PREPARED),
]


@pytest.mark.parametrize(("sql", "kind"), SPELLINGS)
def test_every_spelling_is_recognised(sql: str, kind: str) -> None:
    [stmt] = split_statements(sql)[0]
    found = read_tx_control(stmt)
    assert found is not None and found.kind == kind


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'COMMIT'",
        "PREPARE q AS SELECT 1",
        'CREATE TABLE "begin" (id int)',
        "DO $$ BEGIN COMMIT; END $$",
        "CALL p()",
        "-- COMMIT\nSELECT 1",
    ],
)
def test_other_statements_are_not_transaction_control(sql: str) -> None:
    [stmt] = split_statements(sql)[0]
    assert read_tx_control(stmt) is None


pytestmark_db = pytest.mark.db


def _tables(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


USERS = mig("1", "CREATE TABLE users (id int PRIMARY KEY, name text)", "DROP TABLE users")


@pytestmark_db
@pytest.mark.parametrize(
    "middle",
    [
        "END",
        "END TRANSACTION",
        "COMMIT",
        "ROLLBACK",
        "ABORT",
        "COMMIT AND CHAIN",
        "ROLLBACK AND CHAIN",
        "PREPARE TRANSACTION 'g1'",
        "COMMIT PREPARED 'g1'",
        "end /* sneaky */ work",
    ],
)
def test_issue_16_1_prod_dry_run_with_transaction_control_is_refused_and_changes_nothing(
    fresh_db: str, middle: str
) -> None:
    evil = mig(
        "2",
        f"CREATE TABLE a (id int);\n{middle};\nCREATE TABLE b (id int);\nINSERT INTO users VALUES (1, 'x');",
    )
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [USERS])
        for refuse_ae in (True, False):
            with pytest.raises(
                SafetyError, match=r"2_m2 \(up, 2_m2.up.sql\) line 2: .*refused before running"
            ):
                migrate(ctx, [USERS, evil], dry=True, refuse_access_exclusive=refuse_ae)
    assert _tables(fresh_db) == ["users"]
    assert scalar(fresh_db, "SELECT count(*) FROM users") == 0


@pytestmark_db
def test_issue_16_2_failed_migration_with_end_leaves_nothing(fresh_db: str) -> None:
    bad = mig("2", "CREATE TABLE e1 (id int);\nEND;\nCREATE TABLE e2 (id int);\nSELECT 1/0;")
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [USERS])
        with pytest.raises(SafetyError, match="line 2: `END` commits outside any BEGIN block"):
            migrate(ctx, [USERS, bad])
        assert list(read_history(ctx.conn, "migration_guard")) == ["1"]
    assert _tables(fresh_db) == ["users"]


@pytestmark_db
def test_begin_commit_blocks_apply_atomically(fresh_db: str) -> None:
    """golang-migrate / dbmate style: two blocks; the second fails, so neither may stay."""
    blocks = mig(
        "2",
        "BEGIN;\nCREATE TABLE k1 (id int);\nCOMMIT;\n\nbegin transaction;\nCREATE TABLE k2 (id int);\n"
        "SELECT 1/0;\nend;",
    )
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [USERS])
        with pytest.raises(Exception, match="division by zero"):
            migrate(ctx, [USERS, blocks])
        assert list(read_history(ctx.conn, "migration_guard")) == ["1"]
        assert _tables(fresh_db) == ["users"]
        good = mig(
            "2",
            "BEGIN;\nCREATE TABLE k1 (id int);\nCOMMIT;\nSTART TRANSACTION;\nCREATE TABLE k2 (id int);\nCOMMIT;",
        )
        report = migrate(ctx, [USERS, good])
        outcome = report.outcomes[0]
        assert outcome.transactional and outcome.status == "applied" and outcome.statements == 2
        assert "lines 1, 3, 4, 6" in outcome.notes[0] and "single transaction" in outcome.notes[0]
        assert "2 blocks ran as one transaction" in outcome.notes[1]
    assert _tables(fresh_db) == ["k1", "k2", "users"]


@pytestmark_db
def test_blocks_are_dry_run_too(fresh_db: str) -> None:
    blocks = mig("2", "BEGIN;\nALTER TABLE users ADD COLUMN note text;\nCOMMIT;")
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [USERS])
        report = migrate(ctx, [USERS, blocks], dry=True)
    [outcome] = report.outcomes
    assert outcome.status == "dry-run ok"
    assert [(u.mode, u.relation) for u in outcome.locks] == [("ACCESS EXCLUSIVE", "public.users")]
    assert scalar(fresh_db, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'note'") == 0


@pytestmark_db
@pytest.mark.parametrize(
    ("up", "match"),
    [
        ("BEGIN;\nCREATE INDEX CONCURRENTLY u_idx ON users (name);\nCOMMIT;", "CONCURRENTLY"),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE s (id int);\nCOMMIT;", "transaction modes"),
        ("BEGIN;\nCREATE TABLE s (id int);\nRELEASE SAVEPOINT guard_dry_run;\nCOMMIT;", "does not set"),
        ("BEGIN;\nCREATE TABLE s (id int);", "never commits"),
    ],
)
def test_other_transaction_control_is_refused_before_anything_runs(
    fresh_db: str, up: str, match: str
) -> None:
    with runner_ctx(fresh_db) as ctx:
        with pytest.raises(SafetyError, match=match):
            migrate(ctx, [USERS, mig("2", up)])
        assert read_history(ctx.conn, "migration_guard") == {}
    assert _tables(fresh_db) == []


@pytestmark_db
def test_savepoints_of_the_file_itself_are_kept(fresh_db: str) -> None:
    up = "SAVEPOINT s1;\nCREATE TABLE s (id int);\nROLLBACK TO SAVEPOINT s1;\nCREATE TABLE s2 (id int);\nRELEASE s1;"
    with runner_ctx(fresh_db) as ctx:
        report = migrate(ctx, [mig("1", up)])
    assert report.outcomes[0].status == "applied"
    assert _tables(fresh_db) == ["s2"]


@pytestmark_db
@pytest.mark.parametrize(
    "body",
    [
        "CALL commits_inside()",
        "DO $$ BEGIN CREATE TABLE d1 (id int); COMMIT; END $$",
        "DO $$ BEGIN ROLLBACK; END $$",
    ],
)
def test_procedures_and_do_blocks_cannot_commit_inside_the_runners_transaction(
    fresh_db: str, body: str
) -> None:
    """Postgres refuses COMMIT/ROLLBACK in a procedure or DO block called inside a transaction block
    (`invalid transaction termination`): the migration fails whole."""
    proc = mig(
        "1",
        "CREATE PROCEDURE commits_inside() LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE p1 (id int); COMMIT; END $$",
    )
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [proc])
        with pytest.raises(Exception, match="invalid transaction termination"):
            migrate(ctx, [proc, mig("2", f"CREATE TABLE before_it (id int);\n{body};")])
        dry = migrate(ctx, [proc, mig("2", f"CREATE TABLE before_it (id int);\n{body};")], dry=True)
        assert dry.outcomes[0].status == "dry-run failed"
        assert list(read_history(ctx.conn, "migration_guard")) == ["1"]
    assert _tables(fresh_db) == []


@pytestmark_db
def test_no_transaction_file_may_manage_its_transactions_but_is_never_dry_run(fresh_db: str) -> None:
    own = mig(
        "2",
        "-- guard: no-transaction\nCREATE TABLE n1 (id int);\nEND;\nBEGIN;\nCREATE TABLE n2 (id int);\nCOMMIT;",
    )
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [USERS])
        dry = migrate(ctx, [USERS, own], dry=True)
        assert dry.outcomes[0].status == "not dry-runnable"
        assert _tables(fresh_db) == ["users"]
        applied = migrate(ctx, [USERS, own])
        assert applied.outcomes[0].status == "applied" and not applied.outcomes[0].transactional
    assert _tables(fresh_db) == ["n1", "n2", "users"]


@pytestmark_db
def test_no_transaction_file_that_fits_in_a_transaction_is_dry_run_inside_it(fresh_db: str) -> None:
    plain = mig("2", "-- guard: no-transaction\nCREATE TABLE n1 (id int);")
    with runner_ctx(fresh_db) as ctx:
        dry = migrate(ctx, [plain], dry=True)
    assert dry.outcomes[0].status == "dry-run ok" and "dry-run inside" in dry.outcomes[0].notes[-1]
    assert _tables(fresh_db) == []


@pytestmark_db
@pytest.mark.parametrize("escape", ["COMMIT", "COMMIT AND CHAIN", "ROLLBACK AND CHAIN"])
def test_a_statement_that_ends_the_runners_transaction_stops_it_loudly(fresh_db: str, escape: str) -> None:
    """Defence in depth, bypassing the plan: the executor notices and never records it as applied."""
    m = mig("1", "unused")
    statements = split_statements(f"CREATE TABLE x1 (id int);\n{escape};\nCREATE TABLE x2 (id int)")[0]
    with runner_ctx(fresh_db) as ctx:
        executor = Executor(ctx.conn, FAST, "testhost", "test")
        with pytest.raises(MigrationFailed, match="ended the runner's transaction") as info:
            executor.run_in_transaction(m, statements, "up", lambda _ms: "SELECT 1")
        assert "report this as a bug" in info.value.hint
        assert ctx.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


@pytestmark_db
def test_run_statements_and_token_check_detect_an_ended_transaction(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("BEGIN")
        with pytest.raises(TransactionEnded, match="line 2"):
            run_statements(conn, split_statements("SELECT 1;\nCOMMIT;\nSELECT 2")[0], in_transaction=True)
        conn.execute("BEGIN")
        token = transaction_token(conn)
        conn.execute("RESET ALL")  # a migration may reset every setting: the check must not mind
        check_same_transaction(conn, token, [])
        conn.execute("COMMIT AND CHAIN")  # still in *a* transaction: libpq cannot tell
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        with pytest.raises(TransactionEnded):
            check_same_transaction(conn, token, split_statements("COMMIT AND CHAIN")[0])
        conn.execute("ROLLBACK")


@pytestmark_db
def test_cli_refusal_names_file_line_and_exits_2(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bk_env_marker (id integer PRIMARY KEY CHECK (id = 1),"
            " env text NOT NULL CHECK (env IN ('dev', 'prod')))"
        )
        conn.execute("INSERT INTO bk_env_marker VALUES (1, 'dev')")
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_t.up.sql").write_text("CREATE TABLE t1 (id int);\nROLLBACK;\nCREATE TABLE t2 (id int);\n")
    (folder / "1_t.down.sql").write_text("DROP TABLE t2;\nDROP TABLE t1;\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", fresh_db)
    for var in ("CONFIRM_PROD_MIGRATE", "NODE_ENV", "VERCEL_ENV"):
        monkeypatch.delenv(var, raising=False)
    for extra in ([], ["--dry-run"]):
        result = CliRunner().invoke(
            cli,
            ["migrate", str(folder), "--layout", "golang-migrate", "--env", "dev", *extra],
            catch_exceptions=False,
        )
        assert result.exit_code == 2, result.output
        assert "1_t.up.sql) line 2: `ROLLBACK` is ROLLBACK" in result.stderr
        assert "Traceback" not in result.output
    # The developer's `plan` says the same, with migrate's exit code.
    result = CliRunner().invoke(
        cli, ["plan", str(folder), "--layout", "golang-migrate", "--env", "dev", "--format", "json"]
    )
    assert result.exit_code == 2
    assert any("`ROLLBACK` is ROLLBACK" in note for note in json.loads(result.stdout)["notes"])
    assert scalar(fresh_db, "SELECT to_regclass('t1')") is None


@pytestmark_db
def test_a_migration_that_resets_every_setting_is_not_mistaken_for_an_escape(fresh_db: str) -> None:
    resets = mig("1", "SET lock_timeout = '1s';\nRESET ALL;\nCREATE TABLE r (id int);")
    with runner_ctx(fresh_db) as ctx:
        assert migrate(ctx, [resets], dry=True).outcomes[0].status == "dry-run ok"
        assert migrate(ctx, [resets]).outcomes[0].status == "applied"
    assert _tables(fresh_db) == ["r"]
