"""Expand/contract recipes: a rename or type change becomes an expand migration now (new column
or view, kept in sync), a batched backfill, and a contract stub that carries `-- guard: contract`,
preconditions, and the application step as a comment."""

from __future__ import annotations

from guard.fix import read
from guard.fix.model import CONTRACT, Context, Result, StatementFix, Step, unreadable
from guard.sql import safe_sql as sql


def _expand_contract(
    table: str, old: str, new: str, new_type: str, old_type: str, what: str, *, old_not_null: bool
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[Step, ...]]:
    """Expand (new column + sync trigger), batched backfill, contract stub dropping the old column."""
    bare_old, bare_new = old.strip('"'), new.strip('"')
    function = sql.derived_name(table, f"sync_{bare_new}", suffix="fn")
    trigger = sql.derived_name(table, f"sync_{bare_new}", suffix="trg")
    to_new = f"CAST({sql.name(old)} AS {new_type})" if new_type != old_type else sql.name(old)
    now = (
        sql.add_column(table, new, new_type),
        sql.sync_function(function, old, new, new_type=new_type, old_type=old_type),
        sql.sync_trigger(trigger, table, function),
    )
    undo = (sql.drop_trigger(trigger, table), sql.drop_function(function), sql.drop_column(table, new))
    backfill = Step(
        slug=f"backfill_{bare_new}",
        up=(sql.batched_backfill(table, new, to_new, source=old),),
        # The sync trigger would copy the values straight back: it is off while the copies go.
        down=(
            sql.set_trigger_enabled(table, trigger, enabled=False),
            sql.clear_column(table, new),
            sql.set_trigger_enabled(table, trigger, enabled=True),
        ),
        no_transaction=True,
        header=(f"-- Copies {bare_old} into {bare_new} for existing rows, {sql.BATCH_ROWS} at a time.",),
    )
    back = f"CAST({sql.name(new)} AS {old_type})" if new_type != old_type else sql.name(new)
    contract = Step(
        slug=f"contract_{bare_old}",
        up=(sql.drop_trigger(trigger, table), sql.drop_function(function), sql.drop_column(table, old)),
        down=(
            sql.add_column(table, old, old_type),
            sql.copy_where_null(table, old, back, new),
            *((sql.set_not_null(table, old),) if old_not_null else ()),
            sql.sync_function(function, old, new, new_type=new_type, old_type=old_type),
            sql.sync_trigger(trigger, table, function),
        ),
        header=(
            CONTRACT,
            f"-- guard: precondition {sql.no_unsynced_rows(table, old, new)}",
            f"-- guard: precondition {sql.no_dependents(table, old)}",
            f"-- Contract step of {what}. Application step, before this migration runs: deploy the",
            f"-- release that reads and writes {bare_new} and no longer uses {bare_old}. The second",
            f"-- precondition refuses to run while a constraint or index still uses {bare_old}: move it first.",
        ),
    )
    return now, undo, (backfill, contract)


def rename_column(ctx: Context) -> Result:
    """`RENAME COLUMN a TO b` -> expand (add b, sync trigger), batched backfill, contract stub dropping a."""
    act = read.read_table_action(ctx.statement)
    if act is None or act.kind != "rename-column":
        return unreadable("RENAME COLUMN")
    col_type = ctx.column_type(act.table, act.column)
    if col_type is None:
        return f"the type of {act.table}.{act.column} is not declared in an earlier migration"
    now, undo, later = _expand_contract(
        act.table,
        act.column,
        act.other,
        col_type,
        col_type,
        f"renaming {act.table}.{act.column} to {act.other}",
        old_not_null=ctx.column_not_null(act.table, act.column),
    )
    return StatementFix(
        ("avoid-rename-column",),
        f"expand: {act.other} added and kept in sync; backfill and contract stub follow",
        now,
        undo,
        keeps_down=False,
        later=later,
    )


def change_type(ctx: Context) -> Result:
    """`ALTER COLUMN c TYPE t` -> expand (add c_new of type t, sync trigger), backfill, contract stub dropping c."""
    act = read.read_table_action(ctx.statement)
    if act is None or act.kind != "type":
        return unreadable("ALTER COLUMN ... TYPE without USING")
    old_type = ctx.column_type(act.table, act.column)
    if old_type is None:
        return f"the type of {act.table}.{act.column} is not declared in an earlier migration"
    new = sql.derived_name(act.column, suffix="new")
    now, undo, later = _expand_contract(
        act.table,
        act.column,
        new,
        act.other,
        old_type,
        f"changing {act.table}.{act.column} to {act.other}",
        old_not_null=ctx.column_not_null(act.table, act.column),
    )
    return StatementFix(
        ("avoid-column-type-change", "avoid-type-change-rewrite"),
        f"expand: {new} of the new type added and kept in sync (the new column keeps its name); "
        "backfill and contract stub follow",
        now,
        undo,
        keeps_down=False,
        later=later,
    )


def rename_table(ctx: Context) -> Result:
    """`ALTER TABLE a RENAME TO b` -> rename plus a view named a; contract stub drops the view."""
    act = read.read_table_action(ctx.statement)
    if act is None or act.kind != "rename-table" or "." in act.other:
        return unreadable("ALTER TABLE ... RENAME TO")
    schema = act.table.rsplit(".", 1)[0] + "." if "." in act.table else ""
    new = schema + act.other
    contract = Step(
        slug=f"contract_{act.table.split('.')[-1].strip(chr(34))}_view",
        up=(sql.drop_view(act.table),),
        down=(sql.create_view(act.table, new),),
        header=(
            CONTRACT,
            f"-- Contract step of renaming {act.table} to {new}. Application step, before this migration",
            f"-- runs: deploy the release that uses {new} and no longer uses {act.table}.",
        ),
    )
    return StatementFix(
        ("avoid-rename-table",),
        "renamed, with an updatable view under the old name; contract stub drops the view",
        (
            # The view takes the old name in the same transaction: avoid-rename-table accepts the swap.
            sql.rename_table(act.table, act.other),
            sql.create_view(act.table, new),
        ),
        (sql.drop_view(act.table), sql.rename_table(new, act.table.split(".")[-1])),
        keeps_down=False,
        later=(contract,),
    )
