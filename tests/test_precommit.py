"""The `migration-guard` pre-commit hook on staged files, in a real git repository.

The hook is run exactly as pre-commit runs it: the hook's `entry`, the user's `args`, then the
staged files pre-commit selects (`git diff --staged --name-only --diff-filter=ACMRTUXB`,
filtered by the hook's `files` pattern), from the repository root.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from git_helpers import add_migration, commit_all, git, isolate_git

REPO = Path(__file__).resolve().parent.parent
USERS = "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(100));\n"


def hook(hook_id: str) -> dict[str, str]:
    """The scalar fields of one hook of .pre-commit-hooks.yaml (a flat list of mappings)."""
    text = (REPO / ".pre-commit-hooks.yaml").read_text()
    block = text.split(f"- id: {hook_id}\n", 1)[1].split("\n- id:", 1)[0]
    fields = dict(re.findall(r"^  (\w+): (.*)$", block, flags=re.M))
    return {"id": hook_id, **fields}


def run_hook(repo: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """What `pre-commit run` executes for the `migration-guard` hook on the staged files."""
    spec = hook("migration-guard")
    staged = git(repo, "diff", "--staged", "--name-only", "--diff-filter=ACMRTUXB").splitlines()
    files = [f for f in staged if re.search(spec["files"], f)]
    if not files:
        pytest.fail("pre-commit would not run the hook: no staged file matches")
    entry = shlex.split(spec["entry"])
    exe = Path(sys.executable).parent / entry[0]
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "NO_COLOR", "FORCE_COLOR")}
    return subprocess.run(
        [str(exe), *entry[1:], *args, *files], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )


def test_hook_definition() -> None:
    spec = hook("migration-guard")
    assert spec["entry"] == "migration-guard lint --only"
    assert spec["pass_filenames"] == "true" and spec["stages"] == "[pre-commit]"
    assert spec["language"] == "python" and spec["require_serial"] == "true"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with one committed migration and an untracked draft that fails lint."""
    isolate_git(monkeypatch, tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    add_migration(repo, "20240101000000", "users", USERS, "DROP TABLE users;\n")
    commit_all(repo, "users")
    add_migration(repo, "20240301000000", "draft", "DROP TABLE users;\n", USERS)  # untracked, unsafe
    return repo


def test_only_the_staged_migration_is_reported_with_earlier_ones_as_context(repo: Path) -> None:
    # Safe only because the earlier migration made email a varchar: widening it rewrites nothing.
    add_migration(
        repo,
        "20240201000000",
        "email",
        "ALTER TABLE users ALTER COLUMN email TYPE text;\n",
        "ALTER TABLE users ALTER COLUMN email TYPE varchar(100);\n",
    )
    git(repo, "add", "migrations/20240201000000_email")
    proc = run_hook(repo, ["migrations"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 migrations checked: 0 errors, 0 warnings (passed" in proc.stdout
    assert "draft" not in proc.stdout and "avoid-type-change-rewrite" not in proc.stdout


def test_a_staged_unsafe_migration_blocks_the_commit(repo: Path) -> None:
    add_migration(
        repo,
        "20240201000000",
        "idx",
        "CREATE INDEX users_email ON users (email);\n",
        "DROP INDEX users_email;\n",
    )
    git(repo, "add", "-A", "migrations/20240201000000_idx")
    proc = run_hook(repo, ["migrations"])
    assert proc.returncode == 1
    assert "migrations/20240201000000_idx/up.sql:1  error   require-concurrent-index" in proc.stdout
    assert "draft" not in proc.stdout and "1 migrations checked: 1 errors" in proc.stdout


def test_a_down_file_staged_alone_selects_its_migration(repo: Path) -> None:
    folder = add_migration(
        repo, "20240201000000", "idx", "CREATE INDEX users_email ON users (email);\n", "SELECT 1;\n"
    )
    commit_all(repo, "idx")  # the draft is committed too, and its findings still stay out
    (folder / "down.sql").write_text("DROP INDEX users_email;\n")
    git(repo, "add", "migrations/20240201000000_idx/down.sql")
    proc = run_hook(repo, ["migrations"])
    assert proc.returncode == 1
    assert "migrations/20240201000000_idx/up.sql:1  error   require-concurrent-index" in proc.stdout
    assert "20240301000000_draft" not in proc.stdout


def test_staged_sql_outside_the_folder_is_named_not_linted(repo: Path) -> None:
    (repo / "seeds").mkdir()
    (repo / "seeds" / "dev.sql").write_text("DROP TABLE users;\n")
    git(repo, "add", "seeds/dev.sql")
    proc = run_hook(repo, ["migrations"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "note: 1 given file(s) outside migrations not linted: seeds/dev.sql" in proc.stdout
    assert "0 migrations checked" in proc.stdout


def test_without_args_the_usual_folder_is_used(repo: Path) -> None:
    add_migration(
        repo,
        "20240201000000",
        "idx",
        "CREATE INDEX users_email ON users (email);\n",
        "DROP INDEX users_email;\n",
    )
    git(repo, "add", "migrations/20240201000000_idx/up.sql")
    proc = run_hook(repo, [])
    assert proc.returncode == 1 and "require-concurrent-index" in proc.stdout and "draft" not in proc.stdout


def test_only_takes_one_folder_and_no_base(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from guard.cli import cli

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    result = CliRunner().invoke(cli, ["lint", "--only", str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 2 and "--only takes one migrations folder" in result.output
    result = CliRunner().invoke(cli, ["lint", "--only", str(tmp_path / "a"), "--base", "main"])
    assert result.exit_code == 2 and "--only takes one migrations folder (and no --base)" in result.output
