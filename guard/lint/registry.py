"""The rule registry: a `@rule` decorator that turns a check function into a `Rule` record,
and `all_rules()` which collects every record from the rule modules once per process.

No module-level mutable state: the registry is computed from the modules' globals
and cached as a read-only mapping.
"""

from __future__ import annotations

import importlib
import textwrap
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from guard.config import Settings, check_rule_names
from guard.errors import ConfigError
from guard.model import Hit, Rule, Severity

#: Rule modules, one per family. Add a module here when adding a family.
RULE_MODULES = (
    "guard.lint.rules.meta",
    "guard.lint.rules.drops",
    "guard.lint.rules.renames",
    "guard.lint.rules.data_loss",
    "guard.lint.rules.reversibility",
    "guard.lint.rules.locking",
    "guard.lint.rules.constraints",
    "guard.lint.rules.not_null",
    "guard.lint.rules.rewrites",
    "guard.lint.rules.table_rewrites",
    "guard.lint.rules.transactions",
    "guard.lint.rules.hygiene",
    "guard.lint.rules.changeset",
    "guard.lint.rules.verification",
    "guard.lint.rules.protected",
)


def rule(
    *,
    id: str,
    severity: Severity,
    summary: str,
    why: str,
    fix: str,
    bad: str,
    good: str,
    family: str,
    facts: Iterable[type] = (),
    lock: str | None = None,
    scope: str = "statement",
    suppressible: bool = True,
) -> Callable[[Callable[..., Iterable[Hit]] | None], Rule]:
    """Declare a rule. Decorate the check function; the module global becomes the `Rule`.

    `scope` is `statement` (check(stmt, ctx) per statement), `file`
    (check(statements, ctx) once per up file) or `external` (findings are
    produced elsewhere, e.g. discovery or suppressions; no check function).
    """

    def wrap(check: Callable[..., Iterable[Hit]] | None) -> Rule:
        return Rule(
            id=id,
            severity=severity,
            summary=summary,
            why=textwrap.dedent(why).strip(),
            fix=textwrap.dedent(fix).strip(),
            bad=textwrap.dedent(bad).strip(),
            good=textwrap.dedent(good).strip(),
            family=family,
            facts=frozenset(facts),
            lock=lock,
            check=check,
            scope=scope,
            suppressible=suppressible,
        )

    return wrap


def external_rule(**meta: Any) -> Rule:
    """A rule whose findings come from outside the statement engine (discovery, suppressions, git)."""
    return rule(scope="external", **meta)(None)


@cache
def all_rules() -> Mapping[str, Rule]:
    """Every rule, by id, in declaration order. Raises on a duplicate id."""
    found: dict[str, Rule] = {}
    for name in RULE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a family not written yet
                continue
            raise
        for value in vars(module).values():
            if isinstance(value, Rule):
                if value.id in found and found[value.id] is not value:
                    raise RuntimeError(f"duplicate rule id {value.id!r} in {name}")
                found[value.id] = value
    return MappingProxyType(found)


def selected_rules(settings: Settings) -> list[Rule]:
    """Rules enabled by the settings, with unknown ids in the config refused, and rules that
    cannot be silenced refused in `disable` and `severity`."""
    rules = all_rules()
    check_rule_names(settings, rules.keys())
    for key, names in (("disable", settings.disable), ("severity", settings.severity.keys())):
        locked = sorted(n for n in names if not rules[n].suppressible)
        if locked:
            raise ConfigError(
                f"{settings.source_of(key)}: {key} names {', '.join(locked)}, which cannot be "
                "disabled or lowered: it keeps migrations away from what only migration-guard may change",
                f"remove {', '.join(locked)} from {key}",
            )
    return [r for r in rules.values() if r.id not in settings.disable]
