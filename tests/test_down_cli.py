"""`migration-guard down` end to end on real Postgres: drafts for every layout written where
`verify` reads them (and accepted by it), dry runs, real downs left alone, refusals, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from guard.cli import cli
from guard.layouts import discover

pytestmark = pytest.mark.db

CREATE = "CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);"
ALTER = "ALTER TABLE users ADD COLUMN name text;\nALTER TABLE users ALTER COLUMN email SET DEFAULT 'x';"


def invoke(*args: str | Path, url: str) -> Result:
    argv = ["down", *map(str, args), "--shadow", "url", "--shadow-url", url]
    return CliRunner().invoke(cli, argv, catch_exceptions=False)


def down_json(*args: str | Path, url: str) -> tuple[int, dict]:
    result = invoke(*args, "--format", "json", url=url)
    return result.exit_code, json.loads(result.stdout)


def verify_json(folder: Path, url: str) -> tuple[int, dict]:
    argv = ["verify", str(folder), "--format", "json", "--shadow", "url", "--shadow-url", url]
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def layout_files(tmp: Path, layout: str) -> tuple[Path, list[Path]]:
    """A two-migration project in `layout` with no downs; returns the folder and where the downs go."""
    folder = tmp / layout
    folder.mkdir()
    if layout in ("hasura", "prisma"):
        name = "up.sql" if layout == "hasura" else "migration.sql"
        for i, sql in enumerate((CREATE, ALTER), start=1):
            (folder / f"2024010{i}000000_m{i}").mkdir()
            (folder / f"2024010{i}000000_m{i}" / name).write_text(sql + "\n")
        return folder, [folder / f"2024010{i}000000_m{i}" / "down.sql" for i in (1, 2)]
    if layout == "golang-migrate":
        for i, sql in enumerate((CREATE, ALTER), start=1):
            (folder / f"{i}_m{i}.up.sql").write_text(sql + "\n")
        return folder, [folder / f"{i}_m{i}.down.sql" for i in (1, 2)]
    if layout == "flyway":
        for i, sql in enumerate((CREATE, ALTER), start=1):
            (folder / f"V{i}__m{i}.sql").write_text(sql + "\n")
        return folder, [folder / f"U{i}__m{i}.sql" for i in (1, 2)]
    assert layout == "dbmate"
    (folder / "1_m1.sql").write_text(f"-- migrate:up\n{CREATE}\n")
    (folder / "2_m2.sql").write_text(f"-- migrate:up\n{ALTER}\n\n-- migrate:down\nSELECT 1;\n")
    return folder, [folder / "1_m1.sql", folder / "2_m2.sql"]


@pytest.mark.parametrize("layout", ["hasura", "golang-migrate", "dbmate", "flyway", "prisma"])
def test_write_puts_each_draft_where_verify_reads_it(tmp_path: Path, pg_server, layout: str) -> None:
    folder, targets = layout_files(tmp_path, layout)
    ups = {m.id: (m.up_sql, m.checksum) for m in discover(folder).migrations}
    code, doc = down_json(folder, "--write", url=pg_server.admin_url)
    assert code == 0, doc
    assert doc["summary"] == {
        "needed": 2, "drafted": 2, "verified": 2, "irreversible": 0, "refused": 0,
        "written": 2, "with_down": 0, "exit_code": 0,
    }  # fmt: skip
    assert [d["method"] for d in doc["drafts"]] == ["inversion", "catalog"]
    for path in targets:
        assert "-- Drafted by `migration-guard down`" in path.read_text()
    found = discover(folder).migrations
    assert {m.id: (m.up_sql, m.checksum) for m in found} == ups  # the ups are untouched (dbmate: same file)
    assert all(m.down_sql and "DROP" in m.down_sql for m in found)
    code, verified = verify_json(folder, pg_server.admin_url)
    assert (code, verified["findings"]) == (0, [])
    assert verified["summary"]["ok"] == 2
    # Every migration now has a real down: nothing left to draft.
    code, again = down_json(folder, url=pg_server.admin_url)
    assert (code, again["drafts"], again["summary"]["with_down"]) == (0, [], 2)


def test_dry_run_prints_drafts_and_writes_nothing(tmp_path: Path, pg_server) -> None:
    folder, targets = layout_files(tmp_path, "golang-migrate")
    result = invoke(folder, url=pg_server.admin_url)
    assert result.exit_code == 0, result.output
    assert "| DROP TABLE users;" in result.stdout
    assert "| ALTER TABLE public.users ALTER COLUMN email DROP DEFAULT;" in result.stdout
    assert "2 drafted (2 verified, 0 declared irreversible), 0 refused; nothing written" in result.stdout
    assert not any(p.exists() for p in targets)


def test_real_downs_are_never_replaced_and_stubs_are(tmp_path: Path, pg_server) -> None:
    folder, targets = layout_files(tmp_path, "hasura")
    real = "DROP TABLE users; -- mine\n"
    stub = "-- Could not auto-generate a down migration.\n-- Please write an appropriate down migration for the SQL below:\n"
    targets[0].write_text(real)
    targets[1].write_text(stub)
    code, doc = down_json(folder, "--write", url=pg_server.admin_url)
    assert code == 0
    assert [(d["id"], d["need"]) for d in doc["drafts"]] == [
        ("20240102000000_m2", "is Hasura's 'Could not auto-generate a down migration' stub")
    ]
    assert targets[0].read_text() == real
    assert "DROP COLUMN name" in targets[1].read_text()


def test_migration_names_limit_drafting(tmp_path: Path, pg_server) -> None:
    folder, targets = layout_files(tmp_path, "golang-migrate")
    code, doc = down_json(folder, "2", "--write", url=pg_server.admin_url)
    assert (code, [d["id"] for d in doc["drafts"]]) == (0, ["2_m2"])
    assert not targets[0].exists() and targets[1].exists()
    result = invoke(folder, "9_nope", url=pg_server.admin_url)
    assert result.exit_code == 2
    assert "9_nope: no such migration" in result.stderr


def test_irreversible_and_refused_drafts_are_reported(tmp_path: Path, pg_server) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "1_types.up.sql").write_text(
        "CREATE TYPE mood AS ENUM ('a');\nCREATE TABLE p (a int) PARTITION BY RANGE (a);\n"
    )
    (folder / "2_more.up.sql").write_text("ALTER TYPE mood ADD VALUE 'b';\nUPDATE p SET a = 1;\n")
    (folder / "3_drop.up.sql").write_text("DROP TABLE p;\n")
    code, doc = down_json(folder, "--write", url=pg_server.admin_url)
    assert code == 1
    by_id = {d["id"]: d for d in doc["drafts"]}
    assert by_id["1_types"]["status"] == "verified"
    more = by_id["2_more"]
    assert more["status"] == "irreversible" and more["written"]
    assert len(more["irreversible"]) == 2
    text = (folder / "2_more.down.sql").read_text()
    assert "-- guard: irreversible reason: the enum value added to mood (line 1) cannot be removed" in text
    assert "rows changed by UPDATE on p (line 2) are not restored" in text
    drop = by_id["3_drop"]
    assert (drop["status"], drop["written"], drop["sql"]) == ("refused", False, None)
    assert "re-creating a partitioned table needs its partition key" in drop["reason"]
    assert not (folder / "3_drop.down.sql").exists()
    assert doc["summary"]["drafted"] == 2 and doc["summary"]["refused"] == 1


def test_plain_layout_has_no_down_convention(tmp_path: Path, pg_server) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "20240101000000_users.sql").write_text(CREATE + "\n")
    result = invoke(folder, "--write", url=pg_server.admin_url)
    assert result.exit_code == 1
    assert "the plain layout has no down migration convention" in result.stdout
    assert sorted(p.name for p in folder.iterdir()) == ["20240101000000_users.sql"]


def test_drizzle_downs_go_beside_each_tag(tmp_path: Path, pg_server) -> None:
    from drizzle_project import write_project

    folder = write_project(tmp_path)
    code, doc = down_json(folder, "--write", url=pg_server.admin_url)
    assert code == 0, doc
    assert [(d["id"], d["status"]) for d in doc["drafts"]] == [
        ("0000_sharp_lizard", "verified"),
        ("0001_touch_posts", "verified"),
    ]
    assert "DROP TRIGGER posts_touch" in (folder / "0001_touch_posts.down.sql").read_text()
    assert "DROP TABLE" in (folder / "0000_sharp_lizard.down.sql").read_text()
    code, verified = verify_json(folder, pg_server.admin_url)
    assert (code, verified["findings"], verified["summary"]["ok"]) == (0, [], 2)


def test_an_up_declared_irreversible_needs_no_drafted_down() -> None:
    from pathlib import Path

    from guard.down.files import need
    from guard.model import Migration

    up = Path("m/1_enum/up.sql")
    plain = Migration("1", "enum", "hasura", up, "ALTER TYPE mood ADD VALUE 'meh';")
    assert need(plain) == "has no down migration"
    declared = Migration(
        "1",
        "enum",
        "hasura",
        up,
        "-- guard: irreversible reason: enum values cannot be removed\nALTER TYPE mood ADD VALUE 'meh';",
    )
    assert need(declared) is None
