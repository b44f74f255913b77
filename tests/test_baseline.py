"""The lint baseline: fingerprints that survive reformatting, new findings that still block,
stale entries reported, JSON counts, the findings cache and the CI gate (real git)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from git_helpers import add_migration, commit_all, gate_json, git, isolate_git, rules_of

from guard.cli import cli
from guard.lint.fingerprint import fingerprint_text, normalize_statement

UNSAFE = "ALTER TABLE users DROP COLUMN legacy;\n"
SAFE_USERS = "CREATE TABLE users (id bigint PRIMARY KEY, legacy text, other text);\n"


def _fp(text: str) -> str:
    return fingerprint_text(normalize_statement(text))


def test_fingerprint_ignores_whitespace_comments_and_keyword_case() -> None:
    plain = "ALTER TABLE users DROP COLUMN legacy"
    assert _fp("alter table Users\n   drop column /* old */ LEGACY -- gone\n") == _fp(plain)
    assert _fp("ALTER  TABLE\tusers DROP COLUMN legacy") == _fp(plain)


def test_fingerprint_keeps_what_changes_meaning() -> None:
    plain = "ALTER TABLE users DROP COLUMN legacy"
    assert _fp('ALTER TABLE "Users" DROP COLUMN legacy') != _fp(plain)  # another table
    assert _fp("ALTER TABLE users DROP COLUMN other") != _fp(plain)
    assert _fp("UPDATE t SET a = 'x'") != _fp("UPDATE t SET a = 'X'")  # string contents


def _project(root: Path, files: dict[str, str], config: str = "") -> Path:
    """A golang-migrate project with its own config file (the baseline sits beside it)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "migration-guard.toml").write_text(config)
    folder = root / "migrations"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _run(cwd: Path, *args: str) -> Result:
    import os

    here = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(here)


