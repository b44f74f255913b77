"""The CI gate's change-set rules on a feature branch in a real git repository, compared with its
base: edits, deletes and renames of merged migrations, order, new-only linting, the schema file, an
unknown base ref, shallow clones, no repository, no git."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from changeset_helpers import EDITED, ORDER, SCHEMA, changeset_findings
from changeset_helpers import repo as repo  # the fixture, imported by name for pytest
from git_helpers import add_migration, commit_all, gate, gate_json, git, isolate_git, rules_of

from guard.lint.changes import describe_edit, next_version


def test_a_new_safe_migration_passes_and_the_notice_says_what_was_compared(repo: Path) -> None:
    add_migration(repo, "20240201000000", "orders")
    commit_all(repo, "add orders")
    code, doc = gate_json(repo, "--base", "main")
    assert code == 0, doc
    assert changeset_findings(doc) == []
    assert any("compared with main" in n and "1 new migration" in n for n in doc["notices"])


def test_an_untracked_new_migration_counts_as_new(repo: Path) -> None:
    add_migration(repo, "20240201000000", "orders")  # not committed: a developer's dry run
    code, doc = gate_json(repo, "--base", "main")
    assert code == 0
    assert any("1 new migration" in n for n in doc["notices"])


def test_editing_a_merged_migration_is_an_error_with_the_diff(repo: Path) -> None:
    up = repo / "migrations/20240101000001_t1/up.sql"
    up.write_text("-- header\nCREATE TABLE t1 (id bigint PRIMARY KEY, note text);\n")
    commit_all(repo, "edit t1")
    code, doc = gate_json(repo, "--base", "main")
    assert code == 1
    [f] = changeset_findings(doc)
    assert f["rule"] == EDITED and f["severity"] == "error"
    assert f["file"] == "migrations/20240101000001_t1/up.sql"
    assert f["line"] == 1
    assert "content changed" in f["message"]
    assert "-CREATE TABLE t1 (id bigint PRIMARY KEY);" in f["message"]
    assert "+CREATE TABLE t1 (id bigint PRIMARY KEY, note text);" in f["message"]
    assert "git checkout" in f["fix"]


def test_editing_a_merged_down_file_is_an_error_too(repo: Path) -> None:
    (repo / "migrations/20240101000000_t0/down.sql").write_text("DROP TABLE IF EXISTS t0;\n")
    commit_all(repo, "edit down")
    _, doc = gate_json(repo, "--base", "main")
    assert [f["file"] for f in changeset_findings(doc)] == ["migrations/20240101000000_t0/down.sql"]


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"CREATE TABLE t1 (id bigint PRIMARY KEY);\r\n", "only line endings changed"),
        (b"CREATE TABLE t1 (id bigint PRIMARY KEY);  \n", "only whitespace changed"),
        (b"CREATE TABLE t1 (id bigint PRIMARY KEY);\n\n", "only whitespace changed"),
    ],
)
def test_whitespace_and_line_ending_edits_count(repo: Path, content: bytes, kind: str) -> None:
    (repo / "migrations/20240101000001_t1/up.sql").write_bytes(content)
    commit_all(repo, "reformat")
    code, doc = gate_json(repo, "--base", "main")
    assert code == 1
    [f] = changeset_findings(doc)
    assert f["rule"] == EDITED and kind in f["message"]


def test_crlf_diff_is_visible_in_the_message() -> None:
    summary, line, diff = describe_edit("a/up.sql", b"SELECT 1;\nSELECT 2;\n", b"SELECT 1;\nSELECT 2;\r\n")
    assert summary == "only line endings changed"
    assert line == 2
    assert "+SELECT 2;\\r\\n" in diff


def test_deleting_a_merged_migration_is_an_error(repo: Path) -> None:
    shutil.rmtree(repo / "migrations/20240101000001_t1")
    commit_all(repo, "delete t1")
    code, doc = gate_json(repo, "--base", "main")
    assert code == 1
    found = changeset_findings(doc)
    assert {f["file"] for f in found} == {
        "migrations/20240101000001_t1/up.sql",
        "migrations/20240101000001_t1/down.sql",
    }
    assert all(f["rule"] == EDITED and "deletes it" in f["message"] for f in found)


def test_renaming_a_merged_migration_is_an_error_and_not_also_out_of_order(repo: Path) -> None:
    git(repo, "mv", "migrations/20240101000001_t1", "migrations/20240101000001_t1_renamed")
    commit_all(repo, "rename")
    code, doc = gate_json(repo, "--base", "main")
    assert code == 1
    found = changeset_findings(doc)
    assert [f["rule"] for f in found] == [EDITED, EDITED]
    up = next(f for f in found if f["file"].endswith("up.sql"))
    assert up["file"] == "migrations/20240101000001_t1_renamed/up.sql"
    assert "renamed" in up["message"] and "20240101000001_t1/up.sql" in up["message"]
    # a renamed migration is not a new one: it is not linted or order-checked as new
    assert any("0 new migrations" in n for n in doc["notices"])


def test_a_new_migration_older_than_the_base_branch_tip_is_an_error(repo: Path) -> None:
    # main moves on after the branch was cut: someone merged a later migration
    git(repo, "checkout", "-q", "main")
    add_migration(repo, "20240301000000", "later_on_main")
    commit_all(repo, "later migration on main")
    git(repo, "checkout", "-q", "feature")
    add_migration(repo, "20240201000000", "mine")
    commit_all(repo, "my migration")
    code, doc = gate_json(repo, "--base", "main")
    assert code == 1
    [f] = changeset_findings(doc)
    assert f["rule"] == ORDER
    assert f["file"] == "migrations/20240201000000_mine/up.sql"
    assert "20240301000000_later_on_main" in f["message"]
    # the suggestion is a later version in the same 14-digit timestamp style
    suggested = f["fix"].split("rename it to version ")[1].split()[0]
    assert len(suggested) == 14 and int(suggested) > 20240301000000


def test_order_is_also_checked_after_merging_the_base_into_the_branch(repo: Path) -> None:
    add_migration(repo, "20240201000000", "mine")
    commit_all(repo, "my migration")
    git(repo, "checkout", "-q", "main")
    add_migration(repo, "20240301000000", "later_on_main")
    commit_all(repo, "later migration on main")
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "--no-edit", "main")
    code, doc = gate_json(repo, "--base", "main")
    assert code == 1
    assert [f["rule"] for f in changeset_findings(doc)] == [ORDER]


def test_a_same_version_as_the_latest_base_migration_is_out_of_order(repo: Path) -> None:
    add_migration(repo, "20240101000002", "clash")
    commit_all(repo, "clash")
    _, doc = gate_json(repo, "--base", "main")
    assert ORDER in rules_of(doc)
    assert "the same as" in next(f for f in doc["findings"] if f["rule"] == ORDER)["message"]


def test_only_new_migrations_are_linted_unless_all(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    add_migration(repo, "20240101000009", "legacy", "CREATE STATISTICS s1 (dependencies) ON a, b FROM t1;\n")
    commit_all(repo, "old unanalysable migration")
    git(repo, "checkout", "-q", "-B", "feature")
    add_migration(repo, "20240201000000", "orders")
    commit_all(repo, "new")
    _, doc = gate_json(repo, "--base", "main")
    assert "unanalysed-statement" not in rules_of(doc)
    _, doc_all = gate_json(repo, "--base", "main", "--all")
    assert "unanalysed-statement" in rules_of(doc_all)
    assert any("--all" in n for n in doc_all["notices"])


def test_new_migrations_are_linted_for_statement_rules(repo: Path) -> None:
    add_migration(repo, "20240201000000", "stats", "CREATE STATISTICS s2 (dependencies) ON a, b FROM t1;\n")
    commit_all(repo, "new unanalysable migration")
    _, doc = gate_json(repo, "--base", "main")
    assert "unanalysed-statement" in rules_of(doc)


class TestSchemaFile:
    @pytest.fixture
    def schema_repo(self, repo: Path) -> Path:
        git(repo, "checkout", "-q", "main")
        (repo / "schema.sql").write_text("CREATE TABLE t0 (id bigint PRIMARY KEY);\n")
        commit_all(repo, "schema file")
        git(repo, "checkout", "-q", "-B", "feature")
        return repo

    def test_schema_edit_without_a_migration(self, schema_repo: Path) -> None:
        (schema_repo / "schema.sql").write_text("CREATE TABLE t0 (id bigint PRIMARY KEY, x int);\n")
        commit_all(schema_repo, "schema only")
        code, doc = gate_json(schema_repo, "--base", "main", "--schema-file", "schema.sql")
        assert code == 1
        [f] = changeset_findings(doc)
        assert f["rule"] == SCHEMA and f["file"] == "schema.sql"
        assert "no migration was added" in f["message"]

    def test_migration_without_a_schema_edit(self, schema_repo: Path) -> None:
        add_migration(schema_repo, "20240201000000", "orders")
        commit_all(schema_repo, "migration only")
        code, doc = gate_json(schema_repo, "--base", "main", "--schema-file", "schema.sql")
        assert code == 1
        [f] = changeset_findings(doc)
        assert f["rule"] == SCHEMA and f["file"] == "migrations/20240201000000_orders/up.sql"

    def test_both_together_pass(self, schema_repo: Path) -> None:
        add_migration(schema_repo, "20240201000000", "orders")
        (schema_repo / "schema.sql").write_text("-- plus orders\n")
        commit_all(schema_repo, "both")
        code, doc = gate_json(schema_repo, "--base", "main", "--schema-file", "schema.sql")
        assert code == 0 and changeset_findings(doc) == []

    def test_configured_schema_file_is_used(self, schema_repo: Path) -> None:
        (schema_repo / "migration-guard.toml").write_text('schema_file = "schema.sql"\n')
        add_migration(schema_repo, "20240201000000", "orders")
        commit_all(schema_repo, "migration only")
        _, doc = gate_json(schema_repo, "--base", "main")
        assert SCHEMA in rules_of(doc)

    def test_a_missing_schema_file_is_a_refusal(self, schema_repo: Path) -> None:
        result = gate(schema_repo, "--base", "main", "--schema-file", "nope.sql")
        assert result.exit_code == 2
        assert "schema file nope.sql does not exist" in result.stderr


def test_unknown_base_ref_is_a_refusal(repo: Path) -> None:
    result = gate(repo, "--base", "origin/does-not-exist")
    assert result.exit_code == 2
    assert "no such branch" in result.stderr and "Traceback" not in result.output


def test_without_a_repository_the_changeset_rules_are_skipped_with_a_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(monkeypatch, tmp_path)
    project = tmp_path / "plain"
    add_migration(project, "20240101000000", "t0")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # never find a repo above tmp_path
    code, doc = gate_json(project, "--base", "main")
    assert code == 0
    assert any("skipped" in n and "not inside a git repository" in n for n in doc["notices"])


def test_without_git_installed_the_changeset_rules_are_skipped_with_a_notice(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-bin-here"))
    result = gate(repo, "--base", "main")
    assert result.exit_code == 0
    assert "note: change-set rules against main skipped: git is not installed" in result.stdout


class TestShallowClone:
    @pytest.fixture
    def upstream(self, repo: Path) -> Path:
        for i in range(3):  # the branch is several commits ahead of where it left main
            add_migration(repo, f"2024020100000{i}", f"f{i}")
            commit_all(repo, f"feature {i}")
        git(repo, "checkout", "-q", "main")
        add_migration(repo, "20240101000005", "main_only")
        commit_all(repo, "main moves on")
        git(repo, "checkout", "-q", "feature")
        return repo

    def test_the_gate_deepens_a_depth_1_clone_to_find_the_merge_base(
        self, upstream: Path, tmp_path: Path
    ) -> None:
        clone = tmp_path / "clone"
        git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", upstream.as_uri(), str(clone))
        assert git(clone, "rev-parse", "--is-shallow-repository") == "true"
        code, doc = gate_json(clone, "--base", "origin/main")
        assert code == 0, doc
        assert any("deepened" in n or "full history" in n for n in doc["notices"])
        assert any("fetched origin/main" in n for n in doc["notices"])
        assert any("3 new migrations" in n for n in doc["notices"])

    def test_an_unreachable_remote_explains_the_depth_needed(self, upstream: Path, tmp_path: Path) -> None:
        clone = tmp_path / "clone"
        git(
            tmp_path,
            "clone",
            "-q",
            "--depth",
            "1",
            "--no-single-branch",
            "--branch",
            "feature",
            upstream.as_uri(),
            str(clone),
        )
        git(clone, "remote", "set-url", "origin", (tmp_path / "gone").as_uri())
        result = gate(clone, "--base", "origin/main")
        assert result.exit_code == 2
        assert "shallow clone" in result.stderr and "fetch-depth: 0" in result.stderr

    def test_a_full_clone_needs_no_fetch(self, upstream: Path, tmp_path: Path) -> None:
        clone = tmp_path / "clone"
        git(
            tmp_path,
            "clone",
            "-q",
            "--no-single-branch",
            "--branch",
            "feature",
            upstream.as_uri(),
            str(clone),
        )
        code, doc = gate_json(clone, "--base", "origin/main")
        assert code == 0
        assert not any("fetched" in n or "deepened" in n for n in doc["notices"])


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        ("20240101000000", "20250102030405"),  # timestamp: now, in the same format
        ("20990101000000", "20990101000001"),  # timestamp in the future: one more
        ("0042", "0043"),
        ("1.2.9", "1.2.10"),
        ("1_2", "1_3"),
        ("1605000000000", str(int(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp() * 1000))),
    ],
)
def test_next_version_keeps_the_style(latest: str, expected: str) -> None:
    assert next_version(latest, datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)) == expected


def test_non_migration_files_and_a_new_down_file_are_not_edits(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    (repo / "migrations" / "README.md").write_text("how we write migrations\n")
    up_only = repo / "migrations" / "20240101000007_no_down"
    up_only.mkdir()
    (up_only / "up.sql").write_text("CREATE TABLE no_down (id bigint PRIMARY KEY);\n")
    commit_all(repo, "readme and an up without down")
    git(repo, "checkout", "-q", "-B", "feature")
    (repo / "migrations" / "README.md").write_text("how we write migrations, revised\n")
    (up_only / "down.sql").write_text("DROP TABLE no_down;\n")  # retrofitting a missing down is welcome
    commit_all(repo, "docs and a down file")
    _, doc = gate_json(repo, "--base", "main")
    assert changeset_findings(doc) == [], doc["findings"]
    assert any("0 new migrations" in n for n in doc["notices"])
