"""Shared helpers of the destructive families (drops, renames, data loss): the contract step.

A migration marked `-- guard: contract <expand version>` naming an existing, earlier
migration is the contract step of expand -> migrate -> contract, and may drop, rename
and retype. Objects created earlier in the same file are new and unseen, so changing
them is always fine.
"""

from __future__ import annotations

from guard.lint.context import FileContext, contract_target
from guard.lint.rules import _shapes
from guard.parsing import Statement

FAMILY = "destructive"
ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"


def is_contract_step(ctx: FileContext) -> bool:
    """True when this file is the declared contract step of an existing, earlier expand migration."""
    return contract_target(ctx) is not None


def contract_hint(ctx: FileContext) -> str:
    """The sentence offering the contract directive, with this migration's version."""
    return (
        f"or, if the expand step already shipped, mark this migration `-- guard: contract <expand version>`"
        f" (this is {ctx.migration.version})"
    )


def table_actions(
    stmt: Statement, ctx: FileContext, kinds: tuple[str, ...]
) -> tuple[str, list[_shapes.Action]]:
    """(table as written, its actions of `kinds`) unless the table is new or this is a contract step."""
    if is_contract_step(ctx):
        return "", []
    if stmt.lead[:2] != ("ALTER", "TABLE"):
        return "", []  # ALTER TYPE, ALTER FUNCTION, ...: no need to tokenize
    # Several rules read the same action list: read it once per statement.
    alter = stmt.derived("shapes.alter_table", lambda s: _shapes.read_alter_table(s.tokens))
    if alter is None or ctx.is_new_table(alter.table.key):
        return "", []
    return alter.table.shown, [a for a in alter.actions if a.kind in kinds]
