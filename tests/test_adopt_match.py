"""Lining another tool's history up with the files: each tool's own notion of identity (pure)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from guard.db.adopt_match import by_hand, match_files, sources_of
from guard.db.foreign_history import ToolHistory, ToolRow
from guard.model import Migration


def mig(version: str, name: str, layout: str, sql: str = "SELECT 1;\n", path: str | None = None) -> Migration:
    return Migration(version, name, layout, Path(path or f"{version}_{name}.sql"), sql)


def ids(match_applied: list[tuple[Migration, ToolRow | None]]) -> list[str]:
    return [m.id for m, _ in match_applied]


def test_golang_migrate_stores_a_bigint_and_one_row_means_everything_below() -> None:
    files = [
        mig("0001", "a", "golang-migrate"),
        mig("0002", "b", "golang-migrate"),
        mig("0003", "c", "golang-migrate"),
    ]
    match = match_files(ToolHistory("golang-migrate", "t", (ToolRow("2"),), through="2"), files)
    assert ids(match.applied) == ["0001_a", "0002_b"] and not match.without_file
    assert [m.id for m in match.pending(files)] == ["0003_c"]


def test_dbmate_compares_the_version_text_exactly() -> None:
    files = [mig("0001", "a", "dbmate")]
    match = match_files(ToolHistory("dbmate", "t", (ToolRow("1"),)), files)
    assert match.without_file == ["1"] and not match.applied


def test_flyway_versions_compare_numerically() -> None:
    files = [mig("1.0", "a", "flyway"), mig("1.1", "b", "flyway"), mig("2", "c", "flyway")]
    match = match_files(ToolHistory("flyway", "t", (ToolRow("1"), ToolRow("2"))), files)
    assert ids(match.applied) == ["1.0_a", "2_c"]
    assert [m.id for m in match.never_applied] == ["1.1_b"]


def test_prisma_keys_by_folder_name_so_a_shared_timestamp_is_two_migrations() -> None:
    files = [
        mig("20240101000000", "a", "prisma", path="20240101000000_a/migration.sql"),
        mig("20240101000000", "b", "prisma", path="20240101000000_b/migration.sql"),
    ]
    sql_a = hashlib.sha256(b"SELECT 1;\n").hexdigest()
    match = match_files(ToolHistory("prisma", "t", (ToolRow("20240101000000_b", sql_a),)), files)
    assert ids(match.applied) == ["20240101000000_b"] and not match.edited


def test_drizzle_matches_by_journal_when_and_accepts_its_lf_normalised_hash() -> None:
    crlf = "CREATE TABLE a (id int);\r\n--> statement-breakpoint\r\nCREATE TABLE b (id int);\r\n"
    files = [mig("0000", "a", "plain", crlf), mig("0001", "b", "plain")]
    journal = {"0000_a": 1700000000000, "0001_b": 1700000001000}
    digest = hashlib.sha256(crlf.replace("\r\n", "\n").encode()).hexdigest()
    match = match_files(
        ToolHistory("drizzle", "t", (ToolRow("1700000000000", digest),), through="1700000000000"),
        files,
        journal,
    )
    assert ids(match.applied) == ["0000_a"] and not match.edited and not match.without_file
    edited = match_files(ToolHistory("drizzle", "t", (ToolRow("1700000000000", "0" * 64),)), files, journal)
    assert [m.id for m in edited.edited] == ["0000_a"]


def test_through_must_name_a_file() -> None:
    files = [mig("1", "a", "plain"), mig("2", "b", "plain")]
    assert by_hand(files, "3") is None
    history = by_hand(files, "1")
    assert history is not None
    assert ids(match_files(history, files).applied) == ["1_a"]


def test_hasura_sources_are_the_folders_holding_the_versions() -> None:
    files = [mig("1", "a", "hasura", path="hasura/migrations/default/1_a/up.sql")]
    assert sources_of(files) == {"default"}
