"""Content-addressed cache of lint findings, safe to share between CI runs.

An entry is keyed by sha256 of everything a migration's findings depend on:

- the *code identity*: tool version, Python version, sqlglot version and the
  bytes of every module of the `guard` package (so any rule change, even
  without a version bump, invalidates the cache);
- the *settings identity*: every setting except those that cannot change
  findings (`cache`, `cache_dir`, `fail_on`, `migrations`), paths relative to
  the current directory;
- the migration itself: every field of `Migration` (contents, layout, version,
  line offsets, transaction flag) with its paths as displayed in findings.

Cross-migration input is tracked, not guessed. A lint that only asked the
schema index about earlier migrations (a column's type before this migration,
a validated NOT NULL check, the expand a `guard: contract` directive names)
stores a digest of the migrations *before* it, so adding a later migration (the
CI gate) keeps it valid. A lint that read the migrations list itself stores a
digest of the whole list and is only reused while the list is unchanged.

Entries of one migrations folder live in one *pack* file (one read per run
instead of one per migration), written atomically (temp file + `os.replace`).
A pack that does not parse, has another format, code or settings identity, or
whose digest does not match its content is ignored and rewritten: a corrupt
or stale cache is never trusted. The cache is an optimisation only; failing to
write it is never an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guard import __version__
from guard.config import Settings
from guard.lint.cache_keys import _display, _sha, code_identity, migration_identity, settings_identity
from guard.model import Finding, Migration, Severity

FORMAT = 2  # 2: findings carry their baseline fingerprint
DEFAULT_DIR_NAME = ".migration-guard-cache"
#: Packs untouched for this long are removed when a new pack is written.
_PRUNE_AFTER_SECONDS = 14 * 24 * 3600
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by migration-guard.\n"
)


def default_cache_dir(settings: Settings, folder: Path) -> Path:
    """`cache_dir` when set, else `.migration-guard-cache` at the project root.

    The project root is the config file's folder, else the nearest ancestor of
    `folder` holding `.git`, else the current directory.
    """
    if settings.cache_dir is not None:
        return settings.cache_dir
    if settings.config_path is not None:
        return settings.config_path.parent / DEFAULT_DIR_NAME
    here = folder.resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate / DEFAULT_DIR_NAME
    return Path.cwd() / DEFAULT_DIR_NAME


# --- findings <-> JSON ----------------------------------------------------------------------------------


def _encode(f: Finding) -> list[Any]:
    return [
        f.rule,
        int(f.severity),
        f.file,
        f.line,
        f.message,
        f.fix,
        f.migration,
        f.end_line,
        f.lock,
        f.fingerprint,
    ]


_SEVERITIES = {int(s): s for s in Severity}


def _decode(row: Any) -> Finding:
    """A finding from its JSON row; ValueError when the row is not exactly what `_encode` writes."""
    if type(row) is not list or len(row) != 10:
        raise ValueError("bad finding row")
    rule, sev, file, line, message, fix, migration, end_line, lock, fingerprint = row
    severity = _SEVERITIES.get(sev) if type(sev) is int else None
    if not (
        isinstance(rule, str)
        and severity is not None
        and isinstance(file, str)
        and type(line) is int
        and isinstance(message, str)
        and isinstance(fix, str)
        and (migration is None or isinstance(migration, str))
        and (end_line is None or type(end_line) is int)
        and (lock is None or isinstance(lock, str))
        and isinstance(fingerprint, str)
    ):
        raise ValueError("bad finding field")
    return Finding(rule, severity, file, line, message, fix, migration, end_line, lock, fingerprint)


# --- the cache ------------------------------------------------------------------------------------------


@dataclass
class CacheStats:
    """What the cache did during one run (for benchmarks and `--verbose` style notices)."""

    hits: int = 0
    misses: int = 0
    stale: int = 0
    rejected_pack: str | None = None
    write_error: str | None = None


@dataclass
class LintCache:
    """The findings cache of one migrations folder under one code and settings identity.

    Use `LintCache.open(directory, settings, scope)`, then `lookup` each
    migration, `record` what was linted, and `save` once at the end.
    """

    directory: Path
    pack_path: Path
    code: str
    settings_id: str
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    rule_ids: frozenset[str] | None = None
    stats: CacheStats = field(default_factory=CacheStats)
    _used: set[str] = field(default_factory=set)
    _keys: dict[int, tuple[Migration, str]] = field(default_factory=dict)
    _dirty: bool = False
    _loaded: bool = False
    #: The pack's name: a digest of code, settings and scope (the folder snapshot shares it).
    name: str = ""

    @classmethod
    def open(cls, directory: Path, settings: Settings, scope: str = "", *, lazy: bool = False) -> LintCache:
        """The pack for `scope` (usually the migrations folder) in `directory`, loaded if valid.

        With `lazy`, the pack is read on first use, so a run answered by the folder
        snapshot (see `guard.lint.folder_cache`) never reads it.
        """
        code = code_identity()
        settings_id = settings_identity(settings)
        name = _sha(code, settings_id, scope)[:40]
        self = cls(directory, directory / f"pack-{FORMAT}-{name}.json", code, settings_id, name=name)
        if not lazy:
            self._ensure()
        return self

    def _ensure(self) -> None:
        if not self._loaded:
            self._loaded = True
            self._load()

    def _load(self) -> None:
        try:
            raw = self.pack_path.read_bytes()
        except OSError:
            return  # no pack yet (or unreadable): a cold run
        try:
            doc = json.loads(raw)
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise ValueError("unknown format")
            if doc.get("code") != self.code or doc.get("settings") != self.settings_id:
                raise ValueError("identity mismatch")
            entries, rule_ids = doc.get("entries"), doc.get("rule_ids")
            if not isinstance(entries, dict) or not isinstance(rule_ids, list | type(None)):
                raise ValueError("bad shape")
            if doc.get("digest") != _pack_digest(self.code, self.settings_id, entries, rule_ids):
                raise ValueError("digest mismatch")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            self.stats.rejected_pack = str(exc) or type(exc).__name__
            self._dirty = True  # rewrite it
            return
        self.entries = entries
        if rule_ids is not None and all(isinstance(r, str) for r in rule_ids):
            self.rule_ids = frozenset(rule_ids)

    def key(self, migration: Migration) -> str:
        """The entry key of `migration` (code and settings are already in the pack's identity)."""
        memo = self._keys.get(id(migration))
        if memo is None or memo[0] is not migration:
            memo = (migration, migration_identity(migration))
            self._keys[id(migration)] = memo
        return memo[1]

    def lookup(
        self, key: str, context: Callable[[], str], earlier: Callable[[], str] | None = None
    ) -> list[Finding] | None:
        """Cached findings for `key`, or None on a miss or an entry that fails validation.

        `context` computes the migrations-list digest and `earlier` the digest of the
        migrations before this one; each is called only for entries whose lint read it.
        """
        self._ensure()
        entry = self.entries.get(key)
        if entry is None:
            self.stats.misses += 1
            return None
        try:
            if not isinstance(entry, dict):
                raise ValueError("bad entry")
            wanted = entry.get("context")
            wanted_earlier = entry.get("earlier")
            if (wanted is not None and wanted != context()) or (
                wanted_earlier is not None and (earlier is None or wanted_earlier != earlier())
            ):
                self.stats.stale += 1
                self.stats.misses += 1
                return None
            rows = entry.get("findings")
            if not isinstance(rows, list):
                raise ValueError("bad findings")
            findings = [_decode(r) for r in rows]
        except ValueError:
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        self._used.add(key)
        return findings

    def record(
        self, key: str, findings: Iterable[Finding], context: str | None, earlier: str | None = None
    ) -> None:
        """Remember the findings of a freshly linted migration.

        `context` is the list digest when its lint read the whole list, `earlier` the
        digest of the earlier migrations when it consulted facts about them.
        """
        self._ensure()
        entry: dict[str, Any] = {"context": context, "findings": [_encode(f) for f in findings]}
        if earlier is not None:
            entry["earlier"] = earlier
        self.entries[key] = entry
        self._used.add(key)
        self._dirty = True

    def remember_rules(self, rule_ids: Iterable[str]) -> None:
        """Store the known rule ids so a run with every entry cached can still check config names."""
        self._ensure()
        ids = frozenset(rule_ids)
        if ids != self.rule_ids:
            self.rule_ids = ids
            self._dirty = True

    def save(self, keep: int) -> None:
        """Write the pack atomically when it changed; keep at most about `keep` entries."""
        if not self._dirty:
            return
        self._ensure()
        entries = self.entries
        if len(entries) > keep:
            entries = {k: v for k, v in entries.items() if k in self._used}
        rule_ids = sorted(self.rule_ids) if self.rule_ids is not None else None
        doc = {
            "format": FORMAT,
            "tool": __version__,
            "code": self.code,
            "settings": self.settings_id,
            "rule_ids": rule_ids,
            "entries": entries,
            "digest": _pack_digest(self.code, self.settings_id, entries, rule_ids),
        }
        try:
            write_atomic(self.directory, self.pack_path, doc)
            _prune(self.directory, self.pack_path)
        except OSError as exc:
            self.stats.write_error = exc.strerror or type(exc).__name__
        self._dirty = False


def write_atomic(directory: Path, path: Path, doc: Any) -> None:
    """Write `doc` as JSON to `path` in `directory`: a temp file, then `os.replace` (OSError on failure)."""
    write_text_atomic(directory, path, json.dumps(doc, separators=(",", ":")))


def write_text_atomic(directory: Path, path: Path, text: str) -> None:
    """Write `text` to `path` in `directory` atomically (readers see the old file or the new one)."""
    import tempfile  # only a run that writes needs it (with shutil, lzma, ...: ~4 ms to import)

    _prepare_dir(directory)
    fd, tmp = tempfile.mkstemp(prefix=".pack-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:  # the bytes digests cover
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _pack_digest(code: str, settings_id: str, entries: Any, rule_ids: Any) -> str:
    body = json.dumps([code, settings_id, rule_ids, entries], sort_keys=True, separators=(",", ":"))
    return _sha(body)


def _prepare_dir(directory: Path) -> None:
    if directory.is_dir():
        return
    directory.mkdir(parents=True, exist_ok=True)
    # Never committed, never backed up, whatever the project's own ignore files say.
    (directory / ".gitignore").write_text("*\n", encoding="utf-8")
    (directory / "CACHEDIR.TAG").write_text(_CACHEDIR_TAG, encoding="utf-8")


def _prune(directory: Path, current: Path) -> None:
    """Remove packs (and stray temp files) nobody wrote for two weeks: old versions, old settings."""
    cutoff = time.time() - _PRUNE_AFTER_SECONDS
    for path in directory.iterdir():
        if path == current or not (path.name.startswith(("pack-", ".pack-", "folder-", "report-"))):
            continue
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def open_cache(settings: Settings, folder: Path) -> LintCache | None:
    """The cache for linting `folder` under `settings`, or None when `cache = false`.

    Call it at an edge (a CLI command): it reads the pack from disk.
    """
    if not settings.cache:
        return None
    return LintCache.open(
        default_cache_dir(settings, folder), settings, scope=_display(folder) or "", lazy=True
    )
