"""Renderers for lint results: one module per format, all fed the same `LintResult`."""

from __future__ import annotations

import importlib
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from guard.lint.engine import LintResult

#: format name -> module with `render(result, stream, **options)`.
FORMATS = {
    "text": "guard.report.text",
    "json": "guard.report.json",
    "github": "guard.report.github",
    "sarif": "guard.report.sarif",
    "gitlab": "guard.report.gitlab",
    "statistics": "guard.report.statistics",
}


def render(result: LintResult, fmt: str, stream: IO[str], **options: object) -> None:
    """Write `result` to `stream` in format `fmt`."""
    module = importlib.import_module(FORMATS[fmt])
    module.render(result, stream, **options)
