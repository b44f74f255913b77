"""One lint run from start to report: the library call behind `migration-guard lint`.

`run_lint` takes the migrations folders (each with its own effective settings) and
does everything between the options and the output: opening each folder's findings
cache, the CI gate against a git base (`--base`), replaying the stored report of an
unchanged run, linting the folders together (so they share the cores), merging their
results and, when the run can be replayed next time, rendering and storing its report.

The command keeps only what belongs to a command line: turning options into settings,
the output stream, GitHub Actions annotations (they read the environment) and the exit
code. Like discovery, this module reads the disk (migrations, caches, the git work
tree) but never the environment.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from guard.errors import InputError

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.lint.baseline import Baseline
    from guard.lint.engine import LintResult

#: Formats whose report names files relative to the repository root (GitHub, SARIF viewers, GitLab).
ROOTED_FORMATS = ("github", "sarif", "gitlab")


@dataclass(frozen=True)
class LintReport:
    """The outcome of `run_lint`: the merged result (None when the report was replayed), the
    report text when it is already rendered, and the exit code."""

    fmt: str
    exit_code: int
    result: LintResult | None
    text: str | None = None
    root: Path | None = None

    def write(self, stream: IO[str]) -> None:
        """Write the report to `stream` (rendered for it: a terminal gets colours or indentation)."""
        if self.text is not None:
            stream.write(self.text)
            return
        assert self.result is not None
        from guard.report import render

        render(self.result, self.fmt, stream, root=self.root)


def report_root(folder: Path) -> Path:
    """Where report paths are relative to: the git work tree holding `folder`, else the cwd."""
    from guard.gitutil import GitMissing, repo_root

    try:
        return repo_root(folder)
    except GitMissing:
        return Path.cwd()


def run_lint(
    targets: Sequence[tuple[Path, Settings]],
    *,
    fmt: str = "text",
    jobs: int | None = 0,
    base: str | None = None,
    all_migrations: bool = False,
    interactive: bool = False,
    rooted: bool = False,
) -> LintReport:
    """Lint each (migrations folder, settings) and return one report for all of them.

    `base` runs the CI gate (see `guard.lint.changeset.lint_change`) on a single folder.
    `interactive` (a terminal or GitHub Actions) turns off report replay: the report is
    rendered for its stream. `rooted` makes report paths relative to the git work tree of
    the first folder (always so for the `github` and `sarif` formats). The exit code is
    the highest of the folders', each judged by its own `fail_on`.
    """
    from guard.lint.cache import open_cache

    if not targets:
        raise InputError("no migrations folder to lint", "pass a PATH")
    if base is not None and len(targets) > 1:
        raise InputError(
            "--base compares one migrations folder with a git ref", "pass a single PATH with --base"
        )
    # A lint allocates a few hundred thousand small objects that live until the report
    # (statements, tokens, facts, findings) and leaves almost no cyclic garbage (a few MB on the
    # shared corpus): the cyclic collector would only walk the live ones again and again, which
    # cost 8 % of a cold corpus lint even with raised thresholds. Forked workers inherit this.
    collecting = gc.isenabled()
    gc.disable()
    try:
        from guard.lint.baseline import load_for

        folders = [(folder, settings, open_cache(settings, folder)) for folder, settings in targets]
        # Findings are cached raw; each run applies the baseline as the file says now.
        baselines = [load_for(settings, folder) for folder, settings in targets]
        if base is not None:
            from guard.lint.changeset import lint_change

            folder, settings, cache = folders[0]
            result = lint_change(
                folder,
                settings,
                base,
                all_migrations=all_migrations,
                cache=cache,
                jobs=jobs,
                baseline=baselines[0],
            )
            return _report(result, fmt, folders[0][0], rooted)
        from guard.lint import report_cache

        root = _root(fmt, folders[0][0], rooted)
        signatures, slot = report_cache.prepare(
            folders,
            fmt,
            interactive=interactive,
            baselines=[b.digest if b else "" for b in baselines],
            root=root,
        )
        replayed = report_cache.load(slot) if slot is not None else None
        if replayed is not None:  # every folder unchanged since this very report was written
            return LintReport(fmt, replayed[1], None, text=replayed[0])
        from guard.lint.baseline import apply as apply_baseline
        from guard.lint.engine import lint_paths, merge_results  # not needed to replay a report

        results = lint_paths(folders, jobs=jobs, signatures=signatures)
        result = merge_results(
            [
                apply_baseline(r, b, settings, linted=_whole_folder(b, folder))
                for r, b, (folder, settings, _) in zip(results, baselines, folders, strict=True)
            ]
        )
        report = LintReport(fmt, result.exit_code, result, root=root)
        if slot is None:
            return report
        text = io.StringIO()  # replayable: not for a terminal, so rendered the same for any stream
        report.write(text)
        report_cache.save(slot, text.getvalue(), report.exit_code)
        return LintReport(fmt, report.exit_code, result, text=text.getvalue(), root=report.root)
    finally:
        if collecting:
            # Straight to the oldest generation: re-enabled as they are, the objects of the run
            # would all be walked by the very next (youngest-generation) collection, 40 ms on the
            # corpus, usually just before the process exits; the oldest one is walked only once
            # it has grown by a quarter, and still frees the run's cyclic garbage then.
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _whole_folder(baseline: Baseline | None, target: Path) -> Callable[[str], bool] | None:
    """Every entry can be judged stale when the run linted the baseline's whole folder (not one file)."""
    if baseline is None or target.resolve() != baseline.folder:
        return None
    return lambda _owner: True


def run_lint_selected(
    folder: Path, settings: Settings, files: Sequence[Path], *, fmt: str = "text", rooted: bool = False
) -> LintReport:
    """`lint --only`: the migrations of `folder` owning one of `files` (see `guard.lint.selected`)."""
    from guard.lint.baseline import apply, load_for
    from guard.lint.cache import open_cache
    from guard.lint.selected import lint_selected

    result = lint_selected(folder, settings, files, cache=open_cache(settings, folder))
    # Accepted findings pass here too; stale entries are left to a whole-folder lint.
    result = apply(result, load_for(settings, folder), settings)
    return _report(result, fmt, folder, rooted)


def _report(result: LintResult, fmt: str, first: Path, rooted: bool) -> LintReport:
    return LintReport(fmt, result.exit_code, result, root=_root(fmt, first, rooted))


def _root(fmt: str, first: Path, rooted: bool) -> Path | None:
    """What the report's paths are relative to (None: as the findings give them)."""
    return report_root(first) if rooted or fmt in ROOTED_FORMATS else None
