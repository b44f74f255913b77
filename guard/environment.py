"""Settings that come from the environment: dotenv files, DATABASE_URL, and the expected environment.

Pure functions over an `environ` mapping and a folder; the CLI passes `os.environ`
and the current directory. `.env` is read first, then `.env.local` (local
overrides), and the real process environment always wins. Files are read with
`dotenv_values`, so `os.environ` is never changed. Each value remembers where it
came from, because a refusal must say where its expectation came from.

`CONFIRM_PROD_MIGRATE` is deliberately not resolved here: the hard lock reads it
from the process environment only (see `guard.db.hardlock`). `DATABASE_URL` is
resolved here with its source, and a production run refuses any source but the
process environment (see `guard.gates.check_prod_settings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from guard.config import Settings
from guard.errors import ConfigError

DOTENV_FILES = (".env", ".env.local")
PROCESS = "process environment"


@dataclass(frozen=True)
class Sourced:
    """A value and where it came from ("process environment", ".env", ".env.local", "--env flag")."""

    value: str
    source: str


def read_dotenv_files(folder: Path) -> dict[str, dict[str, str]]:
    """{".env": {...}, ".env.local": {...}} for the files that exist in `folder` (keys without values dropped)."""
    from dotenv import dotenv_values

    found: dict[str, dict[str, str]] = {}
    for name in DOTENV_FILES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            raw = dotenv_values(path, interpolate=False)
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path}: cannot read dotenv file: {getattr(exc, 'strerror', None) or exc.__class__.__name__}",
                "fix the file's permissions or encoding (UTF-8), or remove it",
            ) from None
        found[name] = {k: v for k, v in raw.items() if v is not None}
    return found


def layered(environ: Mapping[str, str], dotenv: Mapping[str, Mapping[str, str]]) -> dict[str, Sourced]:
    """Every variable with its winning source: `.env` < `.env.local` < process environment."""
    merged: dict[str, Sourced] = {}
    for name in DOTENV_FILES:
        for key, value in dotenv.get(name, {}).items():
            merged[key] = Sourced(value, name)
    for key, value in environ.items():
        merged[key] = Sourced(value, PROCESS)
    return merged


def lookup(values: Mapping[str, Sourced], key: str) -> Sourced | None:
    """`values[key]` when set to something other than the empty string (an empty variable counts as unset)."""
    found = values.get(key)
    return found if found is not None and found.value != "" else None


def expected_environment(
    settings: Settings, values: Mapping[str, Sourced], flag: str | None = None
) -> Sourced:
    """The environment the target database must be marked as, and why.

    An explicit flag wins; otherwise `VERCEL_ENV` when present (mapped through
    `vercel_env_map`); otherwise `NODE_ENV` (mapped through `node_env_map`, any
    other value or none giving `node_env_default`). A value that maps to nothing
    known is refused rather than guessed.
    """
    allowed = settings.environments
    if flag is not None:
        if flag not in allowed:
            raise ConfigError(
                f"--env {flag!r} is not a configured environment ({', '.join(allowed)})",
                "pass one of the environments listed in the `environments` setting",
            )
        return Sourced(flag, "--env flag")
    vercel = lookup(values, "VERCEL_ENV")
    if vercel is not None:
        mapped = settings.vercel_env_map.get(vercel.value)
        if mapped is None:
            raise ConfigError(
                f"VERCEL_ENV={vercel.value!r} ({vercel.source}) has no mapping in `vercel_env_map` "
                f"({', '.join(f'{k}->{v}' for k, v in settings.vercel_env_map.items())})",
                "pass --env explicitly or add the value to `vercel_env_map` in the config",
            )
        return _checked(
            Sourced(mapped, f"VERCEL_ENV={vercel.value} ({vercel.source})"), allowed, "vercel_env_map"
        )
    node = lookup(values, "NODE_ENV")
    if node is None:
        return _checked(
            Sourced(settings.node_env_default, f"NODE_ENV unset (default {settings.node_env_default})"),
            allowed,
            "node_env_default",
        )
    mapped = settings.node_env_map.get(node.value)
    if mapped is None:
        return _checked(
            Sourced(
                settings.node_env_default,
                f"NODE_ENV={node.value} ({node.source}), default {settings.node_env_default}",
            ),
            allowed,
            "node_env_default",
        )
    return _checked(Sourced(mapped, f"NODE_ENV={node.value} ({node.source})"), allowed, "node_env_map")


def _checked(found: Sourced, allowed: tuple[str, ...], key: str) -> Sourced:
    if found.value not in allowed:
        raise ConfigError(
            f"{found.source} maps to environment {found.value!r}, which is not in `environments` ({', '.join(allowed)})",
            f"fix `{key}` or `environments` in the config, or pass --env",
        )
    return found
