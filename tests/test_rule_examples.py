"""Each rule's examples, run through the rule's own check the way the engine runs it: the `bad`
example yields a hit, and the `good` example (the safe version of the bad one) reaches the check
(one of its statements is a fact the rule declares) and yields none.

Statement rules that still declare `heads` (not yet reading the statement model) are skipped
with a reason, never silently; rules judged outside the engine (`external`) and down-file rules
have their own tests.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from test_rule_registry import EXEMPT, EXPAND, example_settings

from guard.lint.context import FileContext
from guard.lint.directives import read_file_directives
from guard.lint.registry import all_rules
from guard.model import Hit, Migration, Rule
from guard.parsing import split_statements

RULES = [r for r in all_rules().values() if r.scope in ("statement", "file") and r.id not in EXEMPT]


def _run(rule: Rule, sql: str) -> tuple[list[Hit], bool]:
    """(hits of `rule` on `sql`, whether a statement reached its check), engine order: each
    statement is checked, then observed by the file context."""
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
    statements, comments = split_statements(sql)
    directives = read_file_directives(comments, all_rules().keys())
    ctx = FileContext(example_settings(sql), m, directives, [expand, m])
    assert rule.check is not None
    hits: list[Hit] = []
    reached = False
    for stmt in statements:
        if rule.scope == "statement" and type(stmt.fact) in rule.facts:
            reached = True
            hits.extend(rule.check(stmt, ctx))
        ctx.observe(stmt)
    if rule.scope == "file":
        reached = True
        hits.extend(rule.check(statements, ctx))
    return hits, reached


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_bad_example_hits_and_good_example_reaches_the_check_and_passes(rule: Rule) -> None:
    if rule.scope == "statement" and not rule.facts:
        pytest.skip(f"{rule.id} declares heads, not facts: not converted to the statement model yet")
    bad, bad_reached = _run(rule, rule.bad)
    assert bad_reached and bad, f"{rule.id}: the bad example yields no hit"
    good, good_reached = _run(rule, rule.good)
    assert good_reached, f"{rule.id}: no statement of the good example reaches the check"
    assert good == [], f"{rule.id}: the good example yields {[h.message for h in good]}"
