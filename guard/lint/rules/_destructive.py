"""Shared helpers of the destructive families (drops, renames, data loss): the contract step, the
actions of an `ALTER TABLE` they judge, and the swap that keeps a renamed name working.

A migration marked `-- guard: contract <expand version>` naming an existing, earlier
migration is the contract step of expand -> migrate -> contract, and may drop, rename
and retype. Objects created earlier in the same file are new and unseen, so changing
them is always fine.
"""

from __future__ import annotations

from typing import TypeVar

from guard.lint.context import FileContext, contract_target
from guard.parsing import Statement
from guard.sql import facts as f

FAMILY = "destructive"
ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"

_A = TypeVar("_A", bound=f.Action)


def is_contract_step(ctx: FileContext) -> bool:
    """True when this file is the declared contract step of an existing, earlier expand migration."""
    return contract_target(ctx) is not None


def contract_hint(ctx: FileContext) -> str:
    """The sentence offering the contract directive, with this migration's version."""
    return (
        f"or, if the expand step already shipped, mark this migration `-- guard: contract <expand version>`"
        f" (this is {ctx.migration.version})"
    )


def table_actions(stmt: Statement, ctx: FileContext, *kinds: type[_A]) -> tuple[f.Name, list[_A]]:
    """(the table, its actions of `kinds`) of an `ALTER TABLE`; none when the table is new or this
    is a contract step."""
    fact = stmt.fact
    if not isinstance(fact, f.AlterTable) or is_contract_step(ctx) or ctx.is_new_table(fact.table.key):
        return f.NO_NAME, []
    return fact.table, [a for a in fact.actions if isinstance(a, kinds)]


#: Object kinds whose names share one namespace: a view can take a table's name, a domain a type's.
_NAMESPACE = {
    "table": "relation",
    "view": "relation",
    "materialized view": "relation",
    "foreign table": "relation",
    "sequence": "relation",
    "type": "type",
    "enum": "type",
    "domain": "type",
    "function": "function",
    "procedure": "function",
    "aggregate": "function",
    "routine": "function",
}


def namespace(kind: str) -> str:
    """The namespace an object kind's names live in (`relation`, `type`, `function`, or the kind)."""
    return _NAMESPACE.get(kind, kind)


def name_taken_again(stmt: Statement, ctx: FileContext, kind: str, key: str) -> bool:
    """True when a later statement of the same transaction gives `key` to another object of the
    namespace of `kind` (`CREATE VIEW key ...` or a rename to `key`): a swap, so the name never goes
    missing for the running release."""
    space = namespace(kind)
    for later in ctx.schema.statements(ctx.migration)[0][stmt.index + 1 :]:
        fact = later.fact
        if isinstance(fact, f.Transaction) and fact.action in ("commit", "rollback"):
            return False
        if _gives_name(fact, space, key):
            return True
    return False


def _gives_name(fact: f.Fact, space: str, key: str) -> bool:
    if isinstance(fact, f.CreateTable):
        return space == "relation" and fact.table.key == key
    if isinstance(fact, f.CreateObject):
        return namespace(fact.object_kind) == space and fact.name.key == key
    if isinstance(fact, f.Rename):
        return namespace(fact.object_kind) == space and fact.of is None and fact.new.key == key
    if isinstance(fact, f.AlterTable):
        return space == "relation" and any(
            isinstance(a, f.RenameTable) and a.new.key == key for a in fact.actions
        )
    return False
