"""History keyed by `Migration.key` on real Postgres: Prisma folders sharing a timestamp are two
migrations, other layouts refuse a shared version before applying anything, a new file reusing an
applied version is named as such, and rows an older release stored under Prisma's bare version
are still recognised."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from conftest import CORPUS
from drizzle_project import write_project
from runner_helpers import history_versions, runner_ctx, scalar

from guard.cli import cli
from guard.db.history import read_audit
from guard.db.runner import migrate, read_plan, rollback
from guard.errors import InputError, SafetyError
from guard.layouts import discover
from guard.model import Migration

pytestmark = pytest.mark.db

TRIGGER = CORPUS / "triggerdotdev__trigger.dev/internal-packages/database/prisma/migrations"
PAIR = (
    "20260630120000_add_webhook_delivery_filter",
    "20260630120000_drop_project_alert_run_subgraph_foreign_keys",
)


def _write(folder: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def _found(folder: Path) -> list[Migration]:
    return discover(folder).migrations


def _status(url: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bk_env_marker (id integer PRIMARY KEY CHECK (id = 1),"
            " env text NOT NULL CHECK (env IN ('dev', 'prod')))"
        )
        conn.execute("INSERT INTO bk_env_marker VALUES (1, 'dev') ON CONFLICT DO NOTHING")
    monkeypatch.chdir(folder.parent)
    monkeypatch.setenv("DATABASE_URL", url)
    for var in ("CONFIRM_PROD_MIGRATE", "NODE_ENV", "VERCEL_ENV"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(cli, ["status", str(folder), "--env", "dev"], catch_exceptions=False)
    return result.stdout


def test_drizzle_project_migrates_and_rolls_back_by_version(fresh_db: str, tmp_path: Path) -> None:
    migrations = _found(write_project(tmp_path, downs=True))
    with runner_ctx(fresh_db) as ctx:
        report = migrate(ctx, migrations)
        assert [o.status for o in report.outcomes] == ["applied", "applied"]
        assert history_versions(fresh_db) == ["0000", "0001"]
        assert scalar(fresh_db, "SELECT count(*) FROM pg_trigger WHERE tgname = 'posts_touch'") == 1
        assert read_plan(ctx.conn, migrations, ctx.settings).pending == []
        rollback(ctx, migrations, to="0000")
    assert history_versions(fresh_db) == ["0000"]
    assert scalar(fresh_db, "SELECT to_regproc('touch_post')") is None


def test_shared_version_is_refused_before_anything_naming_both_files(fresh_db: str, tmp_path: Path) -> None:
    folder = _write(
        tmp_path / "migrations",
        {
            "1_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);",
            "2_email.up.sql": "ALTER TABLE users ADD COLUMN email text;",
            "2_phone.up.sql": "ALTER TABLE users ADD COLUMN phone text;",
        },
    )
    migrations = _found(folder)
    with runner_ctx(fresh_db) as ctx:
        with pytest.raises(InputError) as info:
            migrate(ctx, migrations)
        assert info.value.exit_code == 2
        message = info.value.message
        assert "version 2 is used by both" in message and "nothing was applied" in message
        assert "2_email.up.sql" in message and "2_phone.up.sql" in message
        assert read_audit(ctx.conn, "migration_guard")[0].outcome == "refused"
        with pytest.raises(InputError, match="version 2 is used by both"):
            rollback(ctx, migrations)
    assert history_versions(fresh_db) == []
    assert scalar(fresh_db, "SELECT to_regclass('users')") is None


def test_prisma_folders_sharing_a_timestamp_are_two_migrations(fresh_db: str, tmp_path: Path) -> None:
    folder = _write(
        tmp_path / "migrations",
        {
            "20240101000000_init/migration.sql": "CREATE TABLE users (id bigint PRIMARY KEY);",
            "20240101000000_init/down.sql": "DROP TABLE users;",
            "20240202000000_b_phone/migration.sql": "ALTER TABLE users ADD COLUMN phone text;",
            "20240202000000_b_phone/down.sql": "ALTER TABLE users DROP COLUMN phone;",
            "20240202000000_a_email/migration.sql": "ALTER TABLE users ADD COLUMN email text;",
            "20240202000000_a_email/down.sql": "ALTER TABLE users DROP COLUMN email;",
        },
    )
    migrations = _found(folder)
    with runner_ctx(fresh_db) as ctx:
        # --to a folder name stops at that folder; --to a version takes every folder of it
        report = migrate(ctx, migrations, to="20240202000000_a_email")
        assert [o.migration for o in report.outcomes] == ["20240101000000_init", "20240202000000_a_email"]
        migrate(ctx, migrations)
        plan = read_plan(ctx.conn, migrations, ctx.settings)
        assert list(plan.applied) == [
            "20240101000000_init",
            "20240202000000_a_email",
            "20240202000000_b_phone",
        ]
        assert [a.version for a in plan.applied.values()] == [
            "20240101000000",
            "20240202000000",
            "20240202000000",
        ]
        assert plan.pending == [] and not plan.drift
        rollback(ctx, migrations, to="20240202000000_a_email")
        assert history_versions(fresh_db) == ["20240101000000_init", "20240202000000_a_email"]
        rollback(ctx, migrations, to="20240101000000")
    assert history_versions(fresh_db) == ["20240101000000_init"]
    assert scalar(fresh_db, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users'") == 1


@pytest.mark.skipif(not TRIGGER.is_dir(), reason="corpus folder absent")
def test_trigger_dev_pair_is_applied_and_listed(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "migrations"
    for name in PAIR:
        shutil.copytree(TRIGGER / name, folder / name)
    # the objects the pair alters, as trigger.dev's earlier migrations leave them
    _write(
        folder,
        {
            "20260101000000_prelude/migration.sql": """
                CREATE TYPE "WebhookDeliveryStatus" AS ENUM ('PENDING', 'DELIVERED');
                CREATE TABLE "WebhookDelivery" ("id" TEXT PRIMARY KEY);
                CREATE TABLE "WebhookEndpoint" ("id" TEXT PRIMARY KEY);
                CREATE TABLE "TaskRun" ("id" TEXT PRIMARY KEY);
                CREATE TABLE "ProjectAlert" ("id" TEXT PRIMARY KEY, "taskRunId" TEXT,
                    CONSTRAINT "ProjectAlert_taskRunId_fkey" FOREIGN KEY ("taskRunId") REFERENCES "TaskRun"("id"));
            """
        },
    )
    migrations = _found(folder)
    assert [m.version for m in migrations].count("20260630120000") == 2
    with runner_ctx(fresh_db) as ctx:
        report = migrate(ctx, migrations)
    assert [o.migration for o in report.outcomes] == ["20260101000000_prelude", *PAIR]
    assert history_versions(fresh_db) == ["20260101000000_prelude", *PAIR]
    assert (
        scalar(fresh_db, "SELECT count(*) FROM pg_constraint WHERE conname = 'ProjectAlert_taskRunId_fkey'")
        == 0
    )
    assert (
        scalar(fresh_db, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'filterAst'")
        == 1
    )
    out = _status(fresh_db, folder, monkeypatch)
    assert all(f"applied  {name}" in out for name in PAIR)
    assert "3 applied, 0 partial, 0 pending, 0 drift" in out


def test_new_file_reusing_an_applied_version_is_named_as_such(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _write(tmp_path / "migrations", {"20240101_old_name.up.sql": "CREATE TABLE a (id int);"})
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, _found(folder))
        # renamed with the same content: the same migration, no drift
        (folder / "20240101_old_name.up.sql").rename(folder / "20240101_renamed.up.sql")
        assert not read_plan(ctx.conn, _found(folder), ctx.settings).drift
        (folder / "20240101_renamed.up.sql").unlink()
        # a new migration that took the applied one's version
        _write(folder, {"20240101_new_name.up.sql": "CREATE TABLE b (id int);"})
        plan = read_plan(ctx.conn, _found(folder), ctx.settings)
        assert [(m.id, a.id) for m, a in plan.drift.reused] == [("20240101_new_name", "20240101_old_name")]
        assert plan.drift.edited == []
        with pytest.raises(SafetyError) as info:
            migrate(ctx, _found(folder))
        assert info.value.message.startswith("20240101 is already applied as 20240101_old_name")
        assert info.value.hint == "give the new migration a later version (rename its file or folder)"
        out = _status(fresh_db, folder, monkeypatch)
        assert (
            "drift    20240101_new_name: 20240101 is already applied as 20240101_old_name; "
            "give the new migration a later version"
        ) in out
        assert "checksum differs" not in out
        # the same name with other content is still an edit
        (folder / "20240101_new_name.up.sql").unlink()
        _write(folder, {"20240101_old_name.up.sql": "CREATE TABLE a (id bigint);"})
        with pytest.raises(SafetyError, match="edited since they ran: 20240101_old_name"):
            migrate(ctx, _found(folder))
    assert scalar(fresh_db, "SELECT to_regclass('b')") is None


PRISMA = {
    "20240101000000_init/migration.sql": "CREATE TABLE users (id bigint PRIMARY KEY);",
    "20240101000000_init/down.sql": "DROP TABLE users;",
    "20240202000000_email/migration.sql": "ALTER TABLE users ADD COLUMN email text;",
    "20240202000000_email/down.sql": "ALTER TABLE users DROP COLUMN email;",
}


def _as_older_release_stored_it(url: str) -> None:
    """Builds before history keys stored a Prisma migration under its bare version."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE migration_guard.history SET version = split_part(version, '_', 1)")


