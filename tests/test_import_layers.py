"""The import graph of `guard`: no cycles, and the lint layers stack one way.

The graph is read from the source with `ast`, so it includes imports inside functions
(a lazy import is still a dependency); imports under `if TYPE_CHECKING:` are left out
(they never run). Importing `a.b.c` also imports the packages `a` and `a.b`
(but a module importing its own package is no cycle: Python imported that package first).

Layers of the lint, lowest first: readers of facts (`guard.sql`, `guard.lint.facts`,
context, schema index, DDL and lock readers), then the rules, then the per-file linter,
the pool and the engine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import guard

ROOT = Path(guard.__file__).resolve().parent

#: Modules below the rules: they read facts, the rules judge them.
LOWER = (
    "guard.sql",
    "guard.lint.facts",
    "guard.lint.context",
    "guard.lint.schema_index",
    "guard.lint.locks",
    "guard.lint.directives",
    "guard.parsing",
    "guard.tokens",
    "guard.model",
    "guard.paths",
)
RULES = "guard.lint.rules"
#: What runs the rules: nothing a rule (or a lower layer) imports.
ABOVE_RULES = ("guard.lint.lint_file", "guard.lint.pool", "guard.lint.engine")


def _modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package at `root`."""
    found = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """Dotted names an import statement (or a literal `importlib.import_module`) brings in."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, *([node.module] if node.module else [])])
        return [f"{base}.{a.name}" for a in node.names] + [base]
    if (
        isinstance(node, ast.Call)
        and ast.unparse(node.func).endswith("import_module")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return [node.args[0].value]
    return []


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (at any depth, TYPE_CHECKING aside)."""
    modules = _modules(root)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        pending: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
        while pending:
            node = pending.pop()
            for child in ast.iter_child_nodes(node):
                if _is_type_checking(child):
                    assert isinstance(child, ast.If)
                    pending.extend(child.orelse)
                    continue
                for name in _imported(child, module, is_package):
                    # `from a.b import c`: c is a module or a name in a.b.
                    target = name
                    while target and target not in modules:
                        target = target.rpartition(".")[0]
                    if target and target != module:
                        graph[module].add(target)
                    # Importing a.b.c also imports a and a.b, except the packages `module` is in
                    # (Python imported them first; `a/__init__` importing `a.x` is no cycle).
                    for parent in _parents(target):
                        if not _under(module, parent):
                            graph[module].add(parent)
                pending.append(child)
    return graph


def _parents(module: str) -> list[str]:
    """`a` and `a.b` for `a.b.c`."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))] if module else []


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if start in state:
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module importing `start` eventually imports."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _under(module: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_guard_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph(ROOT))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_layers_below_the_rules_never_import_them() -> None:
    graph = import_graph(ROOT)
    lower = [m for m in graph if _under(m, LOWER)]
    assert {p for p in LOWER if p in graph} == set(LOWER)  # every named layer still exists
    for module in lower:
        bad = sorted(m for m in reachable(graph, module) if _under(m, (RULES, *ABOVE_RULES)))
        assert not bad, f"{module} (below the rules) imports {bad}"


def test_rules_never_import_what_runs_them() -> None:
    graph = import_graph(ROOT)
    rules = [m for m in graph if _under(m, RULES)]
    assert len(rules) > 10
    for module in rules:
        bad = sorted(m for m in reachable(graph, module) if _under(m, ABOVE_RULES))
        assert not bad, f"rule module {module} imports {bad}"


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_the_checker_sees_cycles_through_function_level_and_relative_imports(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "a.py": "from pkg import b\n",
            "b.py": "def f():\n    from .c import thing\n",
            "c.py": "import pkg.a\nthing = 1\n",
        },
    )
    assert find_cycle(import_graph(root)) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]


def test_the_checker_sees_a_cycle_through_a_package_init(tmp_path: Path) -> None:
    root = _package(tmp_path, {"a.py": "import pkg.sub.b\n"})
    (root / "sub").mkdir()
    (root / "sub" / "__init__.py").write_text("from pkg.a import x\n")
    (root / "sub" / "b.py").write_text("from pkg.sub import y\n")  # its own package: no edge
    assert find_cycle(import_graph(root)) == ["pkg.a", "pkg.sub", "pkg.a"]


def test_the_checker_leaves_out_type_checking_imports(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "a.py": "from pkg.b import x\n",
            "b.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import y\n"
                "else:\n    import json\nx = 1\n"
            ),
        },
    )
    graph = import_graph(root)
    assert find_cycle(graph) is None
    assert graph["pkg.a"] == {"pkg.b"}  # (pkg, its own package, is no edge)
