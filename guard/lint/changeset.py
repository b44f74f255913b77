"""Change-set rules: compare the migrations in the working tree with those at the merge base.

`lint_change(folder, settings, base)` is the CI gate: it discovers the migrations,
finds the merge base of `base` and HEAD (fetching what a shallow clone lacks),
reads the base's migrations folder through one `git cat-file --batch`, and reports

- `avoid-changing-merged-migration`: a merged migration file edited (bytes, so
  whitespace and line endings count; the message carries a short diff), deleted or renamed;
- `require-later-version`: a new migration not later than every migration at the base;
- `separate-expand-and-contract`: a new contract whose expand is new in the same change;
- `wait-for-contract-window`: a new contract whose expand reached the base branch less than
  the contract window ago (`guard.lint.contract_window`);
- `require-schema-file-sync`: the schema file and the migrations not changed together.

Only new migrations are linted for statement rules unless `all_migrations` is set.
Without git (or outside a repository) the change-set rules are skipped with a notice.

The pure comparison lives in `guard.lint.changes`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from guard.config import Settings
from guard.errors import InputError
from guard.lint.changes import BaseTree, ChangeSet, SchemaChange, compare, read_bytes, rel_path
from guard.lint.contract_window import check_contract_windows
from guard.lint.engine import LintResult, lint_migrations
from guard.model import Finding, Migration
from guard.paths import display_path

if TYPE_CHECKING:
    from guard.lint.baseline import Baseline
    from guard.lint.cache import LintCache

__all__ = ["BaseTree", "ChangeSet", "SchemaChange", "compare", "discover_at_base", "lint_change"]


def discover_at_base(files: Mapping[str, bytes], layout: str, exclude: Sequence[str]) -> list[Migration]:
    """Discover migrations in some of the base's files by writing them to a temporary folder.

    Used only for the few files a change touches (edited, deleted, merged meanwhile),
    never the whole folder. A partial set can hold no migration at all (a lone down
    file), so "no migrations found" is an empty answer here, not an error.
    Paths of the returned migrations are relative to the folder.
    """
    from guard.layouts import discover

    if not files:
        return []
    with tempfile.TemporaryDirectory(prefix="migration-guard-base-") as tmp:
        root = Path(tmp)
        for rel, data in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        try:
            discovery = discover(root, layout, exclude=exclude)
        except InputError:
            return []
        return [_relative(m, root) for m in discovery.migrations]


def base_migrations(
    current: Sequence[Migration],
    folder: Path,
    paths: Mapping[str, str],
    changed: Mapping[str, bytes],
    layout: str,
    exclude: Sequence[str],
) -> list[Migration]:
    """The migrations at the merge base, without reading the unchanged files again.

    A current migration whose up file exists at the base and is unchanged (per git) is
    the same migration there (its down only if that existed too); the edited and
    deleted ones are discovered from their base bytes.
    """
    out: list[Migration] = []
    for m in current:
        up = rel_path(m.up_path, folder)
        if up in paths and up not in changed:
            down = rel_path(m.down_path, folder) if m.down_path is not None else None
            out.append(
                replace(
                    m, up_path=Path(up), down_path=Path(down) if down is not None and down in paths else None
                )
            )
    out.extend(discover_at_base(changed, layout, exclude))
    return out


def _relative(m: Migration, root: Path) -> Migration:
    return replace(
        m,
        up_path=Path(os.path.relpath(m.up_path, root)),
        down_path=Path(os.path.relpath(m.down_path, root)) if m.down_path is not None else None,
    )


def lint_change(
    folder: Path,
    settings: Settings,
    base: str,
    *,
    all_migrations: bool = False,
    schema_file: Path | None = None,
    fetch: bool = True,
    now: datetime | None = None,
    cache: LintCache | None = None,
    jobs: int | None = 1,
    baseline: Baseline | None = None,
) -> LintResult:
    """The CI gate: lint the change against `base` (a branch, tag or commit, e.g. `origin/main`).

    Statement rules run on new migrations only unless `all_migrations`; the schema file
    (`schema_file`, else the `schema_file` setting) must change together with the migrations.
    Outside git the change-set rules are skipped and every migration is linted, with a notice.
    `cache` and `jobs` go to `lint_migrations`. `baseline` accepts findings of migrations that
    were already merged, never of new or edited ones nor a change-set rule's.
    """
    from guard import gitutil
    from guard.layouts import discover
    from guard.lint.baseline import apply as apply_baseline

    discovery = discover(folder, settings.layout, exclude=settings.exclude)
    extra = list(discovery.findings)
    try:
        root = gitutil.repo_root(folder)
    except gitutil.GitMissing as exc:
        result = lint_migrations(
            discovery.migrations,
            settings,
            extra_findings=extra,
            layout=discovery.layout,
            cache=cache,
            jobs=jobs,
        )
        result.notices.append(f"change-set rules against {base} skipped: {exc}; every migration was linted")
        return apply_baseline(result, baseline, settings, linted=_everything(baseline, folder))

    where = gitutil.ensure_merge_base(root, base, fetch=fetch)
    commit = where.merge_base
    folder_rel = _inside(folder, root, "migrations folder")
    paths = gitutil.list_files(root, commit, folder_rel)
    changed_at_base = {
        rel: paths[rel] for rel in gitutil.changed_since(root, commit, folder_rel) if rel in paths
    }
    blobs = gitutil.read_blobs(root, changed_at_base.values())
    changed = {rel: blobs[sha] for rel, sha in changed_at_base.items()}
    tree = BaseTree(
        base,
        commit,
        paths,
        changed,
        base_migrations(discovery.migrations, folder, paths, changed, discovery.layout, settings.exclude),
        _merged_since(root, where.tip, commit, folder_rel, paths, discovery.layout, settings.exclude),
        settings.exclude,
    )

    schema = None
    schema_path = schema_file or settings.schema_file
    if schema_path is not None:
        schema_rel = _inside(schema_path, root, "schema file")
        schema = SchemaChange(
            display_path(schema_path), gitutil.file_at(root, commit, schema_rel), read_bytes(schema_path)
        )
        if schema.before is None and schema.after is None:
            raise InputError(
                f"schema file {schema.display} does not exist (here or at {base})",
                "fix `schema_file` in the config or the --schema-file path",
            )

    change = compare(
        discovery.migrations,
        folder,
        tree,
        settings,
        schema=schema,
        now=now,
    )
    windows = check_contract_windows(
        root, folder_rel, change.new, tree, where.tip, settings, now or datetime.now(UTC), fetch=fetch
    )
    if not all_migrations:  # discovery problems in files identical to the base are not this change's
        extra = [f for f in extra if _folder_rel(f.file, folder) not in change.unchanged]
    only = None if all_migrations else [m.id for m in change.new]
    result = lint_migrations(
        discovery.migrations,
        settings,
        extra_findings=[*extra, *change.findings, *windows.findings],
        only=only,
        layout=discovery.layout,
        cache=cache,
        jobs=jobs,
    )
    result.notices.extend(where.notes)
    result.notices.extend(windows.notices)
    result.notices.append(_summary_notice(base, commit, discovery.migrations, change, all_migrations))
    merged = _merged_finding(change, folder)
    linted = _everything(baseline, folder) if all_migrations else None
    why = "a migration new or edited in this change, or a change-set rule, is never baselined"
    return apply_baseline(result, baseline, settings, eligible=merged, linted=linted, why_not=why)


def _merged_finding(change: ChangeSet, folder: Path) -> Callable[[Finding], bool]:
    """Which findings the baseline may accept in the gate: those of migrations already merged
    and unchanged (a new or edited migration, or a change-set rule, is never baselined)."""
    from guard.lint.registry import all_rules

    fresh = {m.id for m in (*change.new, *change.edited)}
    rules = all_rules()

    def merged(f: Finding) -> bool:
        rule = rules.get(f.rule)
        if rule is None or rule.family == "changeset":
            return False
        if f.migration is None:
            return _folder_rel(f.file, folder) in change.unchanged
        return f.migration not in fresh

    return merged


def _everything(baseline: Baseline | None, folder: Path) -> Callable[[str], bool] | None:
    """Stale entries can be judged when every migration of the baseline's folder was linted."""
    if baseline is None or folder.resolve() != baseline.folder:
        return None
    return lambda _owner: True


