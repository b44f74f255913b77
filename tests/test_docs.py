"""The README and docs show only commands and flags that exist, and every command has help.

Every `migration-guard ...` command line in a code block or inline code span of README.md
and docs/*.md is resolved against the real click commands: the subcommand must exist and
each `--flag` it shows must be one of that command's options.
"""

from __future__ import annotations

import re

import click
import pytest
from conftest import REPO

from guard.cli import COMMANDS, cli

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
_INLINE = re.compile(r"`([^`\n]+)`")
#: Where a shell command line ends: a comment, a pipe, a sequence, a quote or a closing bracket.
_END = re.compile(r"\s#|\||&&|;|\)|\"|'|`|$")


def _code(text: str) -> list[str]:
    blocks = _FENCE.findall(text)
    rest = _FENCE.sub("", text)
    return [line for block in blocks for line in block.splitlines()] + _INLINE.findall(rest)


def command_lines() -> list[tuple[str, str]]:
    """(document, command line after `migration-guard`) for every command shown."""
    found = []
    for doc in DOCS:
        for snippet in _code(doc.read_text()):
            snippet = re.split(r"\s#\s", snippet, maxsplit=1)[0]  # a shell comment is prose
            for match in re.finditer(r"(?<![\w/-])migration-guard\s+(.*)", snippet):
                line = match.group(1)
                line = line[: _END.search(line).start()]  # type: ignore[union-attr]
                if line.strip():
                    found.append((doc.name, line.strip()))
    return found


def _resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = cli
    path = []
    ctx = click.Context(cli)
    for word in words:
        if isinstance(command, click.Group) and not word.startswith("-"):
            sub = command.get_command(ctx, word)
            if sub is None:
                raise AssertionError(f"no command `{' '.join([*path, word])}`")
            command, path = sub, [*path, word]
            continue
        break
    return command, path


def _flags(command: click.Command) -> set[str]:
    names = {"--help", "-h"}
    for param in command.params:
        names.update(getattr(param, "opts", []))
        names.update(getattr(param, "secondary_opts", []))
    return names


def test_docs_show_commands() -> None:
    lines = command_lines()
    assert len(lines) > 40  # the parser finds the docs' commands; an empty scan proves nothing
    assert {line.split()[0] for _, line in lines} >= {"lint", "migrate", "verify", "baseline", "adopt"}


def problem(line: str) -> str | None:
    """What is wrong with `migration-guard LINE` as documentation, or None."""
    words = line.split()
    if words[0].isupper():
        return None  # a placeholder (`migration-guard COMMAND --help`)
    if words[0] in ("-V", "--version", "--help", "-h"):
        return None
    try:
        command, path = _resolve(words)
    except AssertionError as exc:
        return str(exc)
    if command is cli:
        return f"{words[0]!r} is not a command"
    known = _flags(command)
    for word in words[len(path) :]:
        if word == "--":
            break  # exec: the rest is the wrapped tool's command line
        if word.startswith("-") and word != "-" and word.split("=", 1)[0] not in known:
            return f"`{' '.join(path)}` has no option {word.split('=', 1)[0]}"
    return None


@pytest.mark.parametrize(("doc", "line"), command_lines())
def test_every_command_and_flag_shown_exists(doc: str, line: str) -> None:
    assert problem(line) is None, f"{doc}: `migration-guard {line}`: {problem(line)}"


def test_the_check_catches_what_does_not_exist() -> None:
    assert problem("lint db --no-such-flag") == "`lint` has no option --no-such-flag"
    assert problem("lnt db") == "no command `lnt`"
    assert problem("marker nope") == "no command `marker nope`"
    assert problem("marker init --env dev --allow-prod") is None
    assert problem("exec --env prod -- dbmate --url x up") is None


def test_every_command_and_option_has_help() -> None:
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and (command.help or "").strip(), f"{name} has no help"
        commands = [command]
        if isinstance(command, click.Group):
            commands += [command.get_command(ctx, sub) for sub in command.list_commands(ctx)]  # type: ignore[misc]
        for cmd in commands:
            assert cmd is not None and (cmd.help or cmd.short_help or "").strip(), (
                f"{name}: a subcommand has no help"
            )
            for param in cmd.params:
                if isinstance(param, click.Option) and not param.hidden:
                    assert (param.help or "").strip(), f"{name} {cmd.name}: option {param.opts} has no help"


def test_readme_is_a_short_users_document() -> None:
    assert len((REPO / "README.md").read_bytes()) < 12 * 1024
    text = (REPO / "README.md").read_text()
    assert "wave" not in text.lower() and "issue " not in text.lower()  # history lives in CHANGELOG/docs


def test_relative_links_point_at_files_that_exist() -> None:
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (doc.parent / target.split("#", 1)[0]).resolve()
            if not path.exists():
                broken.append(f"{doc.name}: {target}")
    assert not broken, broken


def test_the_readme_package_json_recipe_is_the_examples_one() -> None:
    import json

    readme = (REPO / "README.md").read_text()
    block = json.loads(re.search(r"```json\n(.*?)```", readme, re.S).group(1))  # type: ignore[union-attr]
    example = json.loads((REPO / "docs" / "examples" / "package.json").read_text())
    assert block["scripts"].items() <= example["scripts"].items()
