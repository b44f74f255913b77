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
    path_argument,
    resolve_migrations_dir,
    settings_for,
)
from guard.errors import InputError


def report_root(folder: Path) -> Path:
    """Where report paths are relative to: the git work tree holding `folder`, else the cwd."""
    from guard.gitutil import GitMissing, repo_root

    try:
        return repo_root(folder)
    except GitMissing:
        return Path.cwd()


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option(("text", "json", "github", "sarif"))
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
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Processes to lint with; 0 = one per core when the folder is large enough.",
)
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
) -> None:
    """Lint migrations for destructive, lock-heavy and irreversible changes.

    PATH is the migrations folder (default: the configured one, then migrations/,
    supabase/migrations/, prisma/migrations/, db/migrations/). Several PATHs lint
    several projects in one run, each with its own config and layout, in one report.
    Exit 0 when clean, 1 when a finding reaches the fail level, 2 on usage or input errors.
    """
    import atexit
    import gc

    from guard.lint.cache import open_cache

    # A lint allocates a few hundred thousand small objects that live until the report
    # (statements, tokens, findings) and form no cycles worth collecting early; with the
    # default threshold (700) the collector runs thousands of times over them (~8% of a run).
    # Restored once the lint is done (the command may run inside a longer-lived process).
    collector = gc.get_threshold()
    gc.set_threshold(10_000, 50, 100)
    # At exit the interpreter runs one more full collection over everything still alive (every
    # module included): 8-15 ms of a run, for nothing. Frozen objects are skipped; this runs
    # only when the process ends, so a caller that embeds the command keeps its collector.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)

    if base is not None and len(paths) > 1:
        raise InputError(
            "--base compares one migrations folder with a git ref", "pass a single PATH with --base"
        )
    results = []
    folders = []
    todo = []  # (folder, settings, cache): linted together, so folders can share the cores
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
        folder = resolve_migrations_dir(path, settings)
        folders.append(folder)
        cache = open_cache(settings, folder)
        if base is not None:
            from guard.lint.changeset import lint_change

            results.append(
                lint_change(folder, settings, base, all_migrations=all_migrations, cache=cache, jobs=jobs)
            )
        else:
            todo.append((folder, settings, cache))
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    slot = None
    if todo:
        from guard.lint import report_cache

        interactive = in_actions or (output is None and sys.stdout.isatty())
        signatures, slot = report_cache.prepare(todo, fmt, interactive=interactive)
        replayed = report_cache.load(slot) if slot is not None else None
        if replayed is not None:  # every folder unchanged since this very report was written
            gc.set_threshold(*collector)
            _write(output, replayed[0])
            sys.exit(replayed[1])
        from guard.lint.engine import lint_paths  # not needed to replay a report

        results.extend(lint_paths(todo, jobs=jobs, signatures=signatures))
    gc.set_threshold(*collector)
    from guard.lint.engine import merge_results
    from guard.report import render

    result = merge_results(results)
    folder = folders[0]
    root = report_root(folder) if in_actions or fmt in ("github", "sarif") else None
    if slot is not None:
        import io

        from guard.lint import report_cache

        text = io.StringIO()
        render(result, fmt, text, root=root)
        _write(output, text.getvalue())
        report_cache.save(slot, text.getvalue(), result.exit_code)
    elif output is not None:
        with output.open("w", encoding="utf-8") as fh:
            render(result, fmt, fh, root=root)
    else:
        render(result, fmt, sys.stdout, root=root)
    if in_actions:
        from guard.report.github import publish_to_actions

        publish_to_actions(
            result,
            fmt=fmt,
            report_on_stdout=output is None,
            summary_file=os.environ.get("GITHUB_STEP_SUMMARY"),
            stdout=sys.stdout,
            stderr=sys.stderr,
            root=root,
        )
    sys.exit(result.exit_code)


def _write(output: Path | None, text: str) -> None:
    """The report to `--output` or stdout, in one write."""
    if output is not None:
        with output.open("w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


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
    click.echo(f"config file: {settings.config_path or '(none found)'}")
    for key, value, source in items:
        click.echo(f"{key} = {_jsonable(value)!r}  ({source})")


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
