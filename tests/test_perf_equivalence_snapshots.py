"""The speed-ups change nothing: folder snapshots and replayed reports equal a fresh lint and are
dropped whenever an input they depend on changes, several PATHs lint as each alone, and the corpus
lints the same cold, warm and parallel."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS

from guard.cli import cli
from guard.config import Settings
from guard.lint import folder_cache
from guard.lint.cache import open_cache
from guard.lint.engine import lint_path

# --- folder snapshots ---------------------------------------------------------------------------


def _project(root: Path) -> Path:
    folder = root / "migrations"
    folder.mkdir()
    (folder / "1_users.up.sql").write_text("CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
    (folder / "1_users.down.sql").write_text("DROP TABLE users;\n")
    (folder / "2_index.up.sql").write_text("CREATE INDEX users_email_idx ON users (email);\n")
    (folder / "2_index.down.sql").write_text("DROP INDEX users_email_idx;\n")
    old = time.time() - 60  # older than the racy window
    for p in folder.iterdir():
        os.utime(p, (old, old))
    return folder


@pytest.fixture(autouse=True)
def _no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    # Files written by a test have a fresh ctime that no utime can age; only a change
    # after the walk is racy here (the production window is RACY_SECONDS).
    monkeypatch.setattr(folder_cache, "RACY_SECONDS", 0.0)


def _no_discovery(*_: object, **__: object) -> object:
    raise AssertionError("discovery ran although the folder snapshot should answer")


def test_unchanged_folder_is_answered_from_its_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _project(tmp_path)
    settings = Settings(cache_dir=tmp_path / "cache")
    cold = lint_path(folder, settings, cache=open_cache(settings, folder))
    assert [f.rule for f in cold.findings] == ["require-concurrent-index"]
    monkeypatch.setattr("guard.layouts.discover", _no_discovery)
    warm = lint_path(folder, settings, cache=open_cache(settings, folder))
    assert (warm.findings, warm.migrations, warm.layout) == (cold.findings, cold.migrations, cold.layout)


@pytest.mark.parametrize("change", ["edit", "add", "remove", "corrupt"])
def test_snapshot_is_dropped_when_anything_changes(tmp_path: Path, change: str) -> None:
    folder = _project(tmp_path)
    settings = Settings(cache_dir=tmp_path / "cache")
    lint_path(folder, settings, cache=open_cache(settings, folder))
    up = folder / "2_index.up.sql"
    if change == "edit":  # same size, same mtime (an editor's save-and-rename): the inode tells
        st = up.stat()
        new = folder / "tmp"
        new.write_text("CREATE INDEX users_email_idy ON users (email);\n")
        os.utime(new, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(new, up)
    elif change == "add":
        (folder / "3_drop.up.sql").write_text("DROP TABLE users;\n")
    elif change == "remove":
        up.unlink()
    else:
        for snap in (tmp_path / "cache").glob("folder-*.json"):
            snap.write_bytes(
                snap.read_bytes().replace(b"require-concurrent-index", b"require-concurrent-indey")
            )
    fresh = lint_path(folder, replace(settings, cache=False))
    again = lint_path(folder, settings, cache=open_cache(settings, folder))
    assert again.findings == fresh.findings


def test_racy_files_are_not_snapshotted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(folder_cache, "RACY_SECONDS", 2.0)
    folder = _project(tmp_path)
    (folder / "3_new.up.sql").write_text("SELECT 1;\n")  # written just now
    settings = Settings(cache_dir=tmp_path / "cache")
    signature = folder_cache.folder_signature(folder, ())
    assert signature is not None and signature.racy
    lint_path(folder, settings, cache=open_cache(settings, folder))
    assert not list((tmp_path / "cache").glob("folder-*.json"))


def test_snapshot_still_refuses_unknown_rule_names(tmp_path: Path) -> None:
    from guard.errors import ConfigError

    folder = _project(tmp_path)
    settings = Settings(cache_dir=tmp_path / "cache", disable=frozenset({"require-concurrent-index"}))
    lint_path(folder, settings, cache=open_cache(settings, folder))
    bad = replace(settings, disable=frozenset({"require-concurent-index"}))
    with pytest.raises(ConfigError):
        lint_path(folder, bad, cache=open_cache(bad, folder))


# --- several PATHs ------------------------------------------------------------------------------


def test_lint_several_paths_in_one_run(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    a = _project(tmp_path / "a")
    b = tmp_path / "b"
    b.mkdir()
    (b / "20240101000000_ok").mkdir()
    (b / "20240101000000_ok" / "up.sql").write_text("CREATE TABLE notes (id bigint PRIMARY KEY);\n")
    (b / "20240101000000_ok" / "down.sql").write_text("DROP TABLE notes;\n")
    runner = CliRunner()
    both = runner.invoke(cli, ["lint", str(a), str(b), "--format", "json", "--no-cache"])
    alone_a = runner.invoke(cli, ["lint", str(a), "--format", "json", "--no-cache"])
    alone_b = runner.invoke(cli, ["lint", str(b), "--format", "json", "--no-cache"])
    assert (both.exit_code, alone_a.exit_code, alone_b.exit_code) == (1, 1, 0)
    doc, da, db = (json.loads(r.output) for r in (both, alone_a, alone_b))
    assert doc["findings"] == da["findings"] + db["findings"]
    assert doc["summary"]["migrations"] == da["summary"]["migrations"] + db["summary"]["migrations"]
    assert doc["summary"]["layout"] == "golang-migrate,hasura"
    refused = runner.invoke(cli, ["lint", str(a), str(b), "--base", "HEAD"])  # the gate is per folder
    assert refused.exit_code == 2 and "single PATH" in refused.output


# --- the corpus ----------------------------------------------------------------------------------


CORPUS_FOLDERS = (
    "Mission-Prerna__nl-hasura-migrations/migrations/default",
    "openmeterio__openmeter/tools/migrate/migrations",
    "bionic-gpt__bionic-gpt/crates/db/migrations",
)


@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus not present")
def test_corpus_findings_are_the_same_cold_warm_and_parallel(tmp_path: Path) -> None:
    for rel in CORPUS_FOLDERS:
        folder = CORPUS / rel
        settings = Settings(cache_dir=tmp_path / "cache")
        plain = lint_path(folder, replace(settings, cache=False)).findings
        cold = lint_path(folder, settings, cache=open_cache(settings, folder), jobs=2).findings
        warm = lint_path(folder, settings, cache=open_cache(settings, folder)).findings
        assert plain == cold == warm, rel


# --- replaying the report of an unchanged run --------------------------------------------------------


def _reports(cache: Path) -> list[Path]:
    return sorted(cache.glob("report-*.txt"))


@pytest.mark.parametrize("fmt", ["json", "text", "sarif", "gitlab", "github"])
def test_unchanged_run_replays_its_report_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = _project(tmp_path / "a"), _project(tmp_path / "b")
    cache = tmp_path / "cache"
    args = ["lint", str(a), str(b), "--format", fmt, "--cache-dir", str(cache)]
    runner = CliRunner()
    first = runner.invoke(cli, args)
    assert first.exit_code == 1 and len(_reports(cache)) == 1
    # Replayed: neither discovery nor the folder snapshots are consulted.
    monkeypatch.setattr("guard.layouts.discover", _no_discovery)
    monkeypatch.setattr(folder_cache, "load", _no_discovery)
    again = runner.invoke(cli, args)
    assert (again.exit_code, again.output) == (first.exit_code, first.output)
    # Another fail level is another report (the exit code differs), not a replay of this one.
    monkeypatch.undo()
    monkeypatch.setattr(folder_cache, "RACY_SECONDS", 0.0)
    lenient = runner.invoke(cli, [*args, "--fail-on", "info"])
    assert lenient.exit_code == 1 and len(_reports(cache)) == 2
    strict_again = runner.invoke(cli, args)
    assert (strict_again.exit_code, strict_again.output) == (first.exit_code, first.output)


@pytest.mark.parametrize("fmt", ["sarif", "gitlab", "github"])
def test_a_rooted_report_is_not_replayed_once_its_root_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """Report paths are relative to the git work tree, else to the working directory: the folder
    unchanged, a new work tree above it gives another report, never the stored one."""
    work = tmp_path / "repo" / "db"
    work.mkdir(parents=True)
    _project(work)
    monkeypatch.chdir(work)
    cache = tmp_path / "cache"
    runner = CliRunner()
    outputs = []
    for _ in range(2):
        fresh = runner.invoke(cli, ["lint", "migrations", "--format", fmt, "--no-cache"])
        for _ in range(2):  # stored, then replayed
            cached = runner.invoke(cli, ["lint", "migrations", "--format", fmt, "--cache-dir", str(cache)])
            assert (cached.exit_code, cached.output) == (fresh.exit_code, fresh.output)
        outputs.append(fresh.output)
        subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    assert "db/migrations/" in outputs[1] and "db/migrations/" not in outputs[0]
    assert len(_reports(cache)) == 2


@pytest.mark.parametrize("change", ["edit", "corrupt"])
def test_report_is_not_replayed_when_anything_changed(tmp_path: Path, change: str) -> None:
    folder = _project(tmp_path)
    cache = tmp_path / "cache"
    args = ["lint", str(folder), "--format", "json", "--cache-dir", str(cache)]
    runner = CliRunner()
    runner.invoke(cli, args)
    (report,) = _reports(cache)
    if change == "edit":
        (folder / "2_index.up.sql").write_text(
            "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n"
        )
    else:
        report.write_bytes(
            report.read_bytes().replace(b"require-concurrent-index", b"require-concurrent-indey")
        )
    fresh = runner.invoke(cli, ["lint", str(folder), "--format", "json", "--no-cache"])
    again = runner.invoke(cli, args)
    assert (again.exit_code, json.loads(again.output)) == (fresh.exit_code, json.loads(fresh.output))
    assert "require-concurrent-indey" not in again.output


def test_no_report_is_stored_for_a_terminal_or_github_actions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _project(tmp_path)
    cache = tmp_path / "cache"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # annotations and paths depend on more than findings
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    CliRunner().invoke(cli, ["lint", str(folder), "--format", "json", "--cache-dir", str(cache)])
    assert list((cache).glob("folder-*.json")) and not _reports(cache)
