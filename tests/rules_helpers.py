"""Lint a SQL snippet as one migration and return the rule ids that fired (helper for rule tests)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

from guard.config import Settings
from guard.lint.engine import lint_migration
from guard.lint.facts.column_types import column_types_of
from guard.lint.registry import all_rules
from guard.model import Finding, Migration
from guard.parsing import split_statements
from guard.sql.types import TypeSpec


def migration(sql: str, version: str = "20240102000000", transaction: bool | None = None) -> Migration:
    """A Hasura-like migration holding `sql` as its up file (with a trivial down)."""
    return Migration(
        version=version,
        name="m",
        layout="hasura",
        up_path=Path(f"{version}_m/up.sql"),
        up_sql=sql,
        down_path=Path(f"{version}_m/down.sql"),
        down_sql="SELECT 1;",
        transaction=transaction,
    )


def lint_sql(
    sql: str, *, earlier: tuple[str, ...] = (), layout_transaction: bool | None = None, **settings: object
) -> list[Finding]:
    """Findings for `sql`, with `earlier` migrations before it and settings overridden.

    `layout_transaction=False` is what a layout says for one file (dbmate `transaction:false`).
    """
    s = replace(Settings(), **settings)  # type: ignore[arg-type]
    before = [migration(text, f"2023010100000{i}") for i, text in enumerate(earlier)]
    m = migration(sql, transaction=layout_transaction)
    return lint_migration(m, s, [*before, m])


#: The families these helpers report on (lock safety); other families have their own tests.
LOCK_FAMILIES = frozenset({"locking", "constraints", "rewrites", "transactions", "hygiene"})


def fired(sql: str, **kw: object) -> set[str]:
    """Lock-safety rule ids that fired on `sql`."""
    rules = all_rules()
    return {
        f.rule
        for f in lint_sql(sql, **kw)  # type: ignore[arg-type]
        if f.rule in rules and rules[f.rule].family in LOCK_FAMILIES
    }


@cache
def column_types(sql: str) -> dict[tuple[str, str], TypeSpec]:
    """The reference the linear readers are checked against: every (table, column) -> type that
    `sql` declares or changes, last one wins, read from the whole text afresh."""
    return column_types_of(split_statements(sql)[0])