def test_prisma_rows_under_the_bare_version_are_recognised_then_rekeyed(
    fresh_db: str, tmp_path: Path
) -> None:
    migrations = _found(_write(tmp_path / "migrations", PRISMA))
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, migrations)
        _as_older_release_stored_it(fresh_db)
        assert history_versions(fresh_db) == ["20240101000000", "20240202000000"]
        plan = read_plan(ctx.conn, migrations, ctx.settings)
        assert plan.pending == [] and not plan.drift
        assert list(plan.applied) == ["20240101000000_init", "20240202000000_email"]
        migrate(ctx, migrations, dry=True)  # a dry run writes nothing, not even the new keys
        assert history_versions(fresh_db) == ["20240101000000", "20240202000000"]
        assert migrate(ctx, migrations).outcomes == []
        assert history_versions(fresh_db) == ["20240101000000_init", "20240202000000_email"]
        rollback(ctx, migrations)
    assert history_versions(fresh_db) == ["20240101000000_init"]
    assert (
        scalar(fresh_db, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'email'") == 0
    )


def test_rollback_rekeys_an_older_release_row_before_deleting_it(fresh_db: str, tmp_path: Path) -> None:
    migrations = _found(_write(tmp_path / "migrations", PRISMA))
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, migrations)
        _as_older_release_stored_it(fresh_db)
        rollback(ctx, migrations)
    assert history_versions(fresh_db) == ["20240101000000_init"]