def _lint(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = _run(root, "lint", "migrations", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def _adopted(tmp_path: Path, config: str = "cache = false\n") -> Path:
    root = tmp_path / "proj"
    _project(
        root,
        {
            "1_users.up.sql": SAFE_USERS,
            "1_users.down.sql": "DROP TABLE users;\n",
            "2_drop.up.sql": UNSAFE,
            "2_drop.down.sql": "ALTER TABLE users ADD COLUMN legacy text;\n",
        },
        config,
    )
    assert _lint(root)[0] == 1
    written = _run(root, "baseline", "migrations")
    assert written.exit_code == 0, written.output
    assert "1 findings accepted" in written.stdout
    return root


def test_baselined_findings_pass_and_are_counted(tmp_path: Path) -> None:
    root = _adopted(tmp_path)
    code, doc = _lint(root)
    assert code == 0
    assert doc["findings"] == []
    assert doc["summary"]["baselined"] == 1
    text = _run(root, "lint", "migrations")
    assert "0 errors, 0 warnings, 1 baselined (passed" in text.stdout


def test_baseline_file_is_sorted_versioned_and_stable(tmp_path: Path) -> None:
    root = _adopted(tmp_path)
    path = root / "migration-guard-baseline.json"
    first = path.read_text()
    doc = json.loads(first)
    assert doc["format"] == 1 and doc["migrations"] == "migrations"
    (entry,) = doc["findings"]
    assert entry["migration"] == "2_drop" and entry["rule"] == "avoid-drop-column" and entry["count"] == 1
    assert entry["statement"] == "alter table users drop column legacy"
    again = _run(root, "baseline", "migrations", "--check")
    assert again.exit_code == 0 and "up to date" in again.stdout
    assert path.read_text() == first


def test_reformatting_and_moving_the_statement_keeps_it_accepted(tmp_path: Path) -> None:
    root = _adopted(tmp_path)
    (root / "migrations" / "2_drop.up.sql").write_text(
        "-- tidied up\nSELECT 1;\n\n\nalter table users\n    drop column LEGACY; /* moved down */\n"
    )
    code, doc = _lint(root)
    assert code == 0, doc["findings"]
    assert doc["summary"]["baselined"] == 1


def test_a_new_statement_in_a_baselined_migration_blocks(tmp_path: Path) -> None:
    root = _adopted(tmp_path)
    (root / "migrations" / "2_drop.up.sql").write_text(UNSAFE + "ALTER TABLE users DROP COLUMN other;\n")
    code, doc = _lint(root)
    assert code == 1
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [("avoid-drop-column", 2)]
    assert doc["summary"]["baselined"] == 1


def test_the_same_statement_repeated_counts_beyond_the_recorded_count(tmp_path: Path) -> None:
    root = _adopted(tmp_path)
    (root / "migrations" / "2_drop.up.sql").write_text(UNSAFE + UNSAFE)
    code, doc = _lint(root)
    assert code == 1
    assert rules_of(doc) == ["avoid-drop-column"]
    assert doc["summary"]["baselined"] == 1


def test_the_same_statement_in_another_migration_is_not_covered(tmp_path: Path) -> None:
    root = _adopted(tmp_path)
    (root / "migrations" / "3_again.up.sql").write_text(UNSAFE)
    (root / "migrations" / "3_again.down.sql").write_text("ALTER TABLE users ADD COLUMN legacy text;\n")
    code, doc = _lint(root)
    assert code == 1
    assert [f["migration"] for f in doc["findings"]] == ["3_again"]


def test_an_entry_that_no_longer_occurs_is_reported_and_baseline_shrinks_it(tmp_path: Path) -> None:
    root = _adopted(tmp_path)
    (root / "migrations" / "2_drop.up.sql").write_text("ALTER TABLE users ADD COLUMN extra text;\n")
    code, doc = _lint(root)
    assert code == 0
    (stale,) = doc["findings"]
    assert stale["rule"] == "unused-baseline-entry" and stale["severity"] == "info"
    assert stale["file"].endswith("migration-guard-baseline.json")
    lines = (root / "migration-guard-baseline.json").read_text().splitlines()
    assert '"migration": "2_drop"' in lines[stale["line"] - 1]
    check = _run(root, "baseline", "migrations", "--check")
    assert check.exit_code == 1 and "1 no longer occur" in check.stdout
    assert _run(root, "baseline", "migrations").exit_code == 0
    code, doc = _lint(root)
    assert (code, doc["findings"], doc["summary"]["baselined"]) == (0, [], 0)


def test_fingerprints_survive_the_findings_cache() -> None:
    from guard.lint.cache import _decode, _encode
    from guard.model import Finding, Severity

    finding = Finding("r", Severity.ERROR, "a.sql", 3, "m", fingerprint="0123456789abcdef")
    assert _decode(json.loads(json.dumps(_encode(finding)))).fingerprint == "0123456789abcdef"


def test_a_changed_baseline_is_never_answered_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Findings are cached raw and the report replayed only under the baseline's digest."""
    import os
    import time

    from guard.lint import folder_cache

    monkeypatch.setattr(folder_cache, "RACY_SECONDS", 0.0)  # let snapshots and replays happen at once
    root = _adopted(tmp_path, config="")  # cache on
    old = time.time() - 60
    for path in (root / "migrations").iterdir():
        os.utime(path, (old, old))
    baseline = root / "migration-guard-baseline.json"
    accepted = baseline.read_text()
    for _ in range(2):  # the second run is answered by the report replay
        code, doc = _lint(root)
        assert (code, doc["summary"]["baselined"]) == (0, 1)
    assert list((root / ".migration-guard-cache").glob("report-*")), "the report was not stored for replay"
    baseline.unlink()
    code, doc = _lint(root)
    assert (code, rules_of(doc)) == (1, ["avoid-drop-column"])
    baseline.write_text(accepted.replace('"count": 1', '"count": 2'))
    code, doc = _lint(root)
    assert code == 0
    assert [f["message"] for f in doc["findings"]] == [
        "baseline entry for avoid-drop-column in 2_drop no longer occurs (1 of 2)"
    ]
    assert list((root / ".migration-guard-cache").glob("folder-*")), "no folder snapshot answered"


def test_a_broken_baseline_is_refused(tmp_path: Path) -> None:
    root = _adopted(tmp_path)
    (root / "migration-guard-baseline.json").write_text('{"format": 1, "findings": [')
    result = _run(root, "lint", "migrations")
    assert result.exit_code == 2
    assert "the lint baseline is not valid JSON" in result.stderr
    assert "Traceback" not in result.output


def test_the_baseline_setting_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "proj" / "ci").mkdir(parents=True)
    root = _adopted(tmp_path, config='cache = false\nbaseline = "ci/accepted.json"\n')
    assert not (root / "migration-guard-baseline.json").exists()
    assert json.loads((root / "ci" / "accepted.json").read_text())["migrations"] == "../migrations"
    code, doc = _lint(root)
    assert (code, doc["summary"]["baselined"]) == (0, 1)
    shown = _run(root, "config", "migrations", "--format", "json")
    assert json.loads(shown.stdout)["settings"]["baseline"]["value"].endswith("ci/accepted.json")


def test_a_baseline_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj", {"1_a.up.sql": UNSAFE}, 'baseline = "missing/dir/b.json"\n')
    result = _run(root.parent, "baseline", "migrations")
    assert result.exit_code == 2
    assert "cannot write the lint baseline: No such file or directory" in result.stderr


def test_a_baseline_of_another_folder_is_neither_applied_nor_overwritten(tmp_path: Path) -> None:
    root = _adopted(tmp_path)
    other = root / "other"
    other.mkdir()
    (other / "1_x.up.sql").write_text(UNSAFE)
    (other / "1_x.down.sql").write_text("SELECT 1;\n")
    result = _run(root, "lint", "other", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["summary"]["baselined"] == 0
    refused = _run(root, "baseline", "other")
    assert refused.exit_code == 2
    assert "is the baseline of another migrations folder" in refused.stderr


# --- the CI gate ------------------------------------------------------------------------------------


@pytest.fixture
def adopted_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose main has an unsafe merged migration and the baseline accepting it."""
    isolate_git(monkeypatch, tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    add_migration(repo, "20240101000000", "users", SAFE_USERS, "DROP TABLE users;\n")
    add_migration(repo, "20240102000000", "drop", UNSAFE, "ALTER TABLE users ADD COLUMN legacy text;\n")
    assert _run(repo, "baseline", "migrations").exit_code == 0
    commit_all(repo, "adopt")
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def test_gate_accepts_merged_findings_with_all(adopted_repo: Path) -> None:
    code, doc = gate_json(adopted_repo, "--base", "main", "--all")
    assert code == 0, doc["findings"]
    assert doc["summary"]["baselined"] == 1


def test_gate_never_baselines_a_new_migration(adopted_repo: Path) -> None:
    """Running `baseline` on a branch does not launder the branch's own unsafe migration."""
    add_migration(adopted_repo, "20240103000000", "again", UNSAFE.replace("legacy", "other"), "SELECT 1;\n")
    assert _run(adopted_repo, "baseline", "migrations").exit_code == 0
    commit_all(adopted_repo, "sneak it in")
    for extra in ((), ("--all",)):
        code, doc = gate_json(adopted_repo, "--base", "main", *extra)
        assert code == 1
        blocking = [f for f in doc["findings"] if f["severity"] == "error"]
        assert {f["migration"] for f in blocking} == {"20240103000000_again"}
        assert "avoid-drop-column" in rules_of(doc)
    # --all judges every entry: the ones for the new migration are said to be refused.
    refused = [f["message"] for f in doc["findings"] if f["rule"] == "unused-baseline-entry"]
    assert refused and all("20240103000000_again is not honoured" in m for m in refused)
