"""Rules read a statement one way: its fact (`Statement.fact`, the typed model of `guard.sql`).

The statement's other readings (`head`, `lead`, `tokens`, `ast`, `derived`, ...) belong to the
readers below the rules. The one exception is the protected-object check, which asks the
runner's own name scan (`guard.lint.protected.statement_touches`): a protected name can hide
where no statement model looks (a view's query, an `EXECUTE`d string), and lint must refuse
exactly what the runner refuses.
"""

from __future__ import annotations

import ast
from pathlib import Path

import guard

RULES = Path(guard.__file__).resolve().parent / "lint" / "rules"
#: Readings of a statement other than its fact.
OTHER_READINGS = frozenset({"head", "lead", "tokens", "ast", "derived", "parse_error"})


def other_readings(source: str) -> list[tuple[int, str]]:
    """(line, attribute) of every access to a statement reading other than `.fact`."""
    return [
        (node.lineno, node.attr)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr in OTHER_READINGS
    ]


def test_rules_read_statements_only_through_their_fact() -> None:
    found = {
        path.name: hits for path in sorted(RULES.glob("*.py")) if (hits := other_readings(path.read_text()))
    }
    assert found == {}


def test_the_check_sees_other_readings() -> None:
    assert other_readings("def f(stmt):\n    return stmt.head == 'DROP' or stmt.fact\n") == [(2, "head")]
