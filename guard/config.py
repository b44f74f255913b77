"""Settings: defaults, then the config file, then command-line flags; every value remembers its source.

The config file is `[tool.migration-guard]` in `pyproject.toml` or a top-level
`migration-guard.toml`, found by walking up from the migrations folder (or the
current directory). Unknown keys are errors with a did-you-mean hint: a typo
that silently disables a safety rule is worse than no config at all.

Environment and dotenv handling for database settings live in `guard.environment`.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from guard.errors import ConfigError
from guard.model import Severity

LAYOUTS = ("auto", "hasura", "golang-migrate", "dbmate", "flyway", "prisma", "drizzle", "plain")
SHADOW_PROVIDERS = ("embedded", "docker", "url")
DEFAULT_SOURCE = "default"

_DEFAULT_VERCEL_MAP = MappingProxyType({"production": "prod", "preview": "dev", "development": "dev"})
_DEFAULT_NODE_MAP = MappingProxyType({"production": "prod"})


@dataclass(frozen=True)
class Settings:
    """Effective configuration. Build it with `load_settings`; never mutate it."""

    migrations: Path | None = None
    layout: str = "auto"
    pg_version: int = 15
    fail_on: Severity = Severity.ERROR
    disable: frozenset[str] = frozenset()
    severity: Mapping[str, Severity] = field(default_factory=lambda: MappingProxyType({}))
    exclude: tuple[str, ...] = ()
    #: Whether the runner wraps each migration in a transaction (lint rules depend on it).
    transaction: bool = True
    #: Whether layouts without down files (Prisma, plain, Flyway without undo) must still have downs.
    require_down: bool = True
    #: Require `SET lock_timeout` / `SET statement_timeout` in each file (for teams using another runner).
    require_timeouts: bool = False
    contract_window_hours: float = 48.0
    #: Environments where the runner's lint gate refuses (exit 1); elsewhere findings are warnings.
    lint_gate_envs: tuple[str, ...] = ("prod",)
    #: Environments where a contract waits for its window; elsewhere expand and contract run together.
    contract_window_envs: tuple[str, ...] = ("prod",)
    lock_timeout: str = "5s"
    statement_timeout: str = "15min"
    lock_retries: int = 3
    lock_retry_backoff_seconds: float = 2.0
    runner_lock_wait_seconds: float = 30.0
    history_schema: str = "migration_guard"
    marker_table: str = "bk_env_marker"
    marker_schema: str = "public"
    environments: tuple[str, ...] = ("dev", "prod")
    vercel_env_map: Mapping[str, str] = field(default_factory=lambda: _DEFAULT_VERCEL_MAP)
    node_env_map: Mapping[str, str] = field(default_factory=lambda: _DEFAULT_NODE_MAP)
    node_env_default: str = "dev"
    schema_file: Path | None = None
    shadow: str = "embedded"
    #: Docker image for `--shadow docker`; None = `postgres:<pg_version>`.
    shadow_image: str | None = None
    #: Postgres bin folder for the embedded shadow server; None = chosen automatically.
    shadow_bindir: Path | None = None
    cache: bool = True
    cache_dir: Path | None = None
    #: The lint baseline file (default: `migration-guard-baseline.json` at the project root).
    baseline: Path | None = None
    #: Where each non-default value came from: key -> "pyproject.toml", "--pg-version", ...
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), compare=False)
    config_path: Path | None = field(default=None, compare=False)

    @property
    def docker_image(self) -> str:
        """The image `--shadow docker` runs: `shadow_image`, or the official image of `pg_version`."""
        return self.shadow_image or f"postgres:{self.pg_version}"

    def source_of(self, key: str) -> str:
        """Where `key`'s value came from (`default` when nobody set it)."""
        return self.sources.get(key, DEFAULT_SOURCE)

    def severity_of(self, rule_id: str, default: Severity) -> Severity:
        """The configured severity of a rule, or its own default."""
        return self.severity.get(rule_id, default)

    def public_items(self) -> list[tuple[str, Any, str]]:
        """(key, value, source) for every setting, for `migration-guard config`."""
        skip = {"sources", "config_path"}
        return [
            (f.name, getattr(self, f.name), self.source_of(f.name))
            for f in fields(self)
            if f.name not in skip
        ]


