"""Migration discovery of every layout on small trees: Hasura, golang-migrate, dbmate, Flyway, Prisma
and plain (Supabase) folders, numeric order, discovery findings."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from layouts_helpers import ids, make, rules

from guard.layouts import discover, parse_dbmate
from guard.model import Severity


def sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


# --- Hasura -----------------------------------------------------------------------------------


def test_hasura_at_depth_with_dots_spaces_and_numeric_order(tmp_path: Path) -> None:
    up = b"CREATE TABLE a (id int);\r\n"
    make(
        tmp_path,
        {
            "migrations/default/10_ten/up.sql": "SELECT 10;",
            "migrations/default/9_populate_school.district_id column/up.sql": "SELECT 9;",
            "migrations/default/9_populate_school.district_id column/down.sql": "SELECT -9;",
            "migrations/default/1_init/up.sql": up,
            "migrations/default/1_init/down.sql": "DROP TABLE a;",
            "metadata/tables.yaml": "[]",
        },
    )
    d = discover(tmp_path)
    assert d.layout == "hasura"
    assert d.root == tmp_path
    assert ids(d) == ["1_init", "9_populate_school.district_id column", "10_ten"]
    assert d.findings == []
    first, nine, ten = d.migrations
    assert first.checksum == sha(up)
    assert first.up_sql == up.decode()
    assert first.down_sql == "DROP TABLE a;"
    assert first.down_path == tmp_path / "migrations/default/1_init/down.sql"
    assert (first.up_line, first.down_line, first.transaction) == (1, 1, None)
    assert nine.name == "populate_school.district_id column"
    assert ten.down_path is None and ten.down_sql is None
    assert {m.layout for m in d.migrations} == {"hasura"}


def test_hasura_two_databases_and_orphan_and_unversioned(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "default/100_a/up.sql": "SELECT 1;",
            "analytics/200_b/up.sql": "SELECT 2;",
            "analytics/300_c/down.sql": "SELECT 3;",
            "default/add_users/up.sql": "SELECT 4;",
        },
    )
    d = discover(tmp_path)
    assert d.layout == "hasura"
    assert ids(d) == ["100_a", "200_b"]
    assert rules(d) == ["orphan-down-migration", "unversioned-migration"]
    orphan = next(f for f in d.findings if f.rule == "orphan-down-migration")
    assert orphan.file.endswith(os.path.join("300_c", "down.sql"))
    assert orphan.severity == Severity.ERROR


def test_a_single_hasura_migration_folder(tmp_path: Path) -> None:
    folder = make(tmp_path / "1700000000000_add_x", {"up.sql": "SELECT 1;", "down.sql": "SELECT 2;"})
    d = discover(folder)
    assert (d.layout, ids(d)) == ("hasura", ["1700000000000_add_x"])


# --- golang-migrate ---------------------------------------------------------------------------


def test_golang_migrate_pairs_orphans_unversioned_and_duplicates(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "10_b.up.sql": "SELECT 10;",
            "10_b.down.sql": "SELECT -10;",
            "9_a.up.sql": "SELECT 9;",
            "9_a.down.sql": "SELECT -9;",
            "11_c.down.sql": "SELECT -11;",
            "add_users.up.sql": "SELECT 0;",
            "12_d.up.sql": "SELECT 12;",
            "12_e.up.sql": "SELECT 12;",
        },
    )
    d = discover(tmp_path)
    assert d.layout == "golang-migrate"
    assert ids(d) == ["9_a", "10_b", "12_d", "12_e"]
    assert d.migrations[0].down_sql == "SELECT -9;"
    assert d.migrations[2].down_path is None
    assert rules(d) == ["duplicate-version", "orphan-down-migration", "unversioned-migration"]
    dup = next(f for f in d.findings if f.rule == "duplicate-version")
    assert dup.severity == Severity.ERROR and "12_d" in dup.message and dup.migration == "12_e"


def test_golang_migrate_down_with_renamed_up_is_an_orphan(tmp_path: Path) -> None:
    make(tmp_path, {"1_create.up.sql": "SELECT 1;", "1_creat.down.sql": "SELECT 2;"})
    d = discover(tmp_path)
    assert d.migrations[0].down_path is None
    assert rules(d) == ["orphan-down-migration"]


# --- dbmate -----------------------------------------------------------------------------------


DBMATE_FILE = """-- a comment before the marker is fine
--migrate:up transaction:false
CREATE INDEX CONCURRENTLY i ON t (a);

