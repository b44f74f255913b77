"""Lint many migrations at once: answer from the cache, lint the rest, across cores when it pays.

`lint_many` is what `lint_migrations` calls when a cache or several jobs are
asked for. Each migration is still linted by the pure `lint_migration`; this
module only decides *where* (cache, this process, a forked worker) and
records whether the lint read the migrations list (cross-migration input that
the cache must key on).

Workers are forked after the rules and the statement model are loaded, so they start in a
few milliseconds and inherit their inputs without pickling; only findings
travel back. The parent lints a share itself. A worker that fails or dies is
never trusted: its share is linted again in the parent, where the real error
(if any) surfaces with its traceback.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from guard.config import Settings, check_rule_names
from guard.model import Finding, Migration, Rule

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from guard.lint.cache import LintCache
    from guard.lint.schema_index import SchemaIndex

#: Below this many migrations per worker, forking costs more than it saves.
MIN_PER_WORKER = 100
#: The work of linting a migration, in characters of SQL, besides its size. Measured on the
#: corpus: a small migration costs about as much as 6,000 characters of a data load (the
#: 1.5 MB Hasura load and 466 small migrations take about the same time).
PER_MIGRATION_COST = 6_000
MAX_AUTO_JOBS = 8

_T = TypeVar("_T")

Linted = tuple[list[Finding], str | None]
"""Findings of one migration, and what else its lint read: None (nothing), `EARLIER`
(only facts about earlier migrations, through the schema index) or `ALL` (the list itself)."""
EARLIER, ALL = "earlier", "all"


class WatchedMigrations(Sequence[Migration]):
    """A read-only view of the migrations list that remembers whether anyone looked at it."""

    def __init__(self, items: Sequence[Migration]) -> None:
        self._items = items
        self.read = False

    @overload
    def __getitem__(self, index: int) -> Migration: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Migration]: ...
    def __getitem__(self, index: int | slice) -> Migration | Sequence[Migration]:
        self.read = True
        return self._items[index]

    def __len__(self) -> int:
        self.read = True
        return len(self._items)

    def __iter__(self) -> Iterator[Migration]:
        self.read = True
        return iter(self._items)

    def __contains__(self, item: object) -> bool:
        self.read = True
        return item in self._items

    def __bool__(self) -> bool:
        self.read = True
        return bool(self._items)


def lint_one(
    migration: Migration,
    settings: Settings,
    migrations: Sequence[Migration],
    rules: Sequence[Rule],
    schema: SchemaIndex | None = None,
) -> Linted:
    """`lint_migration`, plus what cross-migration input it read (see `Linted`)."""
    from guard.lint.lint_file import lint_migration
    from guard.lint.schema_index import SchemaIndex

    schema = schema if schema is not None else SchemaIndex(migrations)
    watched = WatchedMigrations(migrations)
    asked = schema.queries
    findings = lint_migration(migration, settings, watched, rules, schema)
    return findings, ALL if watched.read else EARLIER if schema.queries != asked else None


def lint_many(
    todo: Sequence[Migration],
    migrations: Sequence[Migration],
    settings: Settings,
    *,
    cache: LintCache | None = None,
    jobs: int | None = 1,
) -> list[Finding]:
    """Findings of every migration in `todo`, in order, using `cache` and up to `jobs` processes.

    `jobs` None or 0 means one per available core when the work is large enough.
    Unknown rule ids in the settings are refused even when every answer is cached.
    """
    results: list[list[Finding] | None] = [None] * len(todo)
    keys: list[str] = []
    context = _lazy_context(migrations, cache)
    earlier = _lazy_earlier(migrations, cache)
    if cache is not None:
        for i, m in enumerate(todo):
            key = cache.key(m)
            keys.append(key)
            results[i] = cache.lookup(key, context, earlier(m))
    misses = [i for i, r in enumerate(results) if r is None]
    needs_check = bool(settings.disable or settings.severity)
    if misses or cache is None or (needs_check and cache.rule_ids is None):
        from guard.lint.registry import all_rules, selected_rules

        rules = selected_rules(settings)  # also refuses unknown rule ids in the config
        if cache is not None:
            cache.remember_rules(all_rules().keys())
    else:
        # Every answer is cached: check config names against the rule ids stored with
        # them (same code identity, so the same rules) instead of importing the rules.
        assert cache.rule_ids is not None or not needs_check
        if needs_check and cache.rule_ids is not None:
            check_rule_names(settings, cache.rule_ids)
        rules = []
    if misses:
        fresh = lint_batch([todo[i] for i in misses], migrations, settings, rules, jobs)
        for i, (findings, read) in zip(misses, fresh, strict=True):
            results[i] = findings
            if cache is not None:
                cache.record(
                    keys[i],
                    findings,
                    context() if read == ALL else None,
                    earlier(todo[i])() if read == EARLIER else None,
                )
    if cache is not None:
        cache.save(keep=2 * len(migrations) + 64)
    return [f for r in results if r is not None for f in r]


def _lazy_context(migrations: Sequence[Migration], cache: LintCache | None) -> Callable[[], str]:
    memo: list[str] = []

    def get() -> str:
        if not memo:
            from guard.lint.cache_keys import context_identity

            memo.append(context_identity(migrations, cache.key if cache is not None else None))
        return memo[0]

    return get


def _lazy_earlier(
    migrations: Sequence[Migration], cache: LintCache | None
) -> Callable[[Migration], Callable[[], str]]:
    """`earlier(m)()` is the digest of the migrations before `m`, all computed on first use."""
    memo: dict[int, str] = {}

    def of(migration: Migration) -> Callable[[], str]:
        def get() -> str:
            if not memo:
                from guard.lint.cache_keys import earlier_identities

                memo.update(earlier_identities(migrations, cache.key if cache is not None else None))
            return memo[id(migration)]

        return get

    return of


def effective_jobs(jobs: int | None, work: int) -> int:
    """How many processes to use for `work` migrations (1 where fork is unavailable)."""
    if not sys.platform.startswith("linux"):
        return 1  # fork is the only start method cheap enough, and only safe on Linux
    if jobs is None or jobs <= 0:
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cpus = os.cpu_count() or 1
        jobs = min(cpus, MAX_AUTO_JOBS, work // MIN_PER_WORKER)
    return max(1, min(jobs, work))


def folder_jobs(jobs: int | None, weights: Sequence[int]) -> int:
    """How many processes to share whole folders of these weights between (1: do not share).

    Not when one folder outweighs all the others together: splitting that one folder by
    migrations (see `lint_batch`) balances better.
    """
    if len(weights) < 2 or effective_jobs(jobs, MIN_PER_WORKER * 2) <= 1:
        return 1
    heaviest = max(weights)
    if heaviest > sum(weights) - heaviest:
        return 1
    if jobs is None or jobs <= 0:
        work = sum(weights) // (PER_MIGRATION_COST + 1)  # in small-migration equivalents
        return max(1, min(effective_jobs(0, work), len(weights)))
    return max(1, min(jobs, len(weights)))


def load_before_fork() -> None:
    """Import what every lint loads (the rules, the statement model and its token reader,
    discovery), so forked workers inherit it instead of each importing it again (about 0.1 s of
    CPU per worker: a cold corpus lint takes 9 % less CPU).

    sqlglot is not loaded: most runs never parse a statement (the token reader reads the DDL and
    plain row statements), and importing it costs more than a fork.
    """
    import guard.layouts
    import guard.lint.lint_file
    import guard.lint.schema_index
    import guard.sql.read  # noqa: F401
    from guard.lint.registry import all_rules

    all_rules()


def run_shared(tasks: Sequence[Callable[[], _T]], n: int, order: Sequence[int] | None = None) -> list[_T]:
    """Results of `tasks`, in order, run by this process and `n - 1` forked ones.

    Each process takes the next task in `order` (heaviest first, say) when it is free, so
    an estimate that was off does not leave one process waiting. A task that fails in a
    worker, or a worker that dies, is run again here, in the tasks' own order, where a real
    error surfaces as it would without workers.
    """
    sequence = list(order) if order is not None else list(range(len(tasks)))
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("i", 0)  # the next task to take, shared by every process

    def claim() -> int:
        """The next task's index, or -1 when none is left."""
        with counter.get_lock():
            p = int(counter.value)
            counter.value = p + 1
        return sequence[p] if p < len(sequence) else -1

    children: list[tuple[Any, Connection]] = []
    gc.freeze()  # keep the inherited heap shared (no copy-on-write from the collector)
    try:
        for _ in range(n - 1):
            receiver, sender = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_shared_child, args=(sender, tasks, claim), daemon=True)
            proc.start()
            sender.close()
            children.append((proc, receiver))
    finally:
        gc.unfreeze()
    done: dict[int, _T] = {}
    try:
        while (k := claim()) >= 0:
            with contextlib.suppress(Exception):  # run again below, where it raises for real
                done[k] = tasks[k]()
        for _proc, receiver in children:
            for k, result in _receive(receiver) or []:
                done.setdefault(k, result)
    finally:
        for proc, receiver in children:
            receiver.close()
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    return [done[k] if k in done else tasks[k]() for k in range(len(tasks))]


