"""`guard.lint.run.run_lint`: the library call behind `migration-guard lint` (the command only
turns options into settings, writes the report and exits with its code)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guard.config import Settings
from guard.errors import InputError
from guard.lint import folder_cache
from guard.lint.run import run_lint


def _folder(root: Path, name: str, index_sql: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "1_users.up.sql").write_text("CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
    (folder / "1_users.down.sql").write_text("DROP TABLE users;\n")
    (folder / "2_index.up.sql").write_text(index_sql)
    (folder / "2_index.down.sql").write_text("DROP INDEX users_email_idx;\n")
    old = time.time() - 60
    for p in folder.iterdir():
        os.utime(p, (old, old))
    return folder


@pytest.fixture(autouse=True)
def _no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(folder_cache, "RACY_SECONDS", 0.0)


def _targets(tmp_path: Path, settings: Settings) -> list[tuple[Path, Settings]]:
    bad = _folder(tmp_path, "a", "CREATE INDEX users_email_idx ON users (email);\n")
    good = _folder(tmp_path, "b", "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n")
    return [(bad, settings), (good, settings)]


def test_several_folders_one_report_and_the_highest_exit_code(tmp_path: Path) -> None:
    settings = Settings(cache=False)
    report = run_lint(_targets(tmp_path, settings), fmt="json")
    assert report.exit_code == 1 and report.result is not None
    out = io.StringIO()
    report.write(out)
    doc = json.loads(out.getvalue())
    assert [f["rule"] for f in doc["findings"]] == ["require-concurrent-index"]
    assert doc["summary"]["migrations"] == 4


def test_an_unchanged_run_is_replayed_byte_for_byte(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path / "cache")
    targets = _targets(tmp_path, settings)
    first = run_lint(targets, fmt="json")
    assert first.result is not None and first.text is not None  # rendered once, and stored
    again = run_lint(targets, fmt="json")
    assert again.result is None and (again.text, again.exit_code) == (first.text, first.exit_code)
    # A terminal or GitHub Actions never gets a replay: the report is rendered for its stream.
    live = run_lint(targets, fmt="json", interactive=True)
    assert live.result is not None and live.text is None and live.exit_code == first.exit_code


def test_base_takes_one_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--base compares one migrations folder"):
        run_lint(_targets(tmp_path, Settings(cache=False)), base="origin/main")


def test_cyclic_collector_is_paused_for_the_run_and_restored(tmp_path: Path) -> None:
    import gc

    assert gc.isenabled()
    run_lint(_targets(tmp_path / "on", Settings(cache=False)), fmt="text")
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that had it off keeps it off
        run_lint(_targets(tmp_path / "off", Settings(cache=False)), fmt="text")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_console_script_exits_with_the_report_flushed(tmp_path: Path) -> None:
    """The entry point freezes the collector at exit (the interpreter skips its last
    collection); the report still reaches a pipe and a file whole, and the exit code is kept."""
    bad = _folder(tmp_path, "a", "CREATE INDEX users_email_idx ON users (email);\n")
    out_file = tmp_path / "report.json"
    code = "import sys; from guard.cli import main; sys.argv = ['migration-guard', *sys.argv[1:]]; main()"
    for extra in ([], ["-o", str(out_file)]):
        done = subprocess.run(
            [sys.executable, "-c", code, "lint", str(bad), "--format", "json", "--no-cache", *extra],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        text = out_file.read_text() if extra else done.stdout
        assert json.loads(text)["summary"]["exit_code"] == 1
