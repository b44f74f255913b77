"""Real git repositories in temporary folders for the CI gate tests (no mocks of git)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

SAFE_UP = "CREATE TABLE {t} (id bigint PRIMARY KEY);\n"
SAFE_DOWN = "DROP TABLE {t};\n"


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git in `cwd` (with `env` added to the environment); fail the test with git's stderr when it fails."""
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


def isolate_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Make git ignore the machine's global and system config (autocrlf, signing, hooks)."""
    empty = tmp_path / "gitconfig"
    empty.write_text('[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var, value in {
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def add_migration(
    repo: Path, version: str, name: str, up: str | None = None, down: str | None = None
) -> Path:
    """Write a Hasura-layout migration `migrations/<version>_<name>/up.sql|down.sql`; return its folder."""
    folder = repo / "migrations" / f"{version}_{name}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "up.sql").write_text(up if up is not None else SAFE_UP.format(t=name))
    (folder / "down.sql").write_text(down if down is not None else SAFE_DOWN.format(t=name))
    return folder


def commit_all(repo: Path, message: str, at: datetime | None = None) -> None:
    """Stage everything and commit (committed `at` that moment, when given: GIT_COMMITTER_DATE)."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, env=dated(at))


def dated(at: datetime | None) -> dict[str, str]:
    """The environment that makes git stamp a commit (author and committer) at `at`."""
    if at is None:
        return {}
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S%z")
    return {"GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp}


def make_repo(root: Path, versions: int = 3) -> Path:
    """A repository whose `main` has `versions` safe migrations, checked out on branch `feature`."""
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for i in range(versions):
        add_migration(repo, f"2024010100000{i}", f"t{i}")
    commit_all(repo, "base migrations")
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def gate(repo: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """`migration-guard lint migrations --no-cache <args>` run in `repo` (in-process, real git)."""
    from guard.cli import cli

    here = os.getcwd()
    os.chdir(repo)
    try:
        return CliRunner().invoke(
            cli, ["lint", "migrations", "--no-cache", *args], env=env, catch_exceptions=False
        )
    finally:
        os.chdir(here)


def gate_json(repo: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """Exit code and parsed JSON report of the gate."""
    result = gate(repo, "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def rules_of(doc: dict[str, Any]) -> list[str]:
    """The rule ids of a JSON report's findings, in order."""
    return [f["rule"] for f in doc["findings"]]
