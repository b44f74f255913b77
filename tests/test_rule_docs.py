"""docs/rules.md is generated from the rule records and must not be stale; every record is complete;
each lock-safety rule's bad example fires it and its good example does not."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from rules_helpers import LOCK_FAMILIES, fired

from guard.lint.registry import all_rules
from guard.report.ruledoc import rules_markdown

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "rules.md"
_SETTING = re.compile(r"^-- (pg_version|require_timeouts) = (\S+)$", re.M)


def test_rules_md_is_up_to_date() -> None:
    expected = rules_markdown(all_rules().values())
    expected = expected if expected.endswith("\n") else expected + "\n"
    assert DOC.read_text(encoding="utf-8") == expected, "run `python scripts/gen_rule_docs.py`"


def test_generator_check_mode() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_rule_docs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_every_rule_has_a_section_and_all_families_appear() -> None:
    text = DOC.read_text(encoding="utf-8")
    rules = all_rules()
    for rule_id in rules:
        assert f"## `{rule_id}`" in text
    for family in {r.family for r in rules.values()}:
        assert f"| {family} |" in text


@pytest.mark.parametrize("rule_id", sorted(all_rules()))
def test_rule_record_is_complete(rule_id: str) -> None:
    r = all_rules()[rule_id]
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r.id)
    for field in ("summary", "why", "fix", "bad", "good", "family"):
        assert getattr(r, field).strip(), f"{rule_id}: empty {field}"


def _settings_in(example: str) -> dict[str, object]:
    """Examples state the settings they need as `-- pg_version = 14` comments, and SQL of an
    earlier migration as `-- after: <SQL> in an earlier migration` lines."""
    out: dict[str, object] = {}
    for key, value in _SETTING.findall(example):
        out[key] = int(value) if key == "pg_version" else value == "true"
    earlier = tuple(
        line.split(":", 1)[1].split(" in an earlier migration")[0]
        for line in example.splitlines()
        if line.strip().startswith("-- after:")
    )
    if earlier:
        out["earlier"] = earlier
    return out


LOCK_RULES = sorted(r.id for r in all_rules().values() if r.family in LOCK_FAMILIES)


@pytest.mark.parametrize("rule_id", LOCK_RULES)
def test_bad_example_fires_exactly_its_rule(rule_id: str) -> None:
    r = all_rules()[rule_id]
    got = fired(r.bad, **_settings_in(r.bad))
    assert rule_id in got
    # hygiene warnings may ride along on a bad example; no other error-level lock rule may
    errors = {g for g in got if all_rules()[g].severity.name == "ERROR"}
    assert errors <= {rule_id}, errors


@pytest.mark.parametrize("rule_id", LOCK_RULES)
def test_good_example_fires_nothing(rule_id: str) -> None:
    r = all_rules()[rule_id]
    assert fired(r.good, **_settings_in(r.good)) == set()
