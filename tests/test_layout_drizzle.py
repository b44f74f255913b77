"""The Drizzle layout: the journal decides order and membership, breakpoints split like drizzle-orm's
migrator, no downs by convention (`require_down` applies), auto-detected beside the other layouts."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from drizzle_project import CUSTOM, INIT, entry, write_journal, write_project

from guard.config import Settings
from guard.errors import InputError
from guard.layouts import Discovery, discover
from guard.lint.engine import lint_migrations
from guard.model import Severity
from guard.parsing import split_statements


def rules(d: Discovery) -> list[tuple[str, str]]:
    return sorted((f.rule, Path(f.file).name) for f in d.findings)


def test_generated_project_is_detected_and_read_through_the_journal(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    d = discover(tmp_path)  # the project root: the journal sits beside the .sql files, not the root
    assert d.layout == "drizzle"
    assert [(m.version, m.name, m.layout) for m in d.migrations] == [
        ("0000", "sharp_lizard", "drizzle"),
        ("0001", "touch_posts", "drizzle"),
    ]
    assert d.findings == []
    first = d.migrations[0]
    assert first.up_path == folder / "0000_sharp_lizard.sql" and first.down_path is None
    # drizzle-orm's hash (sha256 of the text), so it matches drizzle.__drizzle_migrations.hash
    assert first.checksum == hashlib.sha256(INIT.encode()).hexdigest()
    # migration-guard's statements are exactly drizzle's breakpoint pieces
    for m, text in zip(d.migrations, (INIT, CUSTOM), strict=True):
        pieces = [p.strip().rstrip(";") for p in text.split("--> statement-breakpoint")]
        assert [s.text for s in split_statements(m.up_sql)[0]] == [
            split_statements(p)[0][0].text for p in pieces
        ]


def test_crlf_file_hashes_like_drizzle(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    (folder / "0001_touch_posts.sql").write_bytes(CUSTOM.replace("\n", "\r\n").encode())
    m = discover(folder).migrations[1]
    assert m.checksum == hashlib.sha256(CUSTOM.encode()).hexdigest()


def test_without_a_journal_the_same_files_are_plain(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    (folder / "meta" / "_journal.json").unlink()
    assert discover(folder).layout == "plain"
    with pytest.raises(InputError, match=r"no drizzle migrations (?s:.*)pass `--layout plain`"):
        discover(folder, "drizzle")


def test_journal_order_not_file_names_decides(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    (folder / "0002_b.sql").write_text("SELECT 2;")
    (folder / "0003_a.sql").write_text("SELECT 3;")
    # 0003 listed before 0002: drizzle applies 0003 first, migration-guard by version
    entries = [
        entry(0, "0000_sharp_lizard"),
        entry(1, "0001_touch_posts"),
        entry(2, "0003_a"),
        entry(3, "0002_b"),
    ]
    journal = write_journal(folder, entries)
    d = discover(folder)
    assert [(f.rule, f.line) for f in d.findings] == [
        ("drizzle-journal-mismatch", journal.read_text().splitlines().index('      "tag": "0002_b",') + 1)
    ]
    assert "lists `0002_b` after `0003_a`" in d.findings[0].message


def test_file_without_entry_and_entry_without_file(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    (folder / "0002_hand_written.sql").write_text("DROP TABLE users;")
    write_journal(
        folder, [entry(0, "0000_sharp_lizard"), entry(1, "0001_touch_posts"), entry(2, "0003_gone")]
    )
    d = discover(folder)
    assert rules(d) == [
        ("drizzle-journal-mismatch", "0002_hand_written.sql"),
        ("drizzle-journal-mismatch", "_journal.json"),
    ]
    by_file = {Path(f.file).name: f for f in d.findings}
    assert "never runs it" in by_file["0002_hand_written.sql"].message
    assert "`0003_gone.sql`, which does not exist" in by_file["_journal.json"].message
    assert all(f.severity == Severity.ERROR for f in d.findings)
    # the stray file is not a migration (drizzle never runs it), the listed ones are
    assert [m.name for m in d.migrations] == ["sharp_lizard", "touch_posts"]


def test_excluded_file_listed_in_the_journal_is_not_reported_missing(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    d = discover(folder, exclude=["0001_touch_posts.sql"])
    assert [m.name for m in d.migrations] == ["sharp_lizard"] and d.findings == []


def test_entry_whose_when_goes_back_is_skipped_by_drizzle(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    (folder / "0002_late.sql").write_text("SELECT 2;")
    write_journal(
        folder,
        [
            entry(0, "0000_sharp_lizard"),
            entry(1, "0001_touch_posts"),
            entry(2, "0002_late", when=1716000000000),
        ],
    )
    (finding,) = discover(folder).findings
    assert finding.rule == "drizzle-journal-mismatch" and finding.migration == "0002_late"
    assert "skips it for good" in finding.message


def test_duplicate_versions_in_the_journal_are_an_error(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    (folder / "0001_other.sql").write_text("SELECT 1;")
    write_journal(
        folder, [entry(0, "0000_sharp_lizard"), entry(1, "0001_touch_posts"), entry(2, "0001_other")]
    )
    d = discover(folder)
    assert [(f.rule, f.severity) for f in d.findings] == [("duplicate-version", Severity.ERROR)]
    assert "used by both `0001_other` and `0001_touch_posts`" in d.findings[0].message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("CREATE TABLE t (id int)\n--> statement-breakpoint\nCREATE TABLE u (id int);", "no `;` before"),
        ("SELECT $$ a\n--> statement-breakpoint\n$$;", "inside a dollar-quoted string"),
        ("SELECT 'a\n--> statement-breakpoint\n';", "inside a string literal"),
    ],
)
def test_breakpoints_that_split_differently_are_malformed(tmp_path: Path, text: str, says: str) -> None:
    folder = write_project(tmp_path)
    (folder / "0001_touch_posts.sql").write_text(text)
    (finding,) = discover(folder).findings
    assert finding.rule == "malformed-drizzle-migration" and says in finding.message


def test_breakpoint_after_a_comment_on_the_same_line_splits_like_drizzle(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    (folder / "0001_touch_posts.sql").write_text("SELECT 1; -- first --> statement-breakpoint\nSELECT 2;")
    assert discover(folder).findings == []


@pytest.mark.parametrize(
    ("journal", "says"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"dialect": "mysql", "entries": []}), "dialect 'mysql'"),
        (json.dumps({"entries": [{"idx": "0", "tag": "x", "when": 1}]}), "entry 0 lacks"),
        (json.dumps({"version": "7"}), "no `entries` list"),
    ],
)
def test_unreadable_journal_is_refused(tmp_path: Path, journal: str, says: str) -> None:
    folder = write_project(tmp_path)
    (folder / "meta" / "_journal.json").write_text(journal)
    with pytest.raises(InputError, match=says):
        discover(folder)


def test_no_downs_by_convention_require_down_applies(tmp_path: Path) -> None:
    d = discover(write_project(tmp_path))
    on = lint_migrations(d.migrations, Settings(), layout=d.layout)
    downs = [f for f in on.findings if f.rule == "require-down-migration"]
    assert len(downs) == 2 and all(f.severity == Severity.ERROR for f in downs)
    assert "0000_sharp_lizard.down.sql" in downs[0].fix
    off = lint_migrations(d.migrations, dataclasses.replace(Settings(), require_down=False), layout=d.layout)
    assert not [f for f in off.findings if f.rule == "require-down-migration"]


def test_hand_written_down_beside_the_file_is_read(tmp_path: Path) -> None:
    d = discover(write_project(tmp_path / "with", downs=True))
    assert [m.down_sql is not None for m in d.migrations] == [True, True] and d.findings == []
    result = lint_migrations(d.migrations, Settings(), layout=d.layout)
    assert not [f for f in result.findings if f.rule == "require-down-migration"]
    folder = tmp_path / "with" / "drizzle"
    (folder / "0009_gone.down.sql").write_text("SELECT 1;")
    assert rules(discover(folder)) == [("orphan-down-migration", "0009_gone.down.sql")]


def test_lint_finds_drizzle_folder_without_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from guard.cli import cli

    write_project(tmp_path)
    (tmp_path / "drizzle" / "0001_touch_posts.sql").write_text("DROP TABLE users;")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["lint", "--no-cache", "--format", "json"])
    findings = json.loads(result.stdout)["findings"]
    assert result.exit_code == 1
    assert ("avoid-drop-table", "drizzle/0001_touch_posts.sql") in {(f["rule"], f["file"]) for f in findings}


def test_entry_naming_a_file_in_another_folder_is_a_finding(tmp_path: Path) -> None:
    folder = write_project(tmp_path)
    (folder / "extra").mkdir()
    (folder / "extra" / "0002_x.sql").write_text("DROP TABLE users;")
    write_journal(
        folder, [entry(0, "0000_sharp_lizard"), entry(1, "0001_touch_posts"), entry(2, "extra/0002_x")]
    )
    d = discover(folder)
    assert d.layout == "drizzle"  # the numbered files beside the journal are not plain ones
    assert [(f.rule, Path(f.file).name, f.severity) for f in d.findings] == [
        ("ignored-migration-file", "0002_x.sql", Severity.WARNING),
        ("drizzle-journal-mismatch", "_journal.json", Severity.ERROR),
    ]
    assert "`extra/0002_x.sql`, outside the journal's folder" in d.findings[1].message