def new_since(
    folder: Path, ref: str, migrations: Sequence[Migration], *, fetch: bool = True
) -> tuple[frozenset[str], list[str]]:
    """Ids of `migrations` whose up file is not at the merge base of `ref` and HEAD, and git's
    notes (a shallow clone deepened, ...). For `verify --since`: outside git it refuses, since
    verifying every migration instead would be a different run than the one asked for."""
    from guard import gitutil

    try:
        root = gitutil.repo_root(folder)
    except gitutil.GitMissing as exc:
        raise InputError(
            f"--since {ref} needs git: {exc}", "run inside the repository, or drop --since"
        ) from None
    where = gitutil.ensure_merge_base(root, ref, fetch=fetch)
    at_base = gitutil.list_files(root, where.merge_base, _inside(folder, root, "migrations folder"))
    new = frozenset(m.id for m in migrations if rel_path(m.up_path, folder) not in at_base)
    return new, list(where.notes)


def _merged_since(
    root: Path,
    tip: str,
    commit: str,
    folder_rel: str,
    at_base: Mapping[str, str],
    layout: str,
    exclude: Sequence[str],
) -> list[Migration]:
    """Migrations on the base branch's tip that the merge base lacks (merged by others meanwhile).

    Only files added or changed since the merge base are read and discovered, so the
    common CI case (a pull request's merge commit, where tip == merge base) costs nothing.
    """
    from guard import gitutil

    if tip == commit:
        return []
    at_tip = gitutil.list_files(root, tip, folder_rel)
    fresh = {rel: sha for rel, sha in at_tip.items() if at_base.get(rel) != sha}
    blobs = gitutil.read_blobs(root, fresh.values())
    return discover_at_base({rel: blobs[sha] for rel, sha in fresh.items()}, layout, exclude)


def _summary_notice(
    base: str, commit: str, migrations: Sequence[Migration], change: ChangeSet, all_migrations: bool
) -> str:
    new = len(change.new)
    text = f"compared with {base} (merge base {commit[:12]}): {new} new migration{'s' if new != 1 else ''}"
    if change.edited:
        text += f", {len(change.edited)} edited"
    if all_migrations:
        return text + "; --all: statement rules ran on every migration"
    old = len(migrations) - new
    return (
        text
        + f"; statement rules ran on the new ones only ({old} others not linted; --all lints every migration)"
    )


def _folder_rel(file: str, folder: Path) -> str:
    return Path(os.path.relpath(file, folder)).as_posix()


def _inside(path: Path, root: Path, what: str) -> str:
    """`path` relative to the repository root, posix ("" for the root itself)."""
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        raise InputError(
            f"the {what} {path} is outside the git repository at {root}",
            "run the gate from inside the repository that holds the migrations",
        ) from None
    text = rel.as_posix()
    return "" if text == "." else text
