"""Config loading: file discovery, precedence and sources, strict keys with did-you-mean, value
validation, unknown rule ids, `migration-guard config`, and `--fail-on`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from guard.cli import cli
from guard.config import Settings, check_rule_names, load_settings
from guard.errors import ConfigError
from guard.model import Severity


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_gates_bind_in_prod_by_default_and_follow_the_config(tmp_path: Path) -> None:
    s = load_settings(tmp_path)
    assert s.lint_gate_envs == ("prod",) and s.contract_window_envs == ("prod",)
    write(
        tmp_path / "migration-guard.toml",
        'environments = ["dev", "staging", "prod"]\nlint_gate_envs = ["staging", "prod"]\n'
        "contract_window_envs = []\ncontract_window_hours = 0\n",
    )
    s = load_settings(tmp_path)
    assert s.lint_gate_envs == ("staging", "prod") and s.contract_window_envs == ()
    assert s.contract_window_hours == 0 and s.source_of("lint_gate_envs") == "migration-guard.toml"


def test_defaults_without_a_config_file(tmp_path: Path) -> None:
    s = load_settings(tmp_path)
    assert s.pg_version == 15 and s.fail_on is Severity.ERROR and s.transaction is True
    assert s.require_timeouts is False and s.config_path is None
    assert s.source_of("pg_version") == "default"


def test_pyproject_found_by_walking_up(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.migration-guard]\npg-version = 12\nlayout = "hasura"\n')
    deep = tmp_path / "db" / "migrations"
    deep.mkdir(parents=True)
    s = load_settings(deep)
    assert s.pg_version == 12 and s.layout == "hasura"
    assert s.source_of("pg_version") == "pyproject.toml"
    assert s.config_path == tmp_path / "pyproject.toml"


def test_pyproject_without_our_table_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.migration-guard]\npg_version = 13\n")
    write(tmp_path / "app" / "pyproject.toml", '[project]\nname = "x"\n')
    assert load_settings(tmp_path / "app").pg_version == 13


def test_explicit_config_file_and_missing_one(tmp_path: Path) -> None:
    cfg = write(tmp_path / "conf" / "guard.toml", 'fail_on = "warning"\n')
    assert load_settings(tmp_path, cfg).fail_on is Severity.WARNING
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path, tmp_path / "nope.toml")


def test_flags_override_the_file_and_record_their_source(tmp_path: Path) -> None:
    write(tmp_path / "migration-guard.toml", "pg_version = 12\n")
    s = load_settings(tmp_path, overrides={"pg_version": (16, "--pg-version"), "layout": (None, "--layout")})
    assert s.pg_version == 16 and s.source_of("pg_version") == "--pg-version"
    assert s.source_of("layout") == "default"


def test_all_issue_keys_are_accepted(tmp_path: Path) -> None:
    write(
        tmp_path / "migration-guard.toml",
        'migrations = "db/migrations"\nlayout = "dbmate"\npg_version = 11\nfail_on = "warning"\n'
        'disable = ["prefer-text"]\nexclude = ["**/seed_*"]\ntransaction = false\nrequire_down = false\n'
        'require_timeouts = true\n[severity]\nprefer-jsonb = "error"\n',
    )
    s = load_settings(tmp_path)
    assert s.migrations == tmp_path / "db" / "migrations"
    assert (s.layout, s.pg_version, s.fail_on) == ("dbmate", 11, Severity.WARNING)
    assert s.disable == frozenset({"prefer-text"}) and s.exclude == ("**/seed_*",)
    assert s.transaction is False and s.require_down is False and s.require_timeouts is True
    assert s.severity_of("prefer-jsonb", Severity.WARNING) is Severity.ERROR


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("pg_verison = 14\n", "unknown setting 'pg_verison'", "did you mean 'pg_version'?"),
        ("fail-onn = 'error'\n", "unknown setting", "did you mean 'fail_on'?"),
        ("zzzzzz = 1\n", "unknown setting 'zzzzzz'", "migration-guard config"),
        ('layout = "hasra"\n', "expected one of", "did you mean 'hasura'?"),
        ('pg_version = "fifteen"\n', "whole number", None),
        ("pg_version = true\n", "whole number", None),
        ('fail_on = "fatal"\n', "unknown severity", None),
        ("transaction = 3\n", "true or false", None),
        ("disable = [1, 2]\n", "list of strings", None),
        ('severity = "error"\n', "table of rule", None),
        ("pg_version = \n", "not valid TOML", None),
        ('lint_gate_envs = ["production"]\n', "names environment 'production'", "use one of dev, prod"),
        ('lint_gate_envs = ["prd"]\n', "names environment 'prd'", "did you mean 'prod'?"),
        (
            'contract_window_envs = ["qa"]\n',
            "not in `environments` (dev, prod)",
            "or add it to `environments`",
        ),
        ('contract_window_envs = ["prod"]\nenvironments = ["dev"]\n', "names environment 'prod'", None),
        ("contract_window_hours = -1\n", "0 or more", None),
        ('contract_window_hours = "nan"\n', "0 or more", None),
    ],
)
def test_bad_values_are_config_errors(tmp_path: Path, text: str, message: str, hint: str | None) -> None:
    write(tmp_path / "migration-guard.toml", text)
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    assert message in info.value.message
    if hint is not None:
        assert hint in (info.value.hint or "")


def test_unknown_rule_names_are_refused_with_a_hint(tmp_path: Path) -> None:
    write(tmp_path / "migration-guard.toml", 'disable = ["require-concurent-index"]\n')
    s = load_settings(tmp_path)
    with pytest.raises(ConfigError) as info:
        check_rule_names(s, ["require-concurrent-index", "prefer-text"])
    assert "unknown rule 'require-concurent-index'" in info.value.message
    assert "did you mean 'require-concurrent-index'?" in (info.value.hint or "")
    bad_severity = Settings(severity={"nope-rule": Severity.ERROR})
    with pytest.raises(ConfigError, match="severity names unknown rule"):
        check_rule_names(bad_severity, ["prefer-text"])


def _project(tmp_path: Path, config: str, sql: str) -> Path:
    write(tmp_path / "migration-guard.toml", config)
    mig = tmp_path / "migrations" / "20240101000000_a"
    write(mig / "up.sql", sql)
    write(mig / "down.sql", "ALTER TABLE users DROP COLUMN IF EXISTS payload;\n")
    return tmp_path / "migrations"


def test_config_command_prints_values_and_sources(tmp_path: Path) -> None:
    folder = _project(tmp_path, "pg_version = 12\n", "SELECT 1;\n")
    result = CliRunner().invoke(cli, ["config", str(folder), "--format", "json", "--layout", "hasura"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["config_file"].endswith("migration-guard.toml")
    assert doc["settings"]["pg_version"] == {"value": 12, "source": "migration-guard.toml"}
    assert doc["settings"]["layout"] == {"value": "hasura", "source": "--layout"}
    assert doc["settings"]["fail_on"] == {"value": "error", "source": "default"}
    text = CliRunner().invoke(cli, ["config", str(folder)])
    assert "pg_version = 12  # migration-guard.toml" in text.output
    assert 'layout = "auto"  # default' in text.output
    assert "transaction = true  # default" in text.output
    assert "# schema_file is not set  (default)" in text.output


def test_config_command_prints_toml_that_reads_back_to_the_same_settings(tmp_path: Path) -> None:
    import tomllib

    folder = _project(
        tmp_path,
        'pg_version = 14\ndisable = ["prefer-text"]\nseverity = { "prefer-text" = "warning" }\n'
        'node_env_map = { production = "prod", "my env" = "dev" }\nexclude = ["a\\"b"]\n',
        "SELECT 1;\n",
    )
    text = CliRunner().invoke(cli, ["config", str(folder)]).output
    doc = tomllib.loads(text)
    assert doc["pg_version"] == 14 and doc["transaction"] is True
    assert doc["disable"] == ["prefer-text"] and doc["severity"] == {"prefer-text": "warning"}
    assert doc["node_env_map"] == {"production": "prod", "my env": "dev"}
    assert doc["exclude"] == ['a"b']
    # Pasted back as a config file, it is accepted whole.
    (tmp_path / "again").mkdir()
    write(tmp_path / "again" / "migration-guard.toml", text)
    assert load_settings(tmp_path / "again").pg_version == 14


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ('pg_version = "15"\n', "pg_version = 15"),
        ('transaction = "false"\n', "transaction = false"),
        ('contract_window_hours = "24"\n', "contract_window_hours = 24"),
        ('disable = "prefer-text, prefer-bigint"\n', 'disable = ["prefer-text", "prefer-bigint"]'),
    ],
)
def test_quoted_numbers_booleans_and_lists_are_refused_in_a_file(
    tmp_path: Path, text: str, hint: str
) -> None:
    write(tmp_path / "migration-guard.toml", text)
    with pytest.raises(ConfigError, match="write it without quotes") as info:
        load_settings(tmp_path)
    assert hint in (info.value.hint or "")


def test_flags_still_take_text(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, overrides={"pg_version": ("16", "--pg-version")})
    assert settings.pg_version == 16


def test_both_config_files_are_an_error_naming_both(tmp_path: Path) -> None:
    write(tmp_path / "migration-guard.toml", "pg_version = 14\n")
    write(tmp_path / "pyproject.toml", "[tool.migration-guard]\npg_version = 16\n")
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    assert "migration-guard.toml" in info.value.message and "pyproject.toml" in info.value.message
    # A pyproject without our table is no conflict.
    write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    assert load_settings(tmp_path).pg_version == 14


def test_config_command_refuses_typos_with_exit_2(tmp_path: Path) -> None:
    folder = _project(tmp_path, "pg_verison = 12\n", "SELECT 1;\n")
    result = CliRunner().invoke(cli, ["config", str(folder)])
    assert result.exit_code == 2
    assert "unknown setting 'pg_verison'" in result.output and "did you mean 'pg_version'?" in result.output
    assert "Traceback" not in result.output


def test_lint_refuses_unknown_rule_in_config(tmp_path: Path) -> None:
    folder = _project(tmp_path, 'disable = ["prefer-jsonbb"]\n', "SELECT 1;\n")
    result = CliRunner().invoke(cli, ["lint", str(folder)])
    assert result.exit_code == 2 and "did you mean 'prefer-jsonb'?" in result.output


@pytest.mark.parametrize(
    ("config", "flags", "code"),
    [
        ("", [], 0),  # a warning does not fail by default
        ("", ["--fail-on", "warning"], 1),
        ('fail_on = "warning"\n', [], 1),
        ('fail_on = "warning"\n', ["--fail-on", "error"], 0),  # the flag overrides the file
        ('disable = ["prefer-jsonb"]\nfail_on = "warning"\n', [], 0),
        ('[severity]\nprefer-jsonb = "error"\n', [], 1),
    ],
)
def test_fail_on_and_rule_selection(tmp_path: Path, config: str, flags: list[str], code: int) -> None:
    folder = _project(tmp_path, config, "ALTER TABLE users ADD COLUMN payload json;\n")
    result = CliRunner().invoke(cli, ["lint", str(folder), "--layout", "hasura", *flags])
    assert result.exit_code == code, result.output


def test_pg_version_flag_changes_verdicts(tmp_path: Path) -> None:
    folder = _project(tmp_path, "", "ALTER TABLE users ADD COLUMN payload jsonb DEFAULT '{}';\n")
    assert CliRunner().invoke(cli, ["lint", str(folder), "--layout", "hasura"]).exit_code == 0
    old = CliRunner().invoke(cli, ["lint", str(folder), "--layout", "hasura", "--pg-version", "10"])
    assert old.exit_code == 1 and "avoid-volatile-default" in old.output