# --- value parsers: each takes the raw TOML/flag value and the key, returns the typed value ------------


def _path(value: Any, key: str, base: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"setting {key!r} must be a path string, got {value!r}")
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def _choice(options: Iterable[str]) -> Callable[[Any, str, Path], str]:
    opts = tuple(options)

    def parse(value: Any, key: str, base: Path) -> str:
        if value not in opts:
            raise ConfigError(
                f"setting {key!r} is {value!r}; expected one of: {', '.join(opts)}", _hint(value, opts)
            )
        return str(value)

    return parse


def _int(value: Any, key: str, base: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"setting {key!r} must be a whole number, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"setting {key!r} must be a whole number, got {value!r}") from None


def _float(value: Any, key: str, base: Path) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"setting {key!r} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {key!r} must be a number, got {value!r}") from None


def _bool(value: Any, key: str, base: Path) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.lower() in ("true", "yes", "1")
    raise ConfigError(f"setting {key!r} must be true or false, got {value!r}")


def _window_hours(value: Any, key: str, base: Path) -> float:
    hours = _float(value, key, base)
    if not 0 <= hours < float("inf"):
        raise ConfigError(f"setting {key!r} must be a number of hours, 0 or more, got {value!r}")
    return hours


def _str(value: Any, key: str, base: Path) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"setting {key!r} must be a non-empty string, got {value!r}")
    return value


def _severity(value: Any, key: str, base: Path) -> Severity:
    try:
        return Severity.parse(str(value))
    except ValueError as exc:
        raise ConfigError(f"setting {key!r}: {exc}") from None


def _str_list(value: Any, key: str, base: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"setting {key!r} must be a list of strings, got {value!r}")
    return tuple(value)


def _str_set(value: Any, key: str, base: Path) -> frozenset[str]:
    return frozenset(_str_list(value, key, base))


def _severity_map(value: Any, key: str, base: Path) -> Mapping[str, Severity]:
    if not isinstance(value, Mapping):
        raise ConfigError(f'setting {key!r} must be a table of rule = "error|warning|info", got {value!r}')
    return MappingProxyType({str(k): _severity(v, f"{key}.{k}", base) for k, v in value.items()})


def _str_map(value: Any, key: str, base: Path) -> Mapping[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"setting {key!r} must be a table of strings, got {value!r}")
    return MappingProxyType({str(k): str(v) for k, v in value.items()})


def _optional_path(value: Any, key: str, base: Path) -> Path | None:
    return None if value in (None, "") else _path(value, key, base)


PARSERS: Mapping[str, Callable[[Any, str, Path], Any]] = MappingProxyType(
    {
        "migrations": _optional_path,
        "layout": _choice(LAYOUTS),
        "pg_version": _int,
        "fail_on": _severity,
        "disable": _str_set,
        "severity": _severity_map,
        "exclude": _str_list,
        "transaction": _bool,
        "require_down": _bool,
        "require_timeouts": _bool,
        "contract_window_hours": _window_hours,
        "lint_gate_envs": _str_list,
        "contract_window_envs": _str_list,
        "lock_timeout": _str,
        "statement_timeout": _str,
        "lock_retries": _int,
        "lock_retry_backoff_seconds": _float,
        "runner_lock_wait_seconds": _float,
        "history_schema": _str,
        "marker_table": _str,
        "marker_schema": _str,
        "environments": _str_list,
        "vercel_env_map": _str_map,
        "node_env_map": _str_map,
        "node_env_default": _str,
        "schema_file": _optional_path,
        "shadow": _choice(SHADOW_PROVIDERS),
        "shadow_image": _str,
        "shadow_bindir": _optional_path,
        "cache": _bool,
        "cache_dir": _optional_path,
        "baseline": _optional_path,
    }
)

CONFIG_FILE_NAMES = ("migration-guard.toml", "pyproject.toml")
#: Parsers of values that TOML writes without quotes (numbers, booleans, lists).
_NOT_STRINGS = frozenset({_int, _float, _bool, _str_list, _str_set, _window_hours})


