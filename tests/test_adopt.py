"""`migration-guard adopt` on real Postgres: each tool's history table, created with the tool's own DDL
and filled the way the tool writes it (sources in tests/tool_tables.py), becomes our history."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import tool_tables as tt
from adopt_helpers import (
    EMAIL,
    FILES,
    PHONE,
    TWO_APPLIED,
    USERS,
    audit,
    has_schema,
    history,
    invoke,
    marked,
    write,
)
from click.testing import CliRunner

from guard.cli import cli

pytestmark = pytest.mark.db


@pytest.mark.parametrize("tool", sorted(TWO_APPLIED))
def test_adopts_what_each_tool_applied_then_migrate_runs_only_the_rest(
    tool: str, fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = marked(fresh_db)
    folder = write(tmp_path / "migrations", FILES[tool])
    (tmp_path / "migration-guard.toml").write_text(
        "require_down = false\n"
    )  # Prisma, Flyway, Drizzle keep none
    tt.run(url, USERS)  # what the tool ran
    tt.run(url, EMAIL)
    TWO_APPLIED[tool](url)
    code, out, err = invoke(["adopt", str(folder), "--env", "dev"], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert "2 recorded" in out and "0 warning" in out, out
    via = "hasura" if tool == "hasura-legacy" else tool
    rows = history(url)
    assert [r[1] for r in rows] == [via, via]
    assert audit(url) == [("adopt", "started"), ("adopt", "ok")]
    code, out, err = invoke(["status", str(folder), "--env", "dev"], url, monkeypatch, tmp_path)
    assert code == 0 and "2 applied, 0 partial, 1 pending, 0 drift" in out, out + err
    assert out.count(f"via {via}") == 2
    # Without the adoption this fails with `relation "users" already exists`.
    code, out, err = invoke(["migrate", str(folder), "--env", "dev"], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert len(history(url)) == 3 and history(url)[2][1] == ""


def test_adopting_twice_records_nothing_new(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = marked(fresh_db)
    folder = write(tmp_path / "migrations", FILES["dbmate"])
    TWO_APPLIED["dbmate"](url)
    assert invoke(["adopt", str(folder)], url, monkeypatch, tmp_path)[0] == 0
    code, out, _ = invoke(["adopt", str(folder)], url, monkeypatch, tmp_path)
    assert code == 0 and "0 recorded" in out and "2 already recorded" in out


def test_dry_run_writes_nothing(fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = marked(fresh_db)
    folder = write(tmp_path / "migrations", FILES["prisma"])
    TWO_APPLIED["prisma"](url)
    code, out, err = invoke(
        ["adopt", str(folder), "--dry-run", "--format", "json"], url, monkeypatch, tmp_path
    )
    assert code == 0, err
    assert json.loads(out)["recorded"] == ["20240101000000_users", "20240102000000_email"]
    assert not has_schema(url)


@pytest.mark.parametrize(
    ("tool", "setup", "says"),
    [
        ("golang-migrate", lambda url: tt.golang_migrate(url, 2, dirty=True), "dirty, failed or unfinished"),
        (
            "hasura",
            lambda url: tt.hasura_catalog(url, {"1700000000000": False, "1700000000001": True}),
            "1700000000001",
        ),
        (
            "prisma",
            lambda url: tt.prisma(
                url,
                [
                    ("20240101000000_users", USERS.encode(), True, False),
                    ("20240102000000_email", b"x", False, False),
                ],
            ),
            "20240102000000_email",
        ),
        (
            "flyway",
            lambda url: tt.flyway(
                url, [("1", "SQL", "V1__users.sql", True), ("1.1", "SQL", "V1_1__email.sql", False)]
            ),
            "flyway left migrations dirty, failed or unfinished in flyway_schema_history: 1.1",
        ),
        (
            "dbmate",
            lambda url: tt.dbmate(url, ["20231231000000", "20240101000000"]),
            "have no file here: 20231231000000",
        ),
        (
            "drizzle",
            lambda url: tt.drizzle(url, [(b"gone", 1600000000000)]),
            "have no file here: 1600000000000",
        ),
    ],
)
def test_refusals_record_nothing_and_are_audited(
    tool: str,
    setup: Callable[[str], None],
    says: str,
    fresh_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = marked(fresh_db)
    folder = write(tmp_path / "migrations", FILES[tool])
    setup(url)
    code, _, err = invoke(["adopt", str(folder)], url, monkeypatch, tmp_path)
    assert code == 2, err
    assert says in err and "Traceback" not in err
    assert history(url) == []
    assert audit(url) == [("adopt", "refused")]


def test_no_tool_table_refuses_and_points_at_through(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = marked(fresh_db)
    folder = write(tmp_path / "migrations", FILES["golang-migrate"])
    code, _, err = invoke(["adopt", str(folder)], url, monkeypatch, tmp_path)
    assert code == 2 and "no migration tool's history table" in err and "--through VERSION" in err


def test_through_records_a_hand_migrated_database(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = marked(fresh_db)
    folder = write(tmp_path / "migrations", FILES["golang-migrate"])
    code, _, err = invoke(["adopt", str(folder), "--through", "7"], url, monkeypatch, tmp_path)
    assert code == 2 and "--through 7: no migration file has this version" in err
    code, _, err = invoke(["adopt", str(folder), "--through", "0002"], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert [(v, via) for v, via, _ in history(url)] == [("0001", "hand"), ("0002", "hand")]


def test_warnings_a_gap_and_an_edited_file(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = marked(fresh_db)
    folder = write(tmp_path / "migrations", FILES["prisma"])
    tt.prisma(
        url,
        [
            (
                "20240101000000_users",
                b"CREATE TABLE users (id int PRIMARY KEY);\n",
                True,
                False,
            ),  # edited since
            ("20240102000000_email", b"never finished", False, True),  # rolled back: not applied
            ("20240103000000_phone", PHONE.encode(), True, False),
        ],
    )
    code, out, err = invoke(["adopt", str(folder)], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert (
        "20240102000000_email: at or below the newest applied migration, but prisma never applied it" in out
    )
    assert "20240101000000_users: edited since prisma applied it" in out
    rows = history(url)
    assert [r[0] for r in rows] == ["20240101000000_users", "20240103000000_phone"]  # Prisma keys by folder
    assert rows[0][2] == __import__("hashlib").sha256(USERS.encode()).hexdigest()  # the file as it is now
    code, out, _ = invoke(["status", str(folder)], url, monkeypatch, tmp_path)
    assert "drift    20240102000000_email: pending but older than the newest applied migration" in out


def test_flyway_baseline_counts_everything_below_it(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = marked(fresh_db)
    folder = write(tmp_path / "migrations", FILES["flyway"])
    tt.flyway(
        url,
        [
            (None, "SCHEMA", "<< Flyway Schema Creation >>", True),
            ("1.1", "BASELINE", "<< Flyway Baseline >>", True),
        ],
    )
    code, _, err = invoke(["adopt", str(folder)], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert [r[0] for r in history(url)] == ["1", "1.1"]


def test_hasura_picks_the_database_named_by_the_folder(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = marked(fresh_db)
    folder = write(tmp_path / "migrations", FILES["hasura"])
    tt.run(url, tt.HASURA_CATALOG_DDL)
    state = {"migrations": {"analytics": {"1600000000000": False}, "default": {"1700000000000": False}}}
    tt.run(url, "UPDATE hdb_catalog.hdb_version SET cli_state = %s", [json.dumps(state)])
    code, out, err = invoke(["adopt", str(folder)], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert [r[0] for r in history(url)] == ["1700000000000"]
    code, out, err = invoke(["adopt", str(folder / "default")], url, monkeypatch, tmp_path)
    assert code == 0 and "1 already recorded" in out


def test_production_needs_the_hard_lock(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = marked(fresh_db, "prod")
    folder = write(tmp_path / "migrations", FILES["dbmate"])
    TWO_APPLIED["dbmate"](url)
    code, _, err = invoke(["adopt", str(folder), "--env", "prod"], url, monkeypatch, tmp_path)
    assert code == 2 and "hard lock" in err
    assert not has_schema(url)
    monkeypatch.setenv("CONFIRM_PROD_MIGRATE", "YES")
    result = CliRunner().invoke(cli, ["adopt", str(folder), "--env", "prod"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert len(history(url)) == 2


def test_history_made_by_the_previous_release_gains_applied_via(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = marked(fresh_db)
    folder = write(tmp_path / "migrations", FILES["dbmate"])
    # The history table as the release before `applied_via` created it, with one row.
    tt.run(
        url,
        "CREATE SCHEMA migration_guard; CREATE TABLE migration_guard.history (version text PRIMARY KEY,"
        " name text NOT NULL DEFAULT '', checksum text NOT NULL, status text NOT NULL DEFAULT 'applied',"
        " statements_done integer NOT NULL DEFAULT 0, applied_at timestamptz NOT NULL DEFAULT now(),"
        " duration_ms double precision, applied_by text NOT NULL DEFAULT current_user,"
        " tool_version text NOT NULL DEFAULT '')",
    )
    tt.run(
        url,
        "INSERT INTO migration_guard.history (version, name, checksum) VALUES ('20240101000000', 'users', 'x')",
    )
    code, out, err = invoke(["status", str(folder)], url, monkeypatch, tmp_path)  # read-only: no upgrade
    assert code == 0 and "1 applied" in out, err
    tt.dbmate(url, ["20240101000000", "20240102000000"])
    code, out, err = invoke(["adopt", str(folder)], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert [(v, via) for v, via, _ in history(url)] == [("20240101000000", ""), ("20240102000000", "dbmate")]


def test_a_prisma_row_an_earlier_build_keyed_by_version_is_rekeyed_not_recorded_twice(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = marked(fresh_db)
    folder = write(tmp_path / "migrations", FILES["prisma"])
    assert invoke(["adopt", str(folder), "--through", "20240101000000"], url, monkeypatch, tmp_path)[0] == 0
    # As builds before history keys stored it: under the bare version.
    tt.run(url, "UPDATE migration_guard.history SET version = '20240101000000'")
    TWO_APPLIED["prisma"](url)
    code, out, err = invoke(["adopt", str(folder)], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert "1 recorded" in out and "1 already recorded" in out
    assert [r[0] for r in history(url)] == ["20240101000000_users", "20240102000000_email"]
