"""Expected-environment derivation and dotenv precedence (pure: environ mappings and temp folders)."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.config import Settings, load_settings
from guard.environment import PROCESS, expected_environment, layered, lookup, read_dotenv_files
from guard.errors import ConfigError
from guard.gates import resolve_runtime


def _values(environ: dict[str, str], folder: Path | None = None) -> dict:
    return layered(environ, read_dotenv_files(folder) if folder else {})


@pytest.mark.parametrize(
    ("environ", "flag", "env", "source"),
    [
        ({}, None, "dev", "NODE_ENV unset (default dev)"),
        ({"NODE_ENV": "production"}, None, "prod", "NODE_ENV=production (process environment)"),
        ({"NODE_ENV": "development"}, None, "dev", "NODE_ENV=development (process environment), default dev"),
        ({"NODE_ENV": "test"}, None, "dev", "NODE_ENV=test (process environment), default dev"),
        ({"NODE_ENV": "Production"}, None, "dev", "NODE_ENV=Production (process environment), default dev"),
        ({"NODE_ENV": ""}, None, "dev", "NODE_ENV unset (default dev)"),
        ({"VERCEL_ENV": "production"}, None, "prod", "VERCEL_ENV=production (process environment)"),
        ({"VERCEL_ENV": "preview"}, None, "dev", "VERCEL_ENV=preview (process environment)"),
        ({"VERCEL_ENV": "development"}, None, "dev", "VERCEL_ENV=development (process environment)"),
        # VERCEL_ENV wins over NODE_ENV (Vercel sets NODE_ENV=production on preview builds too).
        (
            {"VERCEL_ENV": "preview", "NODE_ENV": "production"},
            None,
            "dev",
            "VERCEL_ENV=preview (process environment)",
        ),
        (
            {"VERCEL_ENV": "production", "NODE_ENV": "development"},
            None,
            "prod",
            "VERCEL_ENV=production (process environment)",
        ),
        # The explicit flag wins over everything.
        ({"VERCEL_ENV": "production", "NODE_ENV": "production"}, "dev", "dev", "--env flag"),
        ({}, "prod", "prod", "--env flag"),
    ],
)
def test_expected_environment_table(environ: dict[str, str], flag: str | None, env: str, source: str) -> None:
    found = expected_environment(Settings(), _values(environ), flag)
    assert (found.value, found.source) == (env, source)


def test_unknown_vercel_env_is_refused_not_guessed() -> None:
    with pytest.raises(ConfigError, match=r"VERCEL_ENV='staging'.*vercel_env_map"):
        expected_environment(Settings(), _values({"VERCEL_ENV": "staging"}))


def test_flag_outside_configured_environments_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"--env 'production' is not a configured environment"):
        expected_environment(Settings(), _values({}), "production")


def test_configured_maps_are_used(tmp_path: Path) -> None:
    (tmp_path / "migration-guard.toml").write_text(
        'environments = ["dev", "staging", "prod"]\n'
        'vercel_env_map = { production = "prod", preview = "staging" }\n'
        'node_env_map = { production = "prod", staging = "staging" }\n'
    )
    settings = load_settings(tmp_path)
    assert expected_environment(settings, _values({"VERCEL_ENV": "preview"})).value == "staging"
    assert expected_environment(settings, _values({"NODE_ENV": "staging"})).value == "staging"
    with pytest.raises(ConfigError, match="vercel_env_map"):
        expected_environment(settings, _values({"VERCEL_ENV": "development"}))


def test_map_to_unconfigured_environment_is_refused(tmp_path: Path) -> None:
    (tmp_path / "migration-guard.toml").write_text('node_env_map = { production = "live" }\n')
    with pytest.raises(ConfigError, match="'live', which is not in `environments`"):
        expected_environment(load_settings(tmp_path), _values({"NODE_ENV": "production"}))


def test_dotenv_precedence_env_then_local_then_process(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://a@h/env\nNODE_ENV=production\nONLY_ENV=1\n")
    (tmp_path / ".env.local").write_text("DATABASE_URL=postgresql://a@h/local\nNODE_ENV=development\n")
    values = _values({}, tmp_path)
    assert (values["DATABASE_URL"].value, values["DATABASE_URL"].source) == (
        "postgresql://a@h/local",
        ".env.local",
    )
    assert (values["ONLY_ENV"].value, values["ONLY_ENV"].source) == ("1", ".env")
    assert expected_environment(Settings(), values).source == "NODE_ENV=development (.env.local), default dev"
    values = _values({"DATABASE_URL": "postgresql://a@h/process"}, tmp_path)
    assert (values["DATABASE_URL"].value, values["DATABASE_URL"].source) == (
        "postgresql://a@h/process",
        PROCESS,
    )


def test_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://a@h/env\n")
    values = _values({"DATABASE_URL": ""}, tmp_path)
    # The process environment wins, and an empty value is "not set", not a fallback to the file.
    assert lookup(values, "DATABASE_URL") is None


def test_dotenv_never_touches_process_environment(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    import os

    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://a@h/env\nNODE_ENV=production\n")
    runtime = resolve_runtime(Settings(), {}, tmp_path)
    assert runtime.database_url_source == ".env"
    assert runtime.expected_env == "prod"
    assert "DATABASE_URL" not in os.environ and "NODE_ENV" not in os.environ


def test_runtime_sources(tmp_path: Path) -> None:
    (tmp_path / ".env.local").write_text("DATABASE_URL=postgresql://u:pw@h/db\nCONFIRM_PROD_MIGRATE=YES\n")
    runtime = resolve_runtime(Settings(), {"VERCEL_ENV": "production"}, tmp_path)
    assert runtime.database_url_source == ".env.local"
    assert runtime.expected_source == "VERCEL_ENV=production (process environment)"
    # The lock value from the file is remembered for the refusal message, never used as the lock.
    assert runtime.confirm_prod is None
    assert runtime.confirm_prod_in_dotenv == "YES"
    assert runtime.dotenv_files == (".env.local",)
    flagged = resolve_runtime(
        Settings(),
        {"DATABASE_URL": "postgresql://x@h/p"},
        tmp_path,
        database_url="postgresql://f@h/d",
        env_flag="dev",
    )
    assert (flagged.database_url, flagged.database_url_source) == ("postgresql://f@h/d", "--database-url")
    assert flagged.expected_source == "--env flag"


def test_runtime_repr_hides_the_url() -> None:
    runtime = resolve_runtime(
        Settings(), {"DATABASE_URL": "postgresql://u:s3cr3t-pw@h/db"}, Path("/nonexistent")
    )
    assert "s3cr3t-pw" not in repr(runtime)


def test_unreadable_dotenv_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"DATABASE_URL=\xff\xfe\n")
    with pytest.raises(ConfigError, match="cannot read dotenv file"):
        read_dotenv_files(tmp_path)