def test_prisma_sibling_of_an_older_release_row_is_refused(fresh_db: str, tmp_path: Path) -> None:
    files = {
        **PRISMA,
        "20240202000000_phone/migration.sql": "ALTER TABLE users ADD COLUMN phone text;",
    }
    migrations = _found(_write(tmp_path / "migrations", files))
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, migrations)
        # the older release kept one row per version: the last folder applied
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute("DELETE FROM migration_guard.history WHERE version = '20240202000000_email'")
        _as_older_release_stored_it(fresh_db)
        plan = read_plan(ctx.conn, migrations, ctx.settings)
        assert [(m.id, a.id) for m, a in plan.drift.ambiguous] == [
            ("20240202000000_email", "20240202000000_phone")
        ]
        with pytest.raises(SafetyError, match="whether 20240202000000_email ran cannot be told"):
            migrate(ctx, migrations)
    assert history_versions(fresh_db) == ["20240101000000", "20240202000000"]


def test_older_row_beside_a_row_under_the_folder_name_is_dropped(fresh_db: str, tmp_path: Path) -> None:
    migrations = _found(_write(tmp_path / "migrations", PRISMA))
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, migrations)
        # an older build's row for the same migration, beside the one under its folder name
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO migration_guard.history (version, name, checksum)"
                " SELECT '20240202000000', name, checksum FROM migration_guard.history"
                " WHERE version = '20240202000000_email'"
            )
        plan = read_plan(ctx.conn, migrations, ctx.settings)
        assert list(plan.applied) == ["20240101000000_init", "20240202000000_email"] and not plan.drift
        migrate(ctx, migrations)
    assert history_versions(fresh_db) == ["20240101000000_init", "20240202000000_email"]