def _shared_child(sender: Connection, tasks: Sequence[Callable[[], Any]], claim: Callable[[], int]) -> None:
    out: list[tuple[int, Any]] = []
    try:
        while (k := claim()) >= 0:
            with contextlib.suppress(Exception):  # the parent runs it again
                out.append((k, tasks[k]()))
        sender.send(("ok", out))
    except BaseException as exc:  # reported; the parent runs what is missing
        with contextlib.suppress(Exception):
            sender.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()


def lint_batch(
    todo: Sequence[Migration],
    migrations: Sequence[Migration],
    settings: Settings,
    rules: Sequence[Rule],
    jobs: int | None = 1,
) -> list[Linted]:
    """Lint `todo` (no cache), in this process or split across `jobs` forked processes."""
    from guard.lint.lint_file import RuleSet
    from guard.lint.schema_index import SchemaIndex

    rules = rules if isinstance(rules, RuleSet) else RuleSet(rules)  # indexed once, not per migration

    schema = SchemaIndex(migrations)  # one per run, shared by every lint (and inherited by workers)
    n = effective_jobs(jobs, len(todo))
    if n <= 1:
        return [lint_one(m, settings, migrations, rules, schema) for m in todo]
    import multiprocessing

    load_before_fork()
    ctx = multiprocessing.get_context("fork")
    shares = balanced_shares([len(m.up_sql) for m in todo], n)
    children: list[tuple[Any, Connection, list[int]]] = []
    gc.freeze()  # keep the inherited heap shared (no copy-on-write from the collector)
    try:
        for share in shares[1:]:
            receiver, sender = ctx.Pipe(duplex=False)
            items = [todo[i] for i in share]
            proc = ctx.Process(
                target=_child, args=(sender, items, migrations, settings, rules, schema), daemon=True
            )
            proc.start()
            sender.close()
            children.append((proc, receiver, share))
    finally:
        gc.unfreeze()
    out: list[Linted | None] = [None] * len(todo)
    try:
        for i in shares[0]:
            out[i] = lint_one(todo[i], settings, migrations, rules, schema)
        for _proc, receiver, share in children:
            answer = _receive(receiver)
            if answer is None or len(answer) != len(share):
                # Not trusted: redo in this process, where a real error shows its traceback.
                answer = [lint_one(todo[i], settings, migrations, rules, schema) for i in share]
            for i, linted in zip(share, answer, strict=True):
                out[i] = linted
    finally:
        for proc, receiver, _share in children:
            receiver.close()
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    return [x for x in out if x is not None]


def balanced_shares(sizes: Sequence[int], n: int) -> list[list[int]]:
    """Indices of `sizes` split into `n` shares of similar total work, each in ascending order.

    Largest first, each to the lightest share so far: one 1.5 MB data load does not end up
    with a third of the other files. A fixed cost per migration stands for its parsing overhead.
    """
    loads = [0] * n
    shares: list[list[int]] = [[] for _ in range(n)]
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        w = min(range(n), key=loads.__getitem__)
        shares[w].append(i)
        loads[w] += sizes[i] + PER_MIGRATION_COST
    return [sorted(share) for share in shares]


def _receive(receiver: Connection) -> list[Any] | None:
    try:
        status, payload = receiver.recv()
    except (EOFError, OSError):
        return None  # the worker died
    return payload if status == "ok" and isinstance(payload, list) else None


def _child(
    sender: Connection,
    items: Sequence[Migration],
    migrations: Sequence[Migration],
    settings: Settings,
    rules: Sequence[Rule],
    schema: SchemaIndex,
) -> None:
    try:
        sender.send(("ok", [lint_one(m, settings, migrations, rules, schema) for m in items]))
    except BaseException as exc:  # reported, then redone by the parent
        with contextlib.suppress(Exception):
            sender.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()
