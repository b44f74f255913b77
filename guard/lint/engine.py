"""The lint engine: lint a list of migrations or whole folders (from the cache, in worker
processes or in this one) and collect the findings into a `LintResult`.

Each migration is linted by the pure `guard.lint.lint_file.lint_migration`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guard.config import Settings
from guard.lint.lint_file import RuleSet, lint_migration
from guard.model import Finding, Migration, Severity

# The rules, the parser and the directive reader load on first lint, not on import: a run
# answered from the cache (see `guard.lint.folder_cache`) never needs them.
if TYPE_CHECKING:
    from guard.lint.cache import LintCache
    from guard.lint.folder_cache import Signature


@dataclass
class LintResult:
    """Findings of one lint run plus what was looked at."""

    findings: list[Finding]
    migrations: int
    fail_on: Severity = Severity.ERROR
    layout: str = ""
    notices: list[str] = field(default_factory=list)
    #: Exit code of the parts a merged result was made from (see `merge_results`).
    parts_exit: int = 0
    #: Findings the lint baseline accepted (left out of `findings`; see `guard.lint.baseline`).
    baselined: int = 0

    def count(self, severity: Severity) -> int:
        """How many findings have exactly this severity."""
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def exit_code(self) -> int:
        """0 when nothing reaches the fail level, else 1."""
        return max(self.parts_exit, 1 if any(f.severity >= self.fail_on for f in self.findings) else 0)

    def summary(self) -> dict[str, Any]:
        """The `summary` object of the JSON output."""
        return {
            "migrations": self.migrations,
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "infos": self.count(Severity.INFO),
            "baselined": self.baselined,
            "fail_on": str(self.fail_on),
            "exit_code": self.exit_code,
            "layout": self.layout,
        }


def merge_results(results: Sequence[LintResult]) -> LintResult:
    """One result for several migrations folders (each linted under its own settings).

    Findings and notices are concatenated, migrations summed, layouts listed, and
    the exit code is the highest of the parts (each judged by its own `fail_on`).
    """
    if len(results) == 1:
        return results[0]
    layouts = list(dict.fromkeys(r.layout for r in results if r.layout))
    return LintResult(
        findings=[f for r in results for f in r.findings],
        migrations=sum(r.migrations for r in results),
        # The most lenient level never fails a finding its own part passed; parts_exit
        # carries the failures of stricter parts.
        fail_on=max(r.fail_on for r in results),
        layout=",".join(layouts),
        notices=[n for r in results for n in r.notices],
        parts_exit=max(r.exit_code for r in results),
        baselined=sum(r.baselined for r in results),
    )


def configured(finding: Finding, settings: Settings) -> Finding:
    """`finding` with the severity the config gives its rule (findings made outside the engine)."""
    severity = settings.severity_of(finding.rule, finding.severity)
    return finding if severity == finding.severity else replace(finding, severity=severity)


def lint_migrations(
    migrations: Sequence[Migration],
    settings: Settings,
    *,
    extra_findings: Iterable[Finding] = (),
    only: Iterable[str] | None = None,
    layout: str = "",
    cache: LintCache | None = None,
    jobs: int | None = 1,
) -> LintResult:
    """Lint `migrations` (all of them, or only the ids in `only`) and merge `extra_findings`.

    The result counts the migrations linted (those in `only`); the others are context.

    With a `cache` (see `guard.lint.cache.open_cache`), unchanged migrations are
    answered from it; `jobs` > 1 (or 0/None: one per core when it pays) lints
    the rest in forked worker processes. Findings are the same either way.
    """
    wanted = set(only) if only is not None else None
    findings = [configured(f, settings) for f in extra_findings if f.rule not in settings.disable]
    todo = [m for m in migrations if wanted is None or m.id in wanted]
    if cache is not None or jobs != 1:
        from guard.lint.pool import lint_many

        findings.extend(lint_many(todo, migrations, settings, cache=cache, jobs=jobs))
    else:
        from guard.lint.registry import selected_rules
        from guard.lint.schema_index import SchemaIndex

        rules = RuleSet(selected_rules(settings))
        schema = SchemaIndex(migrations)
        for m in todo:
            findings.extend(lint_migration(m, settings, migrations, rules, schema))
    return LintResult(findings=findings, migrations=len(todo), fail_on=settings.fail_on, layout=layout)


def lint_path(
    path: Path, settings: Settings, *, cache: LintCache | None = None, jobs: int | None = 1
) -> LintResult:
    """Discover the migrations under `path` and lint them all (see `lint_migrations` for cache/jobs).

    With a `cache`, a folder whose files all have the stat they had when its result was
    stored is answered without reading them (see `guard.lint.folder_cache`).
    """
    signature, stored = _from_snapshot(path, settings, cache)
    if stored is not None:
        return stored
    return _lint_folder(path, settings, cache, jobs, signature)


def lint_paths(
    folders: Sequence[tuple[Path, Settings, LintCache | None]],
    *,
    jobs: int | None = 1,
    signatures: Sequence[Signature | None] | None = None,
) -> list[LintResult]:
    """`lint_path` of each (folder, settings, cache), results in the same order.

    Folders answered by their snapshot are answered first, in this process. With `jobs`
    other than 1 and several folders left, whole folders are shared out between forked
    processes (each folder's discovery and schema index then run once, in one process),
    unless one folder outweighs all the others together: it is then split by migrations.
    `signatures` are the folders' stat signatures when the caller already walked them.
    """
    from guard.lint import folder_cache
    from guard.lint.pool import PER_MIGRATION_COST, folder_jobs, load_before_fork, run_shared

    results: list[LintResult | None] = [None] * len(folders)
    todo: list[tuple[int, Signature | None, int]] = []  # (index, signature, weight)
    for i, (path, settings, cache) in enumerate(folders):
        walked = signatures[i] if signatures is not None else None
        signature, stored = _from_snapshot(path, settings, cache, walked)
        if stored is not None:
            results[i] = stored
            continue
        weigh = (
            signature
            if signature is not None or jobs == 1
            else folder_cache.folder_signature(path, settings.exclude)
        )
        weight = weigh.sql_bytes + PER_MIGRATION_COST * weigh.sql_files if weigh is not None else 0
        todo.append((i, signature, weight))
    weights = [w for _, _, w in todo]
    n = folder_jobs(jobs, weights)
    if n > 1:
        load_before_fork()
        tasks = [partial(_lint_folder, *folders[i], 1, signature) for i, signature, _ in todo]
        heaviest_first = sorted(range(len(todo)), key=lambda k: -weights[k])  # small ones last
        for (i, _, _), result in zip(todo, run_shared(tasks, n, heaviest_first), strict=True):
            results[i] = result
    else:
        for i, signature, _ in todo:
            results[i] = _lint_folder(*folders[i], jobs, signature)
    return [r for r in results if r is not None]


def _from_snapshot(
    path: Path, settings: Settings, cache: LintCache | None, signature: Signature | None = None
) -> tuple[Signature | None, LintResult | None]:
    """The folder's stat signature (with a cache) and its stored result when the snapshot holds."""
    if cache is None:
        return None, None
    from guard.lint import folder_cache

    if signature is None:
        signature = folder_cache.folder_signature(path, settings.exclude)
    stored = folder_cache.load(cache, signature) if signature is not None else None
    if stored is None:
        return signature, None
    if settings.disable or settings.severity:
        from guard.config import check_rule_names

        check_rule_names(settings, stored.rule_ids)  # unknown rule ids are refused, cached or not
    return signature, LintResult(
        findings=stored.findings, migrations=stored.migrations, fail_on=settings.fail_on, layout=stored.layout
    )


def _lint_folder(
    path: Path, settings: Settings, cache: LintCache | None, jobs: int | None, signature: Signature | None
) -> LintResult:
    """Discover and lint a folder the snapshot did not answer; store its snapshot."""
    from guard.layouts import discover

    discovery = discover(path, settings.layout, exclude=settings.exclude)
    result = lint_migrations(
        discovery.migrations,
        settings,
        extra_findings=discovery.findings,
        layout=discovery.layout,
        cache=cache,
        jobs=jobs,
    )
    if cache is not None and signature is not None and cache.rule_ids is not None:
        from guard.lint import folder_cache

        folder_cache.save(cache, signature, result.findings, result.migrations, result.layout, cache.rule_ids)
    return result
