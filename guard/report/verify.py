"""Rendering of `verify` results: the JSON document and the text report."""

from __future__ import annotations

import json
from typing import IO, TYPE_CHECKING, Any

from guard.errors import ConfigError
from guard.textsafe import safe_block, safe_line

if TYPE_CHECKING:
    from guard.verify import VerifyResult


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


def render_text(result: VerifyResult, stream: IO[str], elapsed: float) -> None:
    """One line per migration, its problems and fixes under it, then the summary and timings."""
    by_migration: dict[str | None, list[Any]] = {}
    for f in result.findings:
        by_migration.setdefault(f.migration, []).append(f)
    stream.write(f"verify on {safe_line(result.server)}\n")
    for o in result.outcomes:
        label = {"ok": "ok", "failed": "FAILED", "applied": "applied", "not-reached": "skipped"}[o.status]
        stream.write(f"  {label:8} {safe_line(o.id)}\n")
        for f in by_migration.get(o.id, []):
            stream.write(f"      {safe_line(f.file)}:{f.line}  {safe_line(f.rule)}  {safe_line(f.message)}\n")
            if f.fix:
                fix = safe_block(f.fix.rstrip("\n"))
                stream.write(f"          fix: {fix[0]}\n" + "".join(f"               {x}\n" for x in fix[1:]))
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


def render_verify(result: VerifyResult, fmt: str, stream: IO[str], elapsed: float, layout: str) -> None:
    """Write `result` in `fmt`: json, text, or a CI format through the linter's renderers."""
    if fmt == "json":
        json.dump(as_document(result, elapsed), stream, indent=2)
        stream.write("\n")
    elif fmt == "text":
        render_text(result, stream, elapsed)
    else:
        from guard.lint.engine import LintResult
        from guard.report import render

        lint_result = LintResult(
            findings=list(result.findings),
            migrations=len(result.outcomes),
            layout=layout,
            notices=list(result.notices),
        )
        try:
            render(lint_result, fmt, stream)
        except ImportError:
            raise ConfigError(f"--format {fmt} is not available in this build", "use text or json") from None
