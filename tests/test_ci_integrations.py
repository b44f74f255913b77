"""The shipped integrations call real commands with options those commands accept:
docs/examples/package.json, docs/examples/github-actions.yml and .pre-commit-hooks.yaml."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import pytest

from guard.cli import COMMANDS, cli

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "docs" / "examples"


def parses(command_line: str) -> None:
    """Fail unless `migration-guard <command> <args>` parses (unknown options are usage errors)."""
    words = shlex.split(command_line)
    assert words[0] == "migration-guard", command_line
    name, args = words[1], words[2:]
    assert name in COMMANDS, f"unknown command in {command_line!r}"
    group_ctx = click.Context(cli)
    command = cli.get_command(group_ctx, name)
    assert command is not None
    with command.make_context(name, list(args), parent=group_ctx) as ctx:
        assert ctx.command is command


def test_package_json_has_the_three_scripts_and_they_parse() -> None:
    scripts = json.loads((EXAMPLES / "package.json").read_text())["scripts"]
    assert {"db:safety:dev", "db:safety:prod", "db:migrate:prod"} <= scripts.keys()
    assert "--env dev" in scripts["db:safety:dev"]
    assert "--env prod" in scripts["db:safety:prod"] and "--env prod" in scripts["db:migrate:prod"]
    for line in scripts.values():
        parses(line)


def _workflow_commands(text: str) -> list[str]:
    """The `migration-guard ...` commands of the workflow's `run: >-` blocks, unfolded."""
    commands = []
    for block in re.findall(r"run: >-\n((?:\s{10,}\S.*\n)+)", text):
        line = " ".join(part.strip() for part in block.splitlines())
        if line.startswith("migration-guard"):
            commands.append(re.sub(r"\$\{\{ github\.base_ref \}\}", "main", line))
    return commands


def test_the_workflow_lints_the_change_set_verifies_and_uploads_sarif() -> None:
    text = (EXAMPLES / "github-actions.yml").read_text()
    commands = _workflow_commands(text)
    assert [c.split()[1] for c in commands] == ["lint", "verify"]
    lint = commands[0]
    assert "--base" in lint and "--format sarif" in lint and "--output migration-guard.sarif" in lint
    assert "--shadow embedded" in commands[1]
    assert "github/codeql-action/upload-sarif" in text and "sarif_file: migration-guard.sarif" in text
    for command in commands:
        parses(command)


@pytest.mark.parametrize("hook", ["migration-guard", "migration-guard-changes"])
def test_pre_commit_hooks_run_the_linter(hook: str) -> None:
    text = (REPO / ".pre-commit-hooks.yaml").read_text()
    block = text.split(f"- id: {hook}\n", 1)[1].split("\n- id:", 1)[0]
    assert "entry: migration-guard lint" in block
    assert "language: python" in block
    if hook == "migration-guard":  # the staged files (see tests/test_precommit.py)
        assert "pass_filenames: true" in block and "entry: migration-guard lint --only\n" in block
        parses("migration-guard lint --only db/migrations db/migrations/1/up.sql")
    else:  # the change-set gate reads the folder and git, never file names
        assert "pass_filenames: false" in block
        parses("migration-guard lint db/migrations --base origin/main")