-- migrate:down
DROP INDEX CONCURRENTLY i;
"""


def test_dbmate_sections_lines_checksum_and_transaction(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "20240102000000_idx.sql": DBMATE_FILE,
            "20240101000000_init.sql": "-- migrate:up\nCREATE TABLE t (a int);\n",
            "20240103000000_crlf.sql": "-- migrate:down\r\nSELECT 2;\r\n-- migrate:up\r\nSELECT 1;\r\n",
        },
    )
    d = discover(tmp_path)
    assert d.layout == "dbmate"
    assert d.findings == []
    init, idx, crlf = d.migrations
    assert idx.up_sql == "CREATE INDEX CONCURRENTLY i ON t (a);\n\n"
    assert idx.up_line == 3 and idx.down_line == 6
    assert idx.down_sql == "DROP INDEX CONCURRENTLY i;\n"
    assert idx.down_path == idx.up_path == tmp_path / "20240102000000_idx.sql"
    assert idx.transaction is False
    assert idx.checksum == sha(idx.up_sql)
    assert init.transaction is None and init.down_path is None and init.down_sql is None
    assert init.up_line == 2
    # down before up: each section stops at the other's marker
    assert crlf.up_sql == "SELECT 1;\r\n" and crlf.down_sql == "SELECT 2;\r\n"
    assert (crlf.up_line, crlf.down_line) == (4, 2)


def test_dbmate_malformed_files_are_findings(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "1_ok.sql": "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n",
            "2_nomarker.sql": "SELECT 2;\n",
            "3_before.sql": "SELECT 0;\n-- migrate:up\nSELECT 3;\n",
            "4_twice.sql": "-- migrate:up\n\n-- migrate:down\n-- migrate:up\nSELECT 4;\n-- migrate:down\nSELECT -4;\n",
            "notes.sql": "-- migrate:up\nSELECT 5;\n",
        },
    )
    d = discover(tmp_path)
    assert d.layout == "dbmate"
    assert ids(d) == ["1_ok", "3_before", "4_twice"]
    found = sorted((Path(f.file).name, f.line, f.rule) for f in d.findings)
    assert found == [
        ("2_nomarker.sql", 1, "malformed-dbmate-migration"),
        ("3_before.sql", 1, "malformed-dbmate-migration"),
        ("4_twice.sql", 4, "malformed-dbmate-migration"),
        ("4_twice.sql", 6, "malformed-dbmate-migration"),
        ("notes.sql", 1, "unversioned-migration"),
    ]
    # like dbmate: the second up marker's SQL ends up in the down section
    twice = d.migrations[2]
    assert twice.up_sql == "\n" and "SELECT 4;" in (twice.down_sql or "")


def test_parse_dbmate_ignores_lookalike_markers() -> None:
    s = parse_dbmate("-- migrate:upgrade\n-- migrate:up\nSELECT 1;\n  -- migrate:down\n")
    assert s.up == "SELECT 1;\n  -- migrate:down\n" and s.down is None and s.up_line == 3


# --- Flyway -----------------------------------------------------------------------------------


def test_flyway_dotted_versions_order_numerically_with_undo_and_repeatables(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "V1.2.10__ten.sql": "SELECT 10;",
            "V1.2.9__nine.sql": "SELECT 9;",
            "V1_1__underscored.sql": "SELECT 11;",
            "V2__two.sql": "SELECT 2;",
            "U1.2.9__nine.sql": "SELECT -9;",
            "U7__gone.sql": "SELECT -7;",
            "R__views.sql": "CREATE OR REPLACE VIEW v AS SELECT 1;",
            "V__noversion.sql": "SELECT 0;",
        },
    )
    d = discover(tmp_path)
    assert d.layout == "flyway"
    assert [m.version for m in d.migrations] == ["1.1", "1.2.9", "1.2.10", "2"]
    assert d.migrations[1].down_sql == "SELECT -9;"
    assert d.migrations[2].down_path is None
    by_rule = {f.rule: f for f in d.findings}
    assert sorted(by_rule) == ["ignored-migration-file", "orphan-down-migration", "unversioned-migration"]
    assert by_rule["ignored-migration-file"].severity == Severity.INFO
    assert "repeatable" in by_rule["ignored-migration-file"].message


def test_flyway_same_version_written_two_ways_is_a_duplicate(tmp_path: Path) -> None:
    make(tmp_path, {"V1.0__a.sql": "SELECT 1;", "V1__b.sql": "SELECT 1;"})
    assert rules(discover(tmp_path)) == ["duplicate-version"]


# --- Prisma -----------------------------------------------------------------------------------


def test_prisma_with_and_without_down(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "migration_lock.toml": 'provider = "postgresql"',
            "20240101000000_init/migration.sql": "CREATE TABLE a (id int);",
            "20240101000000_init/down.sql": "DROP TABLE a;",
            "20240202000000_add_b/migration.sql": "CREATE TABLE b (id int);",
        },
    )
    d = discover(tmp_path)
    assert d.layout == "prisma"
    assert ids(d) == ["20240101000000_init", "20240202000000_add_b"]
    assert d.migrations[0].down_sql == "DROP TABLE a;"
    assert d.migrations[1].down_path is None
    assert d.findings == []


def test_prisma_with_every_down_is_not_mistaken_for_hasura(tmp_path: Path) -> None:
    make(tmp_path, {"20240101000000_a/migration.sql": "SELECT 1;", "20240101000000_a/down.sql": "SELECT 2;"})
    assert discover(tmp_path).layout == "prisma"


def test_prisma_same_timestamp_is_a_warning_in_folder_name_order(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "20240101000000_zeta/migration.sql": "SELECT 1;",
            "20240101000000_alpha/migration.sql": "SELECT 2;",
            "20231231000000_old/down.sql": "SELECT 3;",
        },
    )
    d = discover(tmp_path)
    assert ids(d) == ["20240101000000_alpha", "20240101000000_zeta"]
    sev = {f.rule: f.severity for f in d.findings}
    assert sev == {"duplicate-version": Severity.WARNING, "orphan-down-migration": Severity.ERROR}


# --- plain (Supabase) -------------------------------------------------------------------------


def test_plain_supabase_numeric_order_and_unversioned(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "supabase/migrations/20240101000000_init.sql": "CREATE TABLE a (id int);",
            "supabase/migrations/9_early.sql": "SELECT 9;",
            "supabase/migrations/10_later.sql": "SELECT 10;",
            "supabase/migrations/fixup.sql": "SELECT 0;",
            "supabase/seed/seed.sql": "INSERT INTO a VALUES (1);",
        },
    )
    d = discover(tmp_path / "supabase")
    assert d.layout == "plain"
    assert ids(d) == ["9_early", "10_later", "20240101000000_init"]
    assert all(m.down_path is None for m in d.migrations)
    found = sorted((Path(f.file).name, f.rule, str(f.severity)) for f in d.findings)
    assert found == [
        ("fixup.sql", "unversioned-migration", "error"),
        ("seed.sql", "ignored-migration-file", "warning"),
    ]
