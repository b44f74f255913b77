"""Rendering of `verify` results: the JSON document and the text report."""

from __future__ import annotations

import json
from typing import IO, TYPE_CHECKING, Any

from guard.errors import ConfigError
from guard.textsafe import safe_block, safe_line

if TYPE_CHECKING:
    from pathlib import Path

    from guard.lint.engine import LintResult
    from guard.model import Finding
    from guard.verify_result import Outcome, VerifyResult


def as_document(result: VerifyResult, elapsed: float) -> dict[str, Any]:
    """The JSON output of `verify`."""
    from guard import __version__

    return {
        "schema_version": 1,
        "tool": {"name": "migration-guard", "version": __version__, "command": "verify"},
        "server": result.server,
        "migrations": [
            {"id": o.id, "status": o.status, "seconds": round(o.seconds, 4)} for o in result.outcomes
        ],
        "findings": [f.as_dict() for f in result.findings],
        "notices": list(result.notices),
        "summary": result.summary(),
        "timings": {**result.timings.as_dict(), "total": round(elapsed, 3)},
    }


_LABELS = {"ok": "ok", "failed": "FAILED", "applied": "applied", "not-reached": "skipped"}


def header_line(server: str) -> str:
    """The first line of the text report: where verification runs."""
    return f"verify on {safe_line(server)}\n"


def outcome_lines(outcome: Outcome, findings: list[Finding]) -> str:
    """One migration's line (status, id, seconds it took) and its problems and fixes under it."""
    took = "" if outcome.status == "not-reached" else f"  {outcome.seconds:.2f}s"
    # Ids, paths and messages quote files and SQL: one escaped line each (see guard.textsafe).
    lines = [f"  {_LABELS[outcome.status]:8} {safe_line(outcome.id)}{took}\n"]
    for f in findings:
        lines.append(f"      {safe_line(f.file)}:{f.line}  {safe_line(f.rule)}  {safe_line(f.message)}\n")
        if f.fix:
            fix = safe_block(f.fix.rstrip("\n"))
            lines.append(f"          fix: {fix[0]}\n" + "".join(f"               {x}\n" for x in fix[1:]))
    return "".join(lines)


def render_text(result: VerifyResult, stream: IO[str], elapsed: float, *, streamed: bool = False) -> None:
    """One line per migration, its problems and fixes under it, then the summary and timings.

    `streamed`: the header and the migration lines were already written as verification went
    (see `verify --format text`), so only what follows them is written.
    """
    by_migration: dict[str | None, list[Any]] = {}
    for f in result.findings:
        by_migration.setdefault(f.migration, []).append(f)
    if not streamed:
        stream.write(header_line(result.server))
        for o in result.outcomes:
            stream.write(outcome_lines(o, by_migration.get(o.id, [])))
    drift = by_migration.get(None, [])
    if result.schema_checked:
        stream.write(f"schema file: {'matches' if not drift else f'{len(drift)} difference(s)'}\n")
        for f in drift:
            stream.write(f"      {safe_line(f.file)}  {safe_line(f.rule)}  {safe_line(f.message)}\n")
    for notice in result.notices:
        stream.write(f"note: {safe_line(notice)}\n")
    s, t = result.summary(), result.timings
    verdict = "failed" if result.exit_code else "passed"
    stream.write(
        f"{s['verified']} verified: {s['ok']} round-trip, {s['failed']} failed"
        + (f", {s['applied_only']} applied first" if s["applied_only"] else "")
        + (f", {s['not_reached']} not reached" if s["not_reached"] else "")
        + f" ({verdict}) in {elapsed:.1f}s"
        + f" [server start {t.server_start:.1f}s, migrations {t.migrations:.1f}s,"
        + f" snapshots {t.snapshots:.1f}s"
        + (f", data {t.data:.1f}s" if t.data else "")
        + "]\n"
    )


def render_verify(
    result: VerifyResult,
    fmt: str,
    stream: IO[str],
    elapsed: float,
    layout: str,
    *,
    streamed: bool = False,
    root: Path | None = None,
) -> None:
    """Write `result` in `fmt`: json, text (`streamed`: its migration lines are out already),
    or a CI format through the linter's renderers (paths relative to `root` when given)."""
    if fmt == "json":
        json.dump(as_document(result, elapsed), stream, indent=2)
        stream.write("\n")
    elif fmt == "text":
        render_text(result, stream, elapsed, streamed=streamed)
    else:
        from guard.report import render

        try:
            render(as_lint_result(result, layout), fmt, stream, root=root)
        except ImportError:
            raise ConfigError(f"--format {fmt} is not available in this build", "use text or json") from None


def as_lint_result(result: VerifyResult, layout: str) -> LintResult:
    """The verify result in the shape the linter's CI renderers (github, sarif) take."""
    from guard.lint.engine import LintResult

    return LintResult(
        findings=list(result.findings),
        migrations=len(result.outcomes),
        layout=layout,
        notices=list(result.notices),
    )


def publish_to_actions(
    result: VerifyResult,
    *,
    fmt: str,
    layout: str,
    summary_file: str | None,
    stdout: IO[str],
    stderr: IO[str],
    root: Path | None,
) -> None:
    """What `verify` adds under GitHub Actions, like `lint`: an annotation per problem (see
    `guard.report.github.publish_to_actions` for which stream) and a job summary with the verdict."""
    from guard.report import github

    s = result.summary()
    counts = (
        f"{s['verified']} verified · {s['ok']} round-trip · {s['failed']} failed"
        + (f" · {s['applied_only']} applied first" if s["applied_only"] else "")
        + (f" · {s['not_reached']} not reached" if s["not_reached"] else "")
        + f" · on {result.server}"
    )
    github.publish_to_actions(
        as_lint_result(result, layout),
        fmt=fmt,
        report_on_stdout=True,
        summary_file=summary_file,
        stdout=stdout,
        stderr=stderr,
        root=root,
        heading="migration-guard verify",
        counts=counts,
    )
