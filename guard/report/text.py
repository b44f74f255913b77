"""Human output: findings grouped by file, `path:line  severity  rule  message`, then the fix.

Colours when the stream is a terminal or `FORCE_COLOR` is set, never when `NO_COLOR` is set.
"""

from __future__ import annotations

import os
from collections import Counter
from itertools import groupby
from typing import IO, TYPE_CHECKING

from guard.lint.locks import with_effect
from guard.model import Severity
from guard.textsafe import safe_block, safe_line

if TYPE_CHECKING:
    from guard.lint.engine import LintResult

_COLOURS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


def use_colour(stream: IO[str]) -> bool:
    """Colour on a terminal or when FORCE_COLOR is set (https://force-color.org, e.g. a CI log that
    renders colours), and never when NO_COLOR is set (https://no-color.org): NO_COLOR wins."""
    if os.environ.get("NO_COLOR", "") != "":
        return False
    if os.environ.get("FORCE_COLOR", "") != "":
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def render(result: LintResult, stream: IO[str], checked: str = "migrations", **_: object) -> None:
    """Write findings grouped by file and a summary line (in one write: a report can be long).

    `checked` names what was linted in the summary line (the runner's gate: "pending migrations").
    """
    colour = use_colour(stream)

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    out: list[str] = [f"note: {safe_line(notice)}\n" for notice in result.notices]
    write = out.append
    findings = sorted(result.findings, key=lambda f: (f.file, f.line, f.rule))
    for raw_file, group in groupby(findings, key=lambda f: f.file):
        # Paths, names and messages quote files and SQL: one escaped line each (see guard.textsafe).
        file = safe_line(raw_file)
        write(paint(file, _BOLD) + "\n")
        for f in group:
            sev = paint(f"{f.severity!s:7}", _COLOURS[f.severity])
            write(f"  {file}:{f.line}  {sev} {safe_line(f.rule)}  {safe_line(f.message)}\n")
            if f.lock:
                write(paint(f"      lock: {safe_line(with_effect(f.lock))}", _DIM) + "\n")
            if f.fix:
                for i, line in enumerate(safe_block(f.fix.rstrip("\n"))):
                    prefix = "      fix: " if i == 0 else "           "
                    write(paint(prefix + line, _DIM) + "\n")
        write("\n")
    out += statistics_lines(result)
    out.append(summary_line(result, checked))
    stream.write("".join(out))


def statistics_lines(result: LintResult) -> list[str]:
    """Findings counted per rule, most frequent first (a long report's table of contents)."""
    if not result.findings:
        return []
    counts = Counter((f.rule, f.severity) for f in result.findings)
    width = len(str(max(counts.values())))
    ordered = sorted(counts.items(), key=lambda item: (-item[1], -item[0][1], item[0][0]))
    return ["by rule:\n"] + [f"  {n:>{width}}  {sev!s:7}  {rule}\n" for (rule, sev), n in ordered] + ["\n"]


def summary_line(result: LintResult, checked: str = "migrations") -> str:
    """The closing line: how many migrations, errors and warnings, and the verdict."""
    s = result.summary()
    verdict = "failed" if result.exit_code else "passed"
    accepted = f", {s['baselined']} baselined" if s["baselined"] else ""
    return (
        f"{s['migrations']} {checked} checked: {s['errors']} errors, {s['warnings']} warnings{accepted}"
        f" ({verdict}; fail level: {s['fail_on']})\n"
    )
