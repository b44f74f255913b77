"""Each rule's own examples, run through that rule alone: `bad` yields a hit, and `good` reaches the
rule's check (a statement whose fact the rule declares, or any statement for a rule that judges
every one) and yields none.

Every statement and file rule is collected.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from test_rule_registry import EXEMPT, example_migrations, example_settings

from guard.lint.engine import lint_migration
from guard.lint.registry import all_rules
from guard.model import Rule

RULES = [r for r in all_rules().values() if r.scope in ("statement", "file") and r.id not in EXEMPT]


def _run(rule: Rule, sql: str) -> tuple[list[str], list[Any]]:
    """(ids of the rule's findings, facts of the statements its check saw) for `sql` as an up file."""
    seen: list[Any] = []
    assert rule.check is not None
    check = rule.check

    def spy(subject: Any, ctx: Any) -> Any:
        seen.extend([subject] if rule.scope == "statement" else subject)
        return check(subject, ctx)

    expand, m = example_migrations(sql)
    findings = lint_migration(m, example_settings(sql), [expand, m], rules=[replace(rule, check=spy)])
    return [f.rule for f in findings if f.rule == rule.id], [s.fact for s in seen]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_bad_example_yields_a_hit_and_good_reaches_the_check_without_one(rule: Rule) -> None:
    hits, _ = _run(rule, rule.bad)
    assert hits, f"{rule.id}: its bad example yields no hit"
    hits, seen = _run(rule, rule.good)
    assert hits == [], f"{rule.id}: its good example yields {len(hits)} hit(s)"
    # A rule declaring no facts judges every statement.
    reached = [fact for fact in seen if not rule.facts or type(fact) in rule.facts]
    assert reached, f"{rule.id}: no statement of the good example reaches the check"
