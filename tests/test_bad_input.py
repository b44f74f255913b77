"""Bad input through the CLI: each case is exit 2 with one clear `error:` line (plus a hint),
or is linted, and never a traceback or a hang."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from guard.cli import cli

REPO = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / "migration-guard"


def lint(path: Path, *extra: str) -> Result:
    return CliRunner().invoke(cli, ["lint", str(path), "--no-cache", *extra])


def assert_refused(stderr: str, exit_code: int, *needles: str) -> str:
    """Exit 2, no traceback, exactly one `error:` line (the hint may follow); return that line."""
    assert exit_code == 2, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("migration-guard: error: ")]
    assert len(errors) == 1, stderr
    assert all(line == errors[0] or line.startswith("  hint: ") for line in lines), stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def run_exe(*args: str, timeout: float = 60, user: int | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, optionally as another user (needs root and setpriv)."""
    cmd = [str(EXE), *args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary folder another user can enter (pytest's tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="guard-bad-input-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for p in path.rglob("*"):
            if not p.is_symlink():
                p.chmod(0o755)
        shutil.rmtree(path, ignore_errors=True)


def test_missing_path(tmp_path: Path) -> None:
    r = lint(tmp_path / "nope")
    assert_refused(r.stderr, r.exit_code, "no such file or directory")


def test_a_file_is_linted_as_one_migration(tmp_path: Path) -> None:
    f = tmp_path / "hotfix.sql"
    f.write_text("DROP TABLE users;\n")
    r = lint(f, "--format", "json")
    assert r.exit_code == 1, r.output
    assert "avoid-drop-table" in r.stdout or "drop" in r.stdout.lower()
    assert "Traceback" not in r.output


def test_empty_folder(tmp_path: Path) -> None:
    r = lint(tmp_path)
    assert_refused(r.stderr, r.exit_code, "is empty")


def test_folder_without_sql_files(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("hi")
    r = lint(tmp_path)
    assert_refused(r.stderr, r.exit_code, "no .sql files")


def test_folder_with_no_recognisable_migrations(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text("CREATE TABLE a (id int);")
    (tmp_path / "seed.sql").write_text("INSERT INTO a VALUES (1);")
    r = lint(tmp_path)
    assert_refused(r.stderr, r.exit_code, "no recognisable migrations among 2 .sql files")
    assert "hint: " in r.stderr


def test_not_utf8_names_the_file_and_byte_offset(tmp_path: Path) -> None:
    (tmp_path / "1_latin1.sql").write_bytes(b"SELECT 'caf\xe9';\n")
    r = lint(tmp_path)
    assert_refused(r.stderr, r.exit_code, "1_latin1.sql", "not UTF-8", "0xe9", "offset 11")


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "1_blob.sql").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    r = lint(tmp_path)
    assert_refused(r.stderr, r.exit_code, "1_blob.sql", "binary file", "offset 8")


def test_unreadable_file_nobody_needs_does_not_stop_discovery(tmp_path: Path) -> None:
    (tmp_path / "1_ok.up.sql").write_text("CREATE TABLE a (id int);")
    (tmp_path / "1_ok.down.sql").write_text("DROP TABLE a;")
    (tmp_path / "notes.sql").write_bytes(b"\xff\x00 not sql")
    r = lint(tmp_path)
    assert r.exit_code in (0, 1), r.output
    assert "ignored-migration-file" in r.stdout


def test_symlink_loop_as_the_path(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    r = lint(tmp_path / "a")
    assert_refused(r.stderr, r.exit_code)


def test_symlink_loop_inside_the_folder_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "1_a.sql").write_text("CREATE TABLE a (id int);")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "up").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "self.sql").symlink_to(tmp_path / "self.sql")  # a file link loop nobody needs
    started = time.monotonic()
    r = lint(tmp_path)
    assert time.monotonic() - started < 30
    assert r.exit_code in (0, 1), r.output
    assert "symlinked folder" in r.stdout


def test_symlink_loop_as_a_migration_file(tmp_path: Path) -> None:
    (tmp_path / "1_a.sql").write_text("CREATE TABLE a (id int);")
    (tmp_path / "2_b.sql").symlink_to(tmp_path / "2_b.sql")
    r = lint(tmp_path)
    assert_refused(r.stderr, r.exit_code, "2_b.sql", "symlink loop")


def test_broken_symlink_migration(tmp_path: Path) -> None:
    (tmp_path / "1_a.sql").symlink_to(tmp_path / "gone.sql")
    r = lint(tmp_path)
    assert_refused(r.stderr, r.exit_code, "1_a.sql", "broken symlink")


def test_over_the_size_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("guard.layouts.files.MAX_FILE_BYTES", 1024 * 1024)
    (tmp_path / "1_big.sql").write_text("SELECT 1;\n" * 200_000)
    r = lint(tmp_path)
    assert_refused(r.stderr, r.exit_code, "1_big.sql", "1.9 MiB is over the 1.0 MiB limit")


@pytest.mark.slow
def test_a_50_mb_data_migration_is_linted_in_reasonable_time(tmp_path: Path) -> None:
    row = "(1, 'some text; with a semicolon', 42.5),\n"
    body = row * (50_000_000 // len(row))
    f = tmp_path / "20240101000000_load.sql"
    f.write_text(f"CREATE TABLE t (a int, b text, c numeric);\nINSERT INTO t VALUES\n{body}(0, 'x', 1);\n")
    assert f.stat().st_size > 50_000_000
    started = time.monotonic()
    r = run_exe("lint", "--no-cache", str(tmp_path), timeout=120)
    elapsed = time.monotonic() - started
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr
    assert "1 migration" in r.stdout
    assert elapsed < 60, f"linting 50 MB took {elapsed:.1f}s"


def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "1_pipe.sql")
    r = run_exe("lint", "--no-cache", str(tmp_path), timeout=30)
    assert_refused(r.stderr, r.returncode, "1_pipe.sql", "not a regular file")
    r = run_exe("lint", "--no-cache", str(tmp_path / "1_pipe.sql"), timeout=30)
    assert_refused(r.stderr, r.returncode, "1_pipe.sql", "not a folder or a regular file")


def _as_other_user() -> int | None:
    """The uid to run as so permissions apply (root ignores them), or skip."""
    if os.geteuid() != 0:
        return None
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return 65534  # nobody


def test_permission_denied_on_a_file(shared_tmp: Path) -> None:
    user = _as_other_user()
    (shared_tmp / "1_a.sql").write_text("CREATE TABLE a (id int);")
    (shared_tmp / "1_a.sql").chmod(0o000)
    r = run_exe("lint", "--no-cache", str(shared_tmp), user=user)
    assert_refused(r.stderr, r.returncode, "1_a.sql", "permission denied")


def test_permission_denied_on_a_subfolder(shared_tmp: Path) -> None:
    user = _as_other_user()
    (shared_tmp / "1_a.sql").write_text("CREATE TABLE a (id int);")
    (shared_tmp / "locked").mkdir()
    (shared_tmp / "locked" / "2_b.sql").write_text("SELECT 1;")
    (shared_tmp / "locked").chmod(0o000)
    r = run_exe("lint", "--no-cache", str(shared_tmp), user=user)
    assert_refused(r.stderr, r.returncode, "locked", "permission denied")
