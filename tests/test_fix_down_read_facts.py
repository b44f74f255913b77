"""`guard.fix` and `guard.down` read statements only through the typed statement model
(`Statement.fact`), never through sqlglot's tree or the token readings of a statement.

(`guard.sql.read_rows.inserted_rows` takes a fact, not a statement: it reads an `Insert`'s rows
from the text the fact keeps, for `down`, and is not one of the readers below.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("guard/fix", "guard/down")
#: Readings of a statement besides its fact.
READINGS = frozenset({"ast", "tokens", "words", "lead", "head", "derived"})
#: Modules that import a SQL reader of their own.
READERS = ("sqlglot", "guard.tokens", "guard.sql.read_text", "guard.sql.read_tree", "guard.sql.read")
#: (module, attribute) allowed, with the reason.
ALLOWED = {
    ("guard/down/text.py", "ast"): "checks that a drafted down (its own OUTPUT, not an up statement) parses",
}


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).glob("*.py"))


def _readings(source: str) -> list[tuple[str, int]]:
    tree = ast.parse(source)
    return [
        (node.attr, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in READINGS
    ]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
            out += [f"{node.module}.{a.name}" for a in node.names]
    return out


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_statements_are_read_through_their_fact(path: Path) -> None:
    module = str(path.relative_to(ROOT))
    source = path.read_text(encoding="utf-8")
    found = [(attr, line) for attr, line in _readings(source) if (module, attr) not in ALLOWED]
    assert found == [], f"{module} reads statements besides `.fact`: {found}"
    readers = [
        m
        for m in _imports(path)
        if any(m == r or m.startswith(r + ".") for r in READERS) and (module, "ast") not in ALLOWED
    ]
    assert readers == [], f"{module} imports a SQL reader of its own: {readers}"


def test_the_walk_finds_what_it_forbids() -> None:
    source = "def f(stmt):\n    return stmt.ast, stmt.fact, stmt.head, getattr(stmt, 'x').tokens\n"
    assert [attr for attr, _ in _readings(source)] == ["ast", "head", "tokens"]
    for (module, attr), reason in ALLOWED.items():
        assert reason and attr in {a for a, _ in _readings((ROOT / module).read_text(encoding="utf-8"))}
