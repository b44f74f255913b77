"""`migration-guard doctor` on real git repositories and a real Postgres."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from guard.cli import cli
from guard.config import Settings
from guard.doctor import ERROR, OK, WARNING, check_dotenv, check_git, exit_code, run_doctor

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    return tmp_path


def _levels(checks: list, topic: str) -> list[str]:
    return [c.level for c in checks if c.topic == topic]


@pytest.mark.parametrize(
    ("content", "flagged"),
    [
        (
            "DATABASE_URL=postgresql://app:hunter22@db/app\n",
            "DATABASE_URL (connection string with a password)",
        ),
        ("DATABASE_URL=host=db password=hunter22\n", "DATABASE_URL"),
        ("STRIPE_SECRET_KEY=abc\n", "STRIPE_SECRET_KEY"),
        ("GITHUB_TOKEN=abc\n", "GITHUB_TOKEN"),
        ("OPENAI_API_KEY=abc\n", "OPENAI_API_KEY"),
        ("SOMETHING=ghp_abcdefabcdef\n", "SOMETHING"),
    ],
)
def test_secrets_in_dot_env_are_findings(tmp_path: Path, content: str, flagged: str) -> None:
    from guard.environment import read_dotenv_files

    (tmp_path / ".env").write_text(content)
    checks = check_dotenv(read_dotenv_files(tmp_path))
    assert [c.level for c in checks] == [WARNING]
    assert flagged in checks[0].message
    assert "hunter22" not in checks[0].message and "abc" not in checks[0].message


@pytest.mark.parametrize(
    "content",
    [
        "DATABASE_URL=postgresql://app@localhost/app\n",
        "NEXT_PUBLIC_STRIPE_KEY=pk_test_1\nNODE_ENV=development\n",
        "STRIPE_SECRET_KEY=\n",
    ],
)
def test_harmless_dot_env_is_ok(tmp_path: Path, content: str) -> None:
    from guard.environment import read_dotenv_files

    (tmp_path / ".env").write_text(content)
    assert [c.level for c in check_dotenv(read_dotenv_files(tmp_path))] == [OK]


def test_secrets_in_env_local_are_fine_but_the_lock_is_not(tmp_path: Path) -> None:
    from guard.environment import read_dotenv_files

    (tmp_path / ".env.local").write_text("DATABASE_URL=postgresql://a:pw@h/d\nCONFIRM_PROD_MIGRATE=YES\n")
    checks = check_dotenv(read_dotenv_files(tmp_path))
    assert [(c.level, c.topic) for c in checks] == [(ERROR, ".env.local")]
    assert "a lock saved in a file is no lock" in checks[0].message


@needs_git
def test_env_local_not_ignored_is_a_warning(repo: Path) -> None:
    (repo / ".env.local").write_text("X=1\n")
    assert _levels(check_git(repo), ".env.local") == [WARNING]


@needs_git
def test_env_local_ignored_is_ok(repo: Path) -> None:
    (repo / ".gitignore").write_text(".env*.local\n")
    assert _levels(check_git(repo), ".env.local") == [OK]


@needs_git
def test_committed_env_local_is_an_error_even_when_ignored_now(repo: Path) -> None:
    (repo / ".env.local").write_text("X=1\n")
    _git(repo, "add", ".env.local")
    _git(repo, "commit", "-qm", "oops")
    (repo / ".gitignore").write_text(".env.local\n")
    checks = check_git(repo)
    assert _levels(checks, ".env.local") == [ERROR]
    assert "rotate" in (checks[0].hint or "")


def test_outside_git_is_info(tmp_path: Path) -> None:
    checks = check_git(tmp_path, git=lambda args, cwd: 128)
    assert [c.level for c in checks] == ["info"]


@pytest.mark.db
def test_database_checks(fresh_db: str, tmp_path: Path) -> None:
    from guard.db.connect import connect
    from guard.db.marker import init_marker

    checks = run_doctor(Settings(), {"DATABASE_URL": fresh_db}, tmp_path, git=lambda a, c: 128)
    assert _levels(checks, "database") == [OK]
    assert _levels(checks, "marker") == [WARNING]  # no marker yet
    with connect(fresh_db) as conn:
        init_marker(conn, Settings(), "dev")
    checks = run_doctor(Settings(), {"DATABASE_URL": fresh_db}, tmp_path, git=lambda a, c: 128)
    assert _levels(checks, "marker") == [OK]
    assert exit_code(checks) == 0
    checks = run_doctor(
        Settings(), {"DATABASE_URL": fresh_db, "NODE_ENV": "production"}, tmp_path, git=lambda a, c: 128
    )
    assert _levels(checks, "marker") == [WARNING]


def test_unreachable_database_is_an_error(tmp_path: Path) -> None:
    checks = run_doctor(
        Settings(), {"DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/app"}, tmp_path, git=lambda a, c: 128
    )
    [db] = [c for c in checks if c.topic == "database"]
    assert db.level == ERROR and "unreachable" in db.message
    assert exit_code(checks) == 1


@needs_git
def test_doctor_cli(repo: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.chdir(repo)
    (repo / ".env").write_text("DATABASE_URL=postgresql://app:hunter22@127.0.0.1:1/app\n")
    result = CliRunner().invoke(cli, ["doctor", "--no-db"])
    assert result.exit_code == 1
    assert "warning  .env" in result.stdout and "warning  .env.local" in result.stdout
    assert "hunter22" not in result.output
    (repo / ".env").write_text("NODE_ENV=development\n")
    (repo / ".gitignore").write_text(".env.local\n")
    result = CliRunner().invoke(cli, ["doctor", "--no-db", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"level": "ok"' in result.stdout
