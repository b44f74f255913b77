"""Commands of the static linter: lint, rules, explain, config."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from guard.cli.common import (
    config_options,
    format_option,
    jobs_option,
    path_argument,
    resolve_migrations_dir,
    settings_for,
)
from guard.errors import InputError
from guard.textsafe import safe_line


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option(("text", "json", "github", "sarif", "gitlab"))
@config_options
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info"]),
    default=None,
    help="Lowest severity that makes the exit code 1.",
)
@click.option("--pg-version", type=int, default=None, help="Target Postgres major version (default 15).")
@click.option(
    "--base",
    metavar="REF",
    default=None,
    help="CI gate: compare with the merge base of REF (e.g. origin/main); merged migrations must not "
    "change, new ones must be later, and only new ones are linted.",
)
@click.option(
    "--all",
    "all_migrations",
    is_flag=True,
    default=False,
    help="With --base, lint every migration for statement rules, not only the new ones.",
)
@click.option(
    "--schema-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="With --base, the committed schema file that must change together with new migrations.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the report to this file instead of stdout.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    default=False,
    help="Lint every migration again instead of reusing findings of unchanged ones.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to keep the findings cache (default: .migration-guard-cache at the project root).",
)
@click.option(
    "--statistics",
    is_flag=True,
    default=False,
    help="Print only how many findings each rule has (text format), not the findings.",
)
@click.option(
    "--only",
    "only_files",
    is_flag=True,
    default=False,
    help="PATHS after the folder are files: report only the migrations owning them (a down file "
    "selects its migration), with the rest of the folder as context. For pre-commit's staged files.",
)
@jobs_option
def lint(
    paths: tuple[Path, ...],
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    fail_on: str | None,
    pg_version: int | None,
    output: Path | None,
    base: str | None,
    all_migrations: bool,
    schema_file: str | None,
    no_cache: bool,
    cache_dir: str | None,
    jobs: int,
    statistics: bool,
    only_files: bool,
) -> None:
    """Lint migrations for destructive, lock-heavy and irreversible changes.

    PATH is the migrations folder (default: the configured one, then migrations/,
    supabase/migrations/, prisma/migrations/, drizzle/, db/migrations/). Several PATHs lint
    several projects in one run, each with its own config and layout, in one report.
    With --only, `lint [FOLDER] --only FILE...` reports only the migrations those files belong to.
    Exit 0 when clean, 1 when a finding reaches the fail level, 2 on usage or input errors.
    """
    from guard.lint.run import run_lint

    given = paths
    if only_files:
        folders = [p for p in paths if p.is_dir()]
        if len(folders) > 1 or base is not None:
            raise click.UsageError("--only takes one migrations folder (and no --base), then the files")
        paths = tuple(folders)
    targets = []
    for path in paths or (None,):
        settings = settings_for(
            path,
            config_file,
            layout=(layout, "--layout"),
            fail_on=(fail_on, "--fail-on"),
            pg_version=(pg_version, "--pg-version"),
            schema_file=(schema_file, "--schema-file"),
            cache=(False if no_cache else None, "--no-cache"),
            cache_dir=(cache_dir, "--cache-dir"),
        )
        targets.append((resolve_migrations_dir(path, settings), settings))
    if statistics:
        if fmt != "text":
            raise click.UsageError("--statistics goes with the text format")
        fmt = "statistics"
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    if only_files:
        from guard.lint.run import run_lint_selected

        files = [p for p in given if not p.is_dir()]
        report = run_lint_selected(*targets[0], files, fmt=fmt, rooted=in_actions)
    else:
        report = run_lint(
            targets,
            fmt=fmt,
            jobs=jobs,
            base=base,
            all_migrations=all_migrations,
            interactive=in_actions or (output is None and sys.stdout.isatty()),
            rooted=in_actions,
        )
    if output is not None:
        with output.open("w", encoding="utf-8") as fh:
            report.write(fh)
    else:
        report.write(sys.stdout)
    if in_actions and report.result is not None:
        from guard.report.github import publish_to_actions

        publish_to_actions(
            report.result,
            fmt=fmt,
            report_on_stdout=output is None,
            summary_file=os.environ.get("GITHUB_STEP_SUMMARY"),
            stdout=sys.stdout,
            stderr=sys.stderr,
            root=report.root,
        )
    sys.exit(report.exit_code)


@click.command()
@format_option()
def rules(fmt: str) -> None:
    """List every rule with its id, severity, family and summary."""
    from guard.lint.registry import all_rules

    records = list(all_rules().values())
    if fmt == "json":
        doc = [
            {
                "id": r.id,
                "severity": str(r.severity),
                "family": r.family,
                "summary": r.summary,
                "lock": r.lock,
            }
            for r in records
        ]
        click.echo(json.dumps(doc, indent=2))
        return
    width = max(len(r.id) for r in records)
    for r in records:
        click.echo(f"{r.id:{width}}  {r.severity!s:7}  {r.family:13}  {r.summary}")


@click.command()
@click.argument("rule_id")
@format_option()
def explain(rule_id: str, fmt: str) -> None:
    """Explain RULE_ID: what it catches, why it is dangerous, and the safe alternative."""
    import difflib

    from guard.lint.registry import all_rules
    from guard.report.ruledoc import rule_text

    known = all_rules()
    rule = known.get(rule_id)
    if rule is None:
        close = difflib.get_close_matches(rule_id, list(known), n=1)
        raise InputError(
            f"unknown rule {rule_id!r}",
            f"did you mean {close[0]!r}?" if close else "run `migration-guard rules` to list rule ids",
        )
    if fmt == "json":
        doc = {k: getattr(rule, k) for k in ("id", "summary", "why", "fix", "bad", "good", "family", "lock")}
        doc["severity"] = str(rule.severity)
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(rule_text(rule), nl=False)


@click.command("config")
@path_argument
@format_option()
@config_options
def config_cmd(path: Path | None, fmt: str, config_file: Path | None, layout: str | None) -> None:
    """Print the effective settings and where each value came from."""
    from guard.config import check_rule_names
    from guard.lint.registry import all_rules

    settings = settings_for(path, config_file, layout=(layout, "--layout"))
    check_rule_names(settings, all_rules().keys())
    items = settings.public_items()
    if fmt == "json":
        doc = {
            "config_file": str(settings.config_path) if settings.config_path else None,
            "settings": {k: {"value": _jsonable(v), "source": s} for k, v, s in items},
        }
        click.echo(json.dumps(doc, indent=2))
        return
    from guard.config_toml import render_settings

    # Paths and sources quote the file system: each line printed safe (guard.textsafe).
    text = render_settings(items, settings.config_path)
    click.echo("".join(f"{safe_line(line)}\n" for line in text.splitlines()), nl=False)


def _jsonable(value: object) -> object:
    from collections.abc import Mapping
    from enum import Enum

    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(str(v) for v in value)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value
