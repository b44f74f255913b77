"""Migration discovery across layouts: detecting, forcing and excluding, a single file, the real corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS
from layouts_helpers import ids, make

from guard.errors import InputError
from guard.layouts import discover
from guard.model import Severity

# --- detection, forcing, exclusion ------------------------------------------------------------


def test_mixed_folder_picks_the_layout_explaining_most_files(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "1_a.up.sql": "SELECT 1;",
            "1_a.down.sql": "SELECT 1;",
            "2_b.up.sql": "SELECT 2;",
            "2_b.down.sql": "SELECT 2;",
            "3_c.sql": "-- migrate:up\nSELECT 3;\n-- migrate:down\nSELECT 3;\n",
        },
    )
    d = discover(tmp_path)
    assert d.layout == "golang-migrate"
    assert ids(d) == ["1_a", "2_b"]
    (ignored,) = d.findings
    assert ignored.rule == "ignored-migration-file" and "dbmate" in ignored.message
    forced = discover(tmp_path, layout="dbmate")
    assert forced.layout == "dbmate" and ids(forced) == ["3_c"]
    assert {f.rule for f in forced.findings} == {"ignored-migration-file"}


def test_forcing_a_layout_that_matches_nothing_names_the_right_one(tmp_path: Path) -> None:
    make(tmp_path, {"1_a.up.sql": "SELECT 1;"})
    with pytest.raises(InputError) as err:
        discover(tmp_path, layout="flyway")
    assert "no flyway migrations" in err.value.message
    assert "--layout golang-migrate" in (err.value.hint or "")


def test_unknown_layout_is_refused(tmp_path: Path) -> None:
    make(tmp_path, {"1_a.sql": "SELECT 1;"})
    with pytest.raises(InputError):
        discover(tmp_path, layout="liquibase")


def test_exclude_by_name_by_path_and_by_folder(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "db/1_a.sql": "SELECT 1;",
            "db/2_b.sql": "SELECT 2;",
            "db/3_c.sql": "SELECT 3;",
            "db/drafts/4_d.sql": "SELECT 4;",
            "db/5_bad.sql": b"\xff\xfe",
        },
    )
    d = discover(tmp_path, exclude=["2_*.sql", "db/3_c.sql", "drafts/", "*bad*"])
    assert ids(d) == ["1_a"]
    assert d.findings == []


def test_symlinked_folder_is_reported_not_followed(tmp_path: Path) -> None:
    make(tmp_path, {"1_a.sql": "SELECT 1;", "sub/2_b.sql": "SELECT 2;"})
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    d = discover(tmp_path)
    assert ids(d) == ["1_a", "2_b"]
    (link,) = d.findings
    assert link.rule == "ignored-migration-file" and "symlinked folder" in link.message


def test_hidden_and_node_modules_folders_are_not_searched(tmp_path: Path) -> None:
    make(tmp_path, {"1_a.sql": "SELECT 1;", ".git/2_b.sql": "x", "node_modules/x/3_c.sql": "x"})
    d = discover(tmp_path)
    assert ids(d) == ["1_a"] and d.findings == []


# --- a single file ----------------------------------------------------------------------------


def test_single_golang_file_reads_its_partner_and_down_file_finds_its_up(tmp_path: Path) -> None:
    make(tmp_path, {"1_a.up.sql": "SELECT 1;", "1_a.down.sql": "SELECT -1;", "2_b.up.sql": "SELECT 2;"})
    for given in ("1_a.up.sql", "1_a.down.sql"):
        d = discover(tmp_path / given)
        assert d.layout == "golang-migrate" and ids(d) == ["1_a"] and d.root == tmp_path
        assert d.migrations[0].down_sql == "SELECT -1;"


def test_single_files_of_other_shapes(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "20240101_x.sql": "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n",
            "adhoc.sql": "SELECT 3;",
            "1700000000000_h/up.sql": "SELECT 4;",
            "1700000000000_h/down.sql": "SELECT 5;",
        },
    )
    dbmate = discover(tmp_path / "20240101_x.sql")
    assert dbmate.layout == "dbmate" and dbmate.migrations[0].up_sql == "SELECT 1;\n"
    adhoc = discover(tmp_path / "adhoc.sql")
    assert adhoc.layout == "plain" and ids(adhoc) == ["adhoc"] and adhoc.findings == []
    hasura = discover(tmp_path / "1700000000000_h" / "up.sql")
    assert hasura.layout == "hasura" and hasura.migrations[0].down_sql == "SELECT 5;"


# --- the real corpus --------------------------------------------------------------------------


needs_corpus = pytest.mark.skipif(not CORPUS.exists(), reason="corpus folder absent")


@needs_corpus
@pytest.mark.parametrize(
    ("folder", "layout", "count", "downs"),
    [
        ("Mission-Prerna__nl-hasura-migrations/migrations/default", "hasura", 467, 466),
        ("Mission-Prerna__nl-hasura-migrations", "hasura", 467, 466),
        ("openmeterio__openmeter/tools/migrate/migrations", "golang-migrate", 269, 269),
        ("bionic-gpt__bionic-gpt/crates/db/migrations", "dbmate", 111, 111),
        ("triggerdotdev__trigger.dev/internal-packages/database/prisma/migrations", "prisma", 820, 0),
        ("triggerdotdev__trigger.dev/internal-packages/run-ops-database/prisma/migrations", "prisma", 3, 0),
        ("triggerdotdev__trigger.dev/internal-packages", "prisma", 823, 0),
    ],
)
def test_corpus_counts(folder: str, layout: str, count: int, downs: int) -> None:
    d = discover(CORPUS / folder)
    assert d.layout == layout
    assert len(d.migrations) == count
    assert sum(m.down_path is not None for m in d.migrations) == downs
    keys = [(m.version_key, m.name) for m in d.migrations]
    assert keys == sorted(keys)
    assert not [f for f in d.findings if f.rule in ("unversioned-migration", "orphan-down-migration")]
    assert all(m.checksum and len(m.checksum) == 64 for m in d.migrations)


@needs_corpus
def test_corpus_quirks() -> None:
    dbmate = discover(CORPUS / "bionic-gpt__bionic-gpt/crates/db/migrations")
    names = {m.name for m in dbmate.migrations}
    assert "collaborator_chat_document_permissions copy" in names
    # the one file with two up/down pairs is flagged, not silently half-linted
    assert {Path(f.file).name for f in dbmate.findings} == {"20260822123310_document-validation-metadata.sql"}
    prisma = discover(CORPUS / "triggerdotdev__trigger.dev/internal-packages/database/prisma/migrations")
    assert [(f.rule, f.severity) for f in prisma.findings] == [("duplicate-version", Severity.WARNING)]
