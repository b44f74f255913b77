"""The findings cache and the process pool: same findings as a plain lint, never a stale or corrupt answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from guard.config import Settings
from guard.errors import ConfigError
from guard.lint.cache import LintCache, open_cache
from guard.lint.cache_keys import code_identity, context_identity, settings_identity
from guard.lint.engine import lint_migrations
from guard.lint.pool import WatchedMigrations, balanced_shares, effective_jobs, lint_batch, lint_one
from guard.model import Finding, Hit, Migration, Rule, Severity

# Files that produce findings from the always-present meta rules without any parse.
UNUSED = "-- guard: ignore unanalysed-statement reason: nothing to silence\nSELECT {n};\n"
INVALID = "-- guard: frobnicate\nSELECT {n};\n"
CLEAN = "SELECT {n};\n"


def _migrations(tmp_path: Path, count: int = 6) -> list[Migration]:
    out = []
    for n in range(1, count + 1):
        sql = (UNUSED, INVALID, CLEAN)[n % 3].format(n=n)
        out.append(
            Migration(
                version=str(n),
                name=f"m{n}",
                layout="plain",
                up_path=tmp_path / f"{n}_m{n}.sql",
                up_sql=sql,
            )
        )
    return out


def _lint(migrations: list[Migration], settings: Settings, cache: LintCache | None) -> list[Finding]:
    return lint_migrations(migrations, settings, cache=cache).findings


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def settings(cache_dir: Path) -> Settings:
    return Settings(cache_dir=cache_dir)


def _open(settings: Settings) -> LintCache:
    cache = open_cache(settings, Path("migrations"))
    assert cache is not None
    return cache


def test_warm_run_answers_everything_from_the_cache(tmp_path: Path, settings: Settings) -> None:
    ms = _migrations(tmp_path)
    plain = _lint(ms, settings, None)
    assert {"unused-suppression", "invalid-directive"} <= {f.rule for f in plain}

    cold = _open(settings)
    assert _lint(ms, settings, cold) == plain
    assert (cold.stats.hits, cold.stats.misses) == (0, len(ms))

    warm = _open(settings)
    assert _lint(ms, settings, warm) == plain
    assert (warm.stats.hits, warm.stats.misses) == (len(ms), 0)


def test_changed_migration_is_linted_again_and_only_it(tmp_path: Path, settings: Settings) -> None:
    ms = _migrations(tmp_path)
    _lint(ms, settings, _open(settings))
    ms[2] = replace(ms[2], up_sql=INVALID.format(n=99))  # was clean
    cache = _open(settings)
    findings = _lint(ms, settings, cache)
    assert (cache.stats.hits, cache.stats.misses) == (len(ms) - 1, 1)
    assert findings == _lint(ms, settings, None)
    assert any(f.migration == ms[2].id and f.rule == "invalid-directive" for f in findings)


def test_every_migration_field_is_part_of_the_key(tmp_path: Path, settings: Settings) -> None:
    m = _migrations(tmp_path, 1)[0]
    cache = _open(settings)
    base = cache.key(m)
    for change in (
        {"up_line": 5},
        {"transaction": False},
        {"down_sql": "SELECT 2"},
        {"up_path": tmp_path / "elsewhere.sql"},
        {"layout": "dbmate"},
        {"name": "other"},
    ):
        assert cache.key(replace(m, **change)) != base, change


def test_settings_that_change_findings_change_the_pack(tmp_path: Path, settings: Settings) -> None:
    ms = _migrations(tmp_path)
    _lint(ms, settings, _open(settings))
    other = replace(settings, pg_version=12)
    cache = _open(other)
    assert cache.stats.hits == 0 and not cache.entries
    # ...but the fail level does not change findings, so it shares the pack.
    assert settings_identity(replace(settings, fail_on=Severity.WARNING)) == settings_identity(settings)
    assert settings_identity(replace(settings, disable=frozenset({"x"}))) != settings_identity(settings)


def test_disabled_rules_apply_to_cached_answers(tmp_path: Path, settings: Settings) -> None:
    ms = _migrations(tmp_path)
    _lint(ms, settings, _open(settings))
    quiet = replace(settings, disable=frozenset({"invalid-directive"}))
    _lint(ms, quiet, _open(quiet))
    warm = _open(quiet)
    findings = _lint(ms, quiet, warm)
    assert warm.stats.misses == 0
    assert findings and all(f.rule != "invalid-directive" for f in findings)


def test_unknown_rule_in_config_is_refused_even_when_everything_is_cached(
    tmp_path: Path, settings: Settings
) -> None:
    ms = _migrations(tmp_path)
    bad = replace(settings, disable=frozenset({"invalid-directiv"}))
    with pytest.raises(ConfigError, match="invalid-directiv"):
        _lint(ms, bad, _open(bad))
    # Fill the pack under the same settings identity by hand, then try again: still refused.
    cache = _open(bad)
    for m in ms:
        cache.record(cache.key(m), [], None)
    cache.remember_rules(["invalid-directive", "unused-suppression"])
    cache.save(keep=100)
    again = _open(bad)
    with pytest.raises(ConfigError, match="did you mean 'invalid-directive'"):
        _lint(ms, bad, again)
    assert again.stats.misses == 0


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncate", "tamper_finding", "other_format", "empty"],
)
def test_corrupt_pack_is_ignored_and_rewritten(tmp_path: Path, settings: Settings, damage: str) -> None:
    ms = _migrations(tmp_path)
    expected = _lint(ms, settings, None)
    first = _open(settings)
    _lint(ms, settings, first)
    pack = first.pack_path
    raw = pack.read_bytes()
    if damage == "garbage":
        pack.write_bytes(b"\x00\xff not json")
    elif damage == "truncate":
        pack.write_bytes(raw[: len(raw) // 2])
    elif damage == "empty":
        pack.write_bytes(b"")
    else:
        doc = json.loads(raw)
        if damage == "tamper_finding":
            # Hide a finding without fixing the digest: must not be trusted.
            for entry in doc["entries"].values():
                entry["findings"] = []
        else:
            doc["format"] = 999
        pack.write_text(json.dumps(doc))
    cache = _open(settings)
    assert _lint(ms, settings, cache) == expected
    assert cache.stats.hits == 0
    assert cache.stats.rejected_pack  # read on first use (open_cache is lazy)
    # Rewritten: the next run is fully warm again.
    warm = _open(settings)
    assert _lint(ms, settings, warm) == expected
    assert warm.stats.misses == 0


def test_malformed_entry_with_valid_digest_is_a_miss(tmp_path: Path, settings: Settings) -> None:
    ms = _migrations(tmp_path)
    expected = _lint(ms, settings, None)
    cache = _open(settings)
    _lint(ms, settings, cache)
    key = cache.key(ms[1])
    cache.entries[key] = {"context": None, "findings": [["rule", "error", "f", 1]]}
    cache._dirty = True
    cache.save(keep=100)
    again = _open(settings)
    assert _lint(ms, settings, again) == expected
    assert (again.stats.hits, again.stats.misses) == (len(ms) - 1, 1)


def test_entry_that_read_the_migrations_list_is_stale_when_the_list_changes(
    tmp_path: Path, settings: Settings
) -> None:
    ms = _migrations(tmp_path)
    cache = _open(settings)
    key = cache.key(ms[0])
    cache.record(key, [], context_identity(ms))
    assert cache.lookup(key, lambda: context_identity(ms)) == []
    more = [*ms, replace(ms[0], version="99", name="new")]
    assert cache.lookup(key, lambda: context_identity(more)) is None
    assert cache.stats.stale == 1
    # An entry whose lint never read the list does not care.
    cache.record(key, [], None)
    assert cache.lookup(key, lambda: pytest.fail("context not needed")) == []


def _reads_list(stmt: object, ctx: object) -> Iterator[Hit]:
    if any(m.version == "1" for m in ctx.migrations):  # type: ignore[attr-defined]
        yield Hit("saw version 1")


def _ignores_list(stmt: object, ctx: object) -> Iterator[Hit]:
    yield from ()


def _custom(check: object, rule_id: str = "reads-list") -> Rule:
    return Rule(
        id=rule_id,
        severity=Severity.ERROR,
        summary="s",
        why="w",
        fix="f",
        bad="b",
        good="g",
        family="test",
        check=check,  # type: ignore[arg-type]
    )


def test_reading_the_migrations_list_is_recorded(tmp_path: Path) -> None:
    ms = _migrations(tmp_path, 3)
    findings, read = lint_one(ms[1], Settings(), ms, [_custom(_reads_list)])
    assert read and [f.message for f in findings] == ["saw version 1"]
    findings, read = lint_one(ms[1], Settings(), ms, [_custom(_ignores_list)])
    assert not read and findings == []
    watched = WatchedMigrations(ms)
    assert not watched.read
    assert len(watched) == 3 and watched.read


def test_pool_gives_the_same_findings_as_serial(tmp_path: Path) -> None:
    ms = _migrations(tmp_path, 40)
    rules = [_custom(_reads_list)]
    serial = lint_batch(ms, ms, Settings(), rules, jobs=1)
    parallel = lint_batch(ms, ms, Settings(), rules, jobs=3)
    assert parallel == serial
    assert len(serial) == 40 and all(read for _, read in serial)


def _explodes(stmt: object, ctx: object) -> Iterator[Hit]:
    if ctx.migration.version == "7":  # type: ignore[attr-defined]
        raise ZeroDivisionError("rule bug")
    yield from ()


def test_worker_failure_surfaces_in_the_parent(tmp_path: Path) -> None:
    ms = _migrations(tmp_path, 12)
    with pytest.raises(ZeroDivisionError, match="rule bug"):
        lint_batch(ms, ms, Settings(), [_custom(_explodes)], jobs=3)


def test_auto_jobs_stay_serial_for_small_folders() -> None:
    assert effective_jobs(0, 20) == 1
    assert effective_jobs(4, 2) == 2
    assert effective_jobs(1, 10_000) == 1


def test_engine_with_jobs_matches_plain_lint(tmp_path: Path) -> None:
    ms = _migrations(tmp_path, 30)
    plain = lint_migrations(ms, Settings()).findings
    assert lint_migrations(ms, Settings(), jobs=2).findings == plain


def test_cache_dir_is_marked_and_writes_are_atomic(
    tmp_path: Path, settings: Settings, cache_dir: Path
) -> None:
    _lint(_migrations(tmp_path), settings, _open(settings))
    names = sorted(p.name for p in cache_dir.iterdir())
    assert ".gitignore" in names and "CACHEDIR.TAG" in names
    assert not [n for n in names if n.endswith(".tmp")]
    assert len([n for n in names if n.startswith("pack-")]) == 1


def test_unwritable_cache_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings = Settings(cache_dir=blocker / "cache")
    ms = _migrations(tmp_path)
    cache = _open(settings)
    assert _lint(ms, settings, cache) == _lint(ms, settings, None)
    assert cache.stats.write_error


def test_cache_off_and_identity_is_stable(tmp_path: Path) -> None:
    assert open_cache(Settings(cache=False), tmp_path) is None
    assert code_identity() == code_identity()
    assert len(code_identity()) == 64


def test_balanced_shares_keep_a_large_file_from_crowding_one_worker() -> None:
    sizes = [1_500_000] + [1_000] * 99
    shares = balanced_shares(sizes, 2)
    assert sorted(i for s in shares for i in s) == list(range(100))
    big = next(s for s in shares if 0 in s)
    assert big == [0]  # the data load alone; everything else on the other worker
    assert all(s == sorted(s) for s in shares)


# --- sharing whole folders between processes ----------------------------------------------------------


def _slow_pid(k: int) -> tuple[int, int]:
    import os
    import time

    time.sleep(0.01)  # long enough for the forked worker to start and take some tasks
    return k, os.getpid()


def _failing(k: int) -> tuple[int, int]:
    raise ValueError(f"task {k} failed")


def test_run_shared_keeps_order_and_reruns_failures_here() -> None:
    import os
    from functools import partial

    from guard.lint.pool import run_shared

    parent = os.getpid()
    tasks = [partial(_slow_pid, k) for k in range(12)]
    results = run_shared(tasks, 2, order=list(reversed(range(12))))
    assert [k for k, _ in results] == list(range(12))
    assert {pid for _, pid in results} - {parent}, "a forked worker took part"
    # A failure anywhere is run again in this process, in the tasks' order: the real error surfaces.
    with pytest.raises(ValueError, match="task 3 failed"):
        run_shared([*tasks[:3], partial(_failing, 3), *tasks[4:6], partial(_failing, 6)], 2)


def test_folder_jobs_split_one_dominant_folder_by_migrations_instead() -> None:
    from guard.lint.pool import PER_MIGRATION_COST, folder_jobs

    big = 500 * PER_MIGRATION_COST
    assert folder_jobs(2, [big, big]) == 2
    assert folder_jobs(2, [big, big // 10]) == 1  # one folder outweighs the rest
    assert folder_jobs(1, [big, big]) == 1
    assert folder_jobs(0, [PER_MIGRATION_COST, PER_MIGRATION_COST]) == 1  # too small to fork for
    assert folder_jobs(2, [big]) == 1


def _folder(root: Path, name: str, count: int) -> Path:
    folder = root / name
    folder.mkdir()
    for n in range(1, count + 1):
        (folder / f"{n}_m{n}.up.sql").write_text(
            f"CREATE INDEX i{n} ON t{n} (c);\nALTER TABLE t{n} DROP COLUMN c{n};\n", encoding="utf-8"
        )
        (folder / f"{n}_m{n}.down.sql").write_text(f"DROP INDEX i{n};\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("cached", [False, True])
def test_lint_paths_shares_folders_and_matches_one_by_one(tmp_path: Path, cached: bool) -> None:
    from guard.lint.engine import lint_path, lint_paths

    settings = Settings(cache_dir=tmp_path / "cache", cache=cached)
    folders = [_folder(tmp_path, name, count) for name, count in (("a", 150), ("b", 120), ("c", 3))]

    def items() -> list[tuple[Path, Settings, LintCache | None]]:
        return [(f, settings, open_cache(settings, f)) for f in folders]

    alone = [lint_path(f, replace(settings, cache=False)) for f in folders]
    for _ in range(2):  # cold, then (when cached) answered from the snapshots
        shared = lint_paths(items(), jobs=2)
        assert [(r.findings, r.migrations, r.layout) for r in shared] == [
            (r.findings, r.migrations, r.layout) for r in alone
        ]
