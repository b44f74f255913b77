"""Render the effective settings as TOML that can be pasted into `migration-guard.toml`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(value: Any) -> str | None:
    """One value in TOML syntax; None for an unset value (TOML has no null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return json.dumps(str(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        # JSON's string escapes (\", \\, \n, \uXXXX) are all valid in TOML basic strings.
        return json.dumps(str(value))
    if isinstance(value, Mapping):
        items = ", ".join(f"{_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, frozenset | set):
        value = sorted(value, key=str)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(toml_value(v)) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name)


def render_settings(items: list[tuple[str, Any, str]], config_path: Path | None) -> str:
    """The settings as a TOML document, each line commented with where its value came from."""
    lines = [f"# config file: {config_path or '(none found)'}"]
    for key, value, source in items:
        rendered = toml_value(value)
        if rendered is None:
            lines.append(f"# {key} is not set  ({source})")
        else:
            lines.append(f"{key} = {rendered}  # {source}")
    return "\n".join(lines) + "\n"
