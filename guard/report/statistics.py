"""`lint --statistics`: only the count of findings per rule and the closing line (as ruff's flag).

For a first look at a project with years of history, where the full report runs to
thousands of lines.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from guard.report.text import statistics_lines, summary_line

if TYPE_CHECKING:
    from guard.lint.engine import LintResult


def render(result: LintResult, stream: IO[str], **_: object) -> None:
    """Write the per-rule counts and the summary line."""
    stream.write(
        "".join(
            [f"note: {notice}\n" for notice in result.notices]
            + statistics_lines(result)
            + [summary_line(result)]
        )
    )