def _hint(word: Any, options: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def find_config_file(start: Path) -> Path | None:
    """Walk up from `start` to the filesystem root; return the first file holding our config."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        own = folder / "migration-guard.toml"
        pyproject = folder / "pyproject.toml"
        in_pyproject = (
            pyproject.is_file()
            and "tool" in (data := _read_toml(pyproject))
            and "migration-guard" in data["tool"]
        )
        if own.is_file() and in_pyproject:
            raise ConfigError(
                f"both {own} and [tool.migration-guard] in {pyproject} configure migration-guard; "
                "refusing to guess which one you meant",
                "keep one of them (or pass --config FILE)",
            )
        if own.is_file():
            return own
        if in_pyproject:
            return pyproject
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", "fix the syntax or pass --config") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None


def read_config_table(path: Path) -> dict[str, Any]:
    """The raw migration-guard table of a config file (empty when the section is absent)."""
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("migration-guard", {})
    else:
        table = data.get("tool", {}).get("migration-guard", data)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.migration-guard] must be a table")
    return table


def _apply(
    settings: Settings, raw: Mapping[str, Any], source: str, base: Path, *, from_file: bool = False
) -> Settings:
    changes: dict[str, Any] = {}
    sources = dict(settings.sources)
    for key, value in raw.items():
        norm = key.replace("-", "_")
        parser = PARSERS.get(norm)
        if parser is None:
            raise ConfigError(
                f"{source}: unknown setting {key!r}",
                _hint(norm, PARSERS) or "run `migration-guard config` to list settings",
            )
        changes[norm] = parser(value, norm, base)
        if from_file and isinstance(value, str) and parser in _NOT_STRINGS:
            # Flags arrive as text; a config file has real TOML types, so "15" is a mistake there.
            raise ConfigError(
                f"{source}: setting {key!r} is the string {value!r}; write it without quotes",
                f"e.g. {key} = {_unquoted(value, parser in (_str_list, _str_set))}",
            )
        sources[norm] = source
    return replace(settings, **changes, sources=MappingProxyType(sources))


def _unquoted(value: str, is_list: bool) -> str:
    if not is_list:
        return value.strip()
    return "[" + ", ".join(f'"{v.strip()}"' for v in value.split(",") if v.strip()) + "]"


def load_settings(
    start: Path | None = None,
    config_file: Path | None = None,
    overrides: Mapping[str, tuple[Any, str]] | None = None,
) -> Settings:
    """Defaults < config file < `overrides` ({key: (value, "--flag")}, e.g. from the CLI).

    `start` is where the config search begins (the migrations folder or the cwd).
    """
    settings = Settings()
    cwd = Path.cwd()
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file {config_file} does not exist", "check the --config path")
        path: Path | None = config_file
    else:
        path = find_config_file(start or cwd)
    if path is not None:
        settings = _apply(settings, read_config_table(path), path.name, path.parent, from_file=True)
        settings = replace(settings, config_path=path)
    for key, (value, source) in (overrides or {}).items():
        if value is None:
            continue
        settings = _apply(settings, {key: value}, source, cwd)
    _check_gate_envs(settings)
    return settings


#: Settings whose values must name configured environments.
GATE_ENV_KEYS = ("lint_gate_envs", "contract_window_envs")


def _check_gate_envs(settings: Settings) -> None:
    """Refuse a gate bound to an environment `environments` does not list: a typo such as
    `"production"` would otherwise switch the gate off where it matters."""
    for key in GATE_ENV_KEYS:
        for env in getattr(settings, key):
            if env not in settings.environments:
                raise ConfigError(
                    f"{settings.source_of(key)}: {key} names environment {env!r}, which is not in "
                    f"`environments` ({', '.join(settings.environments)})",
                    _hint(env, settings.environments)
                    or f"use one of {', '.join(settings.environments)}, or add it to `environments`",
                )


def check_rule_names(settings: Settings, known: Iterable[str]) -> None:
    """Refuse unknown rule ids in `disable` and `severity`, with a did-you-mean hint."""
    known_ids = set(known)
    for key, names in (("disable", settings.disable), ("severity", settings.severity.keys())):
        for name in sorted(names):
            if name not in known_ids:
                raise ConfigError(
                    f"{settings.source_of(key)}: {key} names unknown rule {name!r}",
                    _hint(name, known_ids) or "run `migration-guard rules` to list rule ids",
                )
