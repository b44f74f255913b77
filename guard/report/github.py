"""GitHub Actions output: workflow-command annotations and a Markdown job summary.

Annotations look like `::error file=db/1_a/up.sql,line=3,endLine=5,title=...::message`.
The runner unescapes `%25`, `%0D`, `%0A` in the message, and additionally `%3A`
and `%2C` in property values, so those characters are escaped exactly that way;
without it a `:` or `,` in a path or a newline in a message truncates or breaks
the annotation. No column is ever given: the runner rejects a column on a span
of several lines, and findings point at statements, not characters.

`render` (`--format github`) prints the annotations only; the CLI also calls
`write_annotations` and `append_summary` when it runs under GitHub Actions.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING

from guard.model import Finding, Severity
from guard.textsafe import safe_block, safe_line

if TYPE_CHECKING:
    from guard.lint.engine import LintResult

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
_ICON = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.INFO: "🔵"}
#: Rows in the summary table. GitHub shows only the first 10 error and 10 warning
#: annotations of a step on the run page; the summary is where the rest are listed.
MAX_SUMMARY_ROWS = 200


def escape_data(text: str) -> str:
    """Escape a workflow command's message (the part after `::`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property value (`file=`, `title=`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _shown(text: str) -> str:
    """Text from files or SQL as an annotation shows it: each line safe (no ANSI escape, no control
    character: see guard.textsafe), line breaks kept (the runner turns `%0A` back into them)."""
    return "\n".join(safe_block(text))


def repo_path(file: str, root: Path | None) -> str:
    """`file` (relative to the cwd) as a path relative to `root`, with forward slashes."""
    if root is None:
        return Path(file).as_posix()
    return _relative(os.getcwd(), file, root)


# Resolving a path stats each of its components: once per finding, that was most of a SARIF or
# GitLab report of a large repository (16,000 resolves for 4,000 findings on the shared corpus).
# Keyed on the working directory too, since `file` is relative to it.
@functools.lru_cache(maxsize=16384)
def _relative(cwd: str, file: str, root: Path) -> str:
    try:
        rel = os.path.relpath(_resolved(cwd, file), _resolved(cwd, str(root)))
    except ValueError:  # another drive on Windows
        return Path(file).as_posix()
    return Path(rel).as_posix()


@functools.lru_cache(maxsize=1024)
def _resolved(cwd: str, path: str) -> Path:
    return Path(cwd, path).resolve()


def annotation(finding: Finding, root: Path | None = None) -> str:
    """One `::error ...::message` line for a finding; every field shown safe (`safe_line` leaves an
    ordinary path as it is, so GitHub still links the file)."""
    props = [f"file={escape_property(safe_line(repo_path(finding.file, root)))}"]
    if finding.line >= 1:
        props.append(f"line={finding.line}")
        end = finding.end_line if finding.end_line is not None else finding.line
        if end > finding.line:
            props.append(f"endLine={end}")
    props.append(f"title={escape_property(safe_line(f'migration-guard {finding.rule}'))}")
    message = finding.message + (f"\nfix: {finding.fix}" if finding.fix else "")
    return f"::{_COMMAND[finding.severity]} {','.join(props)}::{escape_data(_shown(message))}"


def write_annotations(result: LintResult, stream: IO[str], root: Path | None = None) -> None:
    """Every finding as an annotation line, and each notice as a `::notice::` line."""
    for notice in result.notices:
        stream.write(f"::notice title=migration-guard::{escape_data(_shown(notice))}\n")
    for f in sorted(result.findings, key=lambda f: (f.file, f.line, f.rule)):
        stream.write(annotation(f, root) + "\n")
    stream.flush()


def render(result: LintResult, stream: IO[str], root: Path | None = None, **_: object) -> None:
    """`--format github`: annotations only, one per line."""
    write_annotations(result, stream, root)


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    flat = safe_line(" ".join(text.split()))
    return flat.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in `text`, so the text cannot close it."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def summary_markdown(
    result: LintResult, root: Path | None = None, heading: str = "migration-guard", counts: str | None = None
) -> str:
    """The job summary: verdict, counts (`counts` replaces the lint counts: `verify` has its
    own), notices and a table of findings."""
    s = result.summary()
    verdict = "❌ failed" if result.exit_code else "✅ passed"
    lines = [
        f"## {heading}: {verdict}",
        "",
        _cell(counts)
        if counts is not None
        else f"{s['migrations']} migrations · {s['errors']} errors · {s['warnings']} warnings · "
        f"{s['infos']} infos · fail level: {s['fail_on']}",
        "",
    ]
    lines += [f"> {_cell(n)}" for n in result.notices]
    if result.notices:
        lines.append("")
    findings = sorted(result.findings, key=lambda f: (-f.severity, f.file, f.line, f.rule))
    if findings:
        lines += ["| | rule | where | message |", "| --- | --- | --- | --- |"]
        for f in findings[:MAX_SUMMARY_ROWS]:
            where = f"{repo_path(f.file, root)}:{f.line}"
            first = f.message.splitlines()[0] if f.message else ""
            lines.append(f"| {_ICON[f.severity]} | `{f.rule}` | `{_cell(where)}` | {_cell(first)} |")
        if len(findings) > MAX_SUMMARY_ROWS:
            lines.append(f"\n… and {len(findings) - MAX_SUMMARY_ROWS} more (see the step log).")
        details = [f for f in findings[:MAX_SUMMARY_ROWS] if "\n" in f.message or f.fix]
        if details:
            lines += ["", "<details><summary>Details and fixes</summary>", ""]
            for f in details:
                body = f.message + (f"\nfix: {f.fix}" if f.fix else "")
                fence = _fence(body)
                lines += [f"**`{f.rule}`** `{_cell(repo_path(f.file, root))}:{f.line}`", ""]
                lines += [fence + "text", "\n".join(safe_block(body)), fence, ""]
            lines += ["</details>"]
    else:
        lines.append("No findings.")
    return "\n".join(lines) + "\n"


def append_summary(result: LintResult, path: Path, root: Path | None = None, **words: str) -> None:
    """Append the Markdown summary to `$GITHUB_STEP_SUMMARY` (the file the runner renders);
    `words` (heading, counts) go to `summary_markdown`."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(summary_markdown(result, root, **words))


def publish_to_actions(
    result: LintResult,
    *,
    fmt: str,
    report_on_stdout: bool,
    summary_file: str | None,
    stdout: IO[str],
    stderr: IO[str],
    root: Path | None = None,
    **words: str,
) -> None:
    """What `lint` (and `verify`) adds under GitHub Actions, whatever `--format` is.

    Annotations go to stdout, except when stdout already carries a JSON or SARIF
    report (the runner reads workflow commands on stderr too, and a machine-readable
    report must stay parseable); `--format github` on stdout has printed them already.
    The Markdown summary is appended to `summary_file` ($GITHUB_STEP_SUMMARY) when set.
    """
    if not (fmt == "github" and report_on_stdout):
        machine = report_on_stdout and fmt in ("json", "sarif")
        write_annotations(result, stderr if machine else stdout, root)
    if summary_file:
        append_summary(result, Path(summary_file), root, **words)
