"""A migration that ends inside a transaction it opened (BEGIN without COMMIT) fails, in the runner and in verify.

Left open, the next migration's COMMIT would commit it as part of another migration, or the end
of the session would silently roll back work already reported as applied.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from runner_helpers import mig, runner_ctx, scalar

from guard.cli import cli
from guard.db.history import read_history
from guard.db.runner import migrate
from guard.errors import SafetyError

pytestmark = pytest.mark.db

TABLE = mig("1", "CREATE TABLE t (id int)", "DROP TABLE t")


def test_runner_refuses_an_unfinished_transaction_before_running(fresh_db: str) -> None:
    unfinished = mig(
        "2",
        "ALTER TABLE t ADD COLUMN a int;\nBEGIN;\nALTER TABLE t ADD COLUMN b int;",
        "ALTER TABLE t DROP COLUMN IF EXISTS b;\nALTER TABLE t DROP COLUMN IF EXISTS a;",
    )
    with runner_ctx(fresh_db) as ctx:
        with pytest.raises(SafetyError) as info:
            migrate(ctx, [TABLE, unfinished])
        message = info.value.message
        assert "2_m2" in message and "line 2" in message and "never commits" in message
        assert "refused before running" in message
        assert "COMMIT" in (info.value.hint or "")
        # Refused before anything ran: not even the migration before it.
        assert read_history(ctx.conn, "migration_guard") == {}
        assert ctx.conn.execute("SELECT 1").fetchone() == (1,)
    assert scalar(fresh_db, "SELECT to_regclass('t')") is None


def test_runner_applies_a_file_that_commits_its_own_transactions(fresh_db: str) -> None:
    nested = mig(
        "2",
        "BEGIN;\nBEGIN;\nALTER TABLE t ADD COLUMN a int;\nCOMMIT;\nCOMMIT;",
        "ALTER TABLE t DROP COLUMN a",
    )
    with runner_ctx(fresh_db) as ctx:
        report = migrate(ctx, [TABLE, nested])
    assert [o.status for o in report.outcomes] == ["applied", "applied"]
    # Its own BEGIN/COMMIT were dropped: one transaction with its history row.
    assert report.outcomes[1].transactional and "dropped" in report.outcomes[1].notes[0]
    assert (
        scalar(fresh_db, "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'a'")
        == 1
    )


def test_verify_reports_an_unfinished_transaction_as_up_fails(tmp_path: Path, pg_server) -> None:
    folder = tmp_path / "migrations"
    for name, up, down in [
        ("20240101000000_t", "CREATE TABLE t (id int);", "DROP TABLE t;"),
        ("20240102000000_open", "BEGIN;\nALTER TABLE t ADD COLUMN a int;", "ALTER TABLE t DROP COLUMN a;"),
        ("20240103000000_later", "ALTER TABLE t ADD COLUMN b int;", "ALTER TABLE t DROP COLUMN b;"),
    ]:
        (folder / name).mkdir(parents=True)
        (folder / name / "up.sql").write_text(up + "\n")
        (folder / name / "down.sql").write_text(down + "\n")
    argv = [
        "verify",
        str(folder),
        "--layout",
        "hasura",
        "--shadow",
        "url",
        "--shadow-url",
        pg_server.admin_url,
    ]
    result = CliRunner().invoke(cli, [*argv, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [(f["migration"], f["rule"], f["message"]) for f in doc["findings"]] == [
        (
            "20240102000000_open",
            "up-fails",
            "up of 20240102000000_open fails: line 1: `BEGIN` opens a transaction that the file never "
            "commits; refused before running",
        )
    ]
    assert [m["status"] for m in doc["migrations"]] == ["ok", "failed", "not-reached"]
