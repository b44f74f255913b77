"""The rule registry: every record is complete, and its bad example fires it while its good one fires nothing.

The walk covers every family. Examples run as the up file of a Hasura migration
(version 20240102000000) with a real down file, after an earlier migration
20240101090000, so examples may use `-- guard: contract 20240101090000`. Example
lines `-- <setting> = <value>` at the top set settings; `-- after: <SQL> [in an
earlier migration]` lines put SQL in that earlier migration.
Rules whose findings come from elsewhere (scope `external`: discovery,
suppressions, git) and rules about down files are exempt here and tested in
their own modules.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from guard.config import Settings
from guard.lint.engine import lint_migration
from guard.lint.registry import all_rules
from guard.model import Migration, Rule, Severity

#: Judged from the down file or the migration as a whole: tested in test_rules_reversibility.py.
EXEMPT = {"require-down-migration", "avoid-noop-down-migration"}
#: Rules a bad example may legitimately fire besides its own (the same statement breaks both).
ALSO_FIRES: dict[str, set[str]] = {
    # A backfill without WHERE under ACCESS EXCLUSIVE is both unbounded and lock-holding.
    "hold-access-exclusive": {"require-where-clause"},
}
_SETTING_LINE = re.compile(r"^--\s*([a-z_]+)\s*=\s*(\S+)\s*$")

KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
EXPAND = Migration(
    version="20240101090000",
    name="expand",
    layout="hasura",
    up_path=Path("migrations/20240101090000_expand/up.sql"),
    up_sql="CREATE TABLE example (id bigint PRIMARY KEY);",
    down_path=Path("migrations/20240101090000_expand/down.sql"),
    down_sql="DROP TABLE example;",
)


def example_settings(sql: str) -> Settings:
    """Settings for an example: leading `-- <setting> = <value>` lines override the defaults."""
    from dataclasses import replace

    from guard.config import PARSERS

    changes = {}
    for line in sql.splitlines():
        m = _SETTING_LINE.match(line.strip())
        if not m or m.group(1) not in PARSERS:
            break
        changes[m.group(1)] = PARSERS[m.group(1)](m.group(2), m.group(1), Path.cwd())
    return replace(Settings(), **changes)


def example_migrations(sql: str) -> tuple[Migration, Migration]:
    """(the earlier migration, with the example's `-- after:` SQL; the example as the up file of a
    migration with a real down)."""
    from dataclasses import replace

    earlier = [
        line.split(":", 1)[1].split(" in an earlier migration")[0]
        for line in sql.splitlines()
        if line.strip().startswith("-- after:")
    ]
    expand = replace(EXPAND, up_sql=";\n".join([EXPAND.up_sql, *earlier])) if earlier else EXPAND
    m = Migration(
        version="20240102000000",
        name="example",
        layout="hasura",
        up_path=Path("migrations/20240102000000_example/up.sql"),
        up_sql=sql,
        down_path=Path("migrations/20240102000000_example/down.sql"),
        down_sql="DROP TABLE IF EXISTS example_undo;",
    )
    return expand, m


def lint_example(sql: str) -> list[str]:
    """Rule ids fired by `sql` as the up file of a migration with a real down."""
    expand, m = example_migrations(sql)
    return [f.rule for f in lint_migration(m, example_settings(sql), [expand, m])]


RULES = list(all_rules().values())
WALKED = [r for r in RULES if r.scope != "external" and r.id not in EXEMPT]


def test_registry_is_not_empty_and_has_the_core_families() -> None:
    families = {r.family for r in RULES}
    assert {"meta", "destructive", "reversibility"} <= families


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_record_is_complete(rule: Rule) -> None:
    assert KEBAB.match(rule.id), f"{rule.id}: ids are kebab-case advice like `avoid-drop-table`"
    assert isinstance(rule.severity, Severity)
    for field in ("summary", "why", "fix", "bad", "good", "family"):
        assert getattr(rule, field).strip(), f"{rule.id}: empty {field}"
    assert "\n" not in rule.summary, f"{rule.id}: summary must be one line"
    assert rule.scope in ("statement", "file", "external")
    if rule.scope != "external":
        assert rule.check is not None
    assert rule.scope != "statement" or rule.facts, f"{rule.id}: a statement rule names the facts it judges"


@pytest.mark.parametrize("rule", WALKED, ids=lambda r: r.id)
def test_bad_example_fires_its_rule_and_only_it(rule: Rule) -> None:
    fired = lint_example(rule.bad)
    assert rule.id in fired, f"{rule.id}: bad example fired {fired}"
    others = set(fired) - {rule.id} - ALSO_FIRES.get(rule.id, set())
    assert others == set(), f"{rule.id}: bad example also fired {sorted(others)}"


@pytest.mark.parametrize("rule", WALKED, ids=lambda r: r.id)
def test_good_example_fires_nothing(rule: Rule) -> None:
    assert lint_example(rule.good) == [], f"{rule.id}: good example is not clean"


def test_rules_command_lists_every_rule() -> None:
    from click.testing import CliRunner

    from guard.cli import cli

    out = CliRunner().invoke(cli, ["rules"])
    assert out.exit_code == 0
    for r in RULES:
        assert r.id in out.output
    as_json = CliRunner().invoke(cli, ["rules", "--format", "json"])
    import json

    assert {d["id"] for d in json.loads(as_json.output)} == {r.id for r in RULES}


@pytest.mark.parametrize("rule_id", ["avoid-drop-column", "require-down-migration", "unanalysed-statement"])
def test_explain_prints_the_record(rule_id: str) -> None:
    from click.testing import CliRunner

    from guard.cli import cli

    rule = all_rules()[rule_id]
    out = CliRunner().invoke(cli, ["explain", rule_id])
    assert out.exit_code == 0
    assert out.output.startswith(f"{rule_id} ({rule.severity}, {rule.family})")
    assert "Why this is dangerous:" in out.output and rule.bad.splitlines()[0] in out.output
    as_json = CliRunner().invoke(cli, ["explain", rule_id, "--format", "json"])
    import json

    assert json.loads(as_json.output)["id"] == rule_id


def test_explain_unknown_rule_is_exit_2_with_did_you_mean() -> None:
    from click.testing import CliRunner

    from guard.cli import cli

    out = CliRunner().invoke(cli, ["explain", "avoid-drop-colum"])
    assert out.exit_code == 2
    assert "did you mean 'avoid-drop-column'" in out.output
    assert "Traceback" not in out.output


def _facts(sql: str) -> list[object]:
    from guard.parsing import split_statements

    return [s.fact for s in split_statements(sql)[0] if not s.text.lstrip().startswith("--")]


def _names(value: object) -> set[str]:
    """Every object name a fact mentions (tables, columns, indexes, ...)."""
    from guard.sql.facts import Name
    from guard.sql.record import fields, is_record

    if isinstance(value, Name):
        return {value.key} if value.key else set()
    if is_record(value):
        return set().union(*(_names(getattr(value, f.name)) for f in fields(value)))
    if isinstance(value, tuple):
        return set().union(*(_names(v) for v in value))
    return set()


@pytest.mark.parametrize("rule", [r for r in WALKED if r.facts], ids=lambda r: r.id)
def test_good_example_reaches_the_check_and_is_the_safe_version_of_bad(rule: Rule) -> None:
    """The good example is a statement the rule judges (so it proves the check passes it), about
    the same objects as the bad one: the safe way to do the same change."""
    good = _facts(rule.good)
    assert any(type(f) in rule.facts for f in good), (
        f"{rule.id}: no statement of the good example is a {sorted(k.__name__ for k in rule.facts)}"
    )
    shared = _names(tuple(good)) & _names(tuple(_facts(rule.bad)))
    assert shared, f"{rule.id}: the good example is about other objects than the bad one"
