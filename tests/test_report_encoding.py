"""How the machine-read reports are written: the JSON, SARIF and GitLab documents are compact for
programs (the standard library's C encoder; an indented document is encoded in pure Python, the
larger part of a SARIF report's time on a large repository) and indented for a person at a
terminal, with the same content; report paths relative to the repository follow the working
directory even though each path is resolved once."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from guard.lint.engine import LintResult
from guard.model import Finding, Severity
from guard.report import render
from guard.report.github import repo_path


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _result() -> LintResult:
    return LintResult(
        findings=[
            Finding("require-concurrent-index", Severity.ERROR, "db/1_a/up.sql", 3, "index on «users»"),
            Finding("prefer-text", Severity.WARNING, "db/2_b/up.sql", 1, "varchar"),
        ],
        migrations=2,
    )


@pytest.mark.parametrize(("fmt", "opening"), [("json", "{\n  "), ("sarif", "{\n  "), ("gitlab", "[\n  {\n")])
def test_report_is_compact_for_programs_and_indented_on_a_terminal(
    fmt: str, opening: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    piped, terminal = io.StringIO(), Terminal()
    render(_result(), fmt, piped, root=tmp_path)
    render(_result(), fmt, terminal, root=tmp_path)
    assert json.loads(piped.getvalue()) == json.loads(terminal.getvalue())
    assert piped.getvalue().count("\n") == 1 and piped.getvalue().endswith("\n")
    assert terminal.getvalue().startswith(opening)
    if fmt != "json":  # SARIF and GitLab keep non-ASCII text as it is, as they always did
        assert "«users»" in piped.getvalue()


def test_repo_path_follows_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for sub in ("a/db", "b/db"):
        (tmp_path / sub).mkdir(parents=True)
        (tmp_path / sub / "1.sql").write_text("SELECT 1;\n")
    monkeypatch.chdir(tmp_path / "a")
    assert repo_path("db/1.sql", tmp_path) == "a/db/1.sql"
    monkeypatch.chdir(tmp_path / "b")  # the same relative path now names another file
    assert repo_path("db/1.sql", tmp_path) == "b/db/1.sql"
    assert repo_path("db/1.sql", None) == "db/1.sql"


def test_repo_path_resolves_symlinks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "repo" / "db").mkdir(parents=True)
    os.symlink(tmp_path / "repo", tmp_path / "link")
    monkeypatch.chdir(tmp_path / "link")
    assert repo_path("db/1.sql", tmp_path / "repo") == "db/1.sql"
