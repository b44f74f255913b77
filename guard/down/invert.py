"""Down statements by inversion: read each up statement and write the statement that undoes it.

This is the only module of `guard.down` that reads statements, and it reads them only through
their facts (`Statement.fact`, the typed statement model of `guard.sql.facts`); `invert` is its
one entry point. Names are written back by sqlglot (`guard.sql.safe_sql`, `guard.sql.sql_names`).

Inversion is used only where it is exact: a created object is dropped, an added column or
named constraint is dropped, a rename is renamed back, inserted literal rows are deleted.
Anything whose previous state the statement does not say (`SET DEFAULT`, `SET NOT NULL`,
type changes, drops, `CREATE ... IF NOT EXISTS`, `CREATE OR REPLACE`) makes `invert` return
why, and the caller drafts from the catalog instead. What cannot come back at all (rows an
`UPDATE` or `DELETE` changed, an enum value added with `ALTER TYPE ... ADD VALUE`) is
returned as a reason for the irreversible directive, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from guard.sql import facts as f
from guard.sql.safe_sql import name
from guard.sql.sql_names import data_type, in_schema_of, own_name

if TYPE_CHECKING:
    from guard.statement import Statement

#: Most rows of one `INSERT ... VALUES` turned into `DELETE` statements.
MAX_INSERT_ROWS = 500
#: Settings of the session only: setting them changes no schema object and needs no inverse.
_SESSION_SETTINGS = frozenset({"check_function_bodies", "client_encoding", "standard_conforming_strings"})
#: `CREATE <kind> name` undone by `DROP <KIND> name`.
_DROPPED_BY_NAME = {
    "view": "VIEW",
    "materialized view": "MATERIALIZED VIEW",
    "sequence": "SEQUENCE",
    "type": "TYPE",
    "enum": "TYPE",
    "schema": "SCHEMA",
    "extension": "EXTENSION",
}


@dataclass
class Inversion:
    """The down by inversion: `statements` in apply order, and what they cannot bring back."""

    statements: list[str] = field(default_factory=list)
    #: Why some of the up cannot be undone (rows changed, enum values added).
    irreversible: list[str] = field(default_factory=list)
    #: Enum types (as written) the up added values to: their labels may differ after the down.
    enum_values_added: list[str] = field(default_factory=list)


class NotInvertible(Exception):
    """The up has a statement whose inverse is not exact; the message says which and why."""


def invert(statements: Sequence[Statement]) -> Inversion:
    """The down of an up made of `statements`, or `NotInvertible` when one cannot be inverted exactly."""
    out = Inversion()
    undo: list[list[str]] = []
    for st in statements:
        undo.append(_invert_one(st, out))
    for block in reversed(undo):
        out.statements.extend(block)
    return out


def _where(st: Statement) -> str:
    first = st.text.strip().splitlines()[0] if st.text.strip() else ""
    return f"line {st.line} ({first[:60]})"


def _invert_one(st: Statement, out: Inversion) -> list[str]:
    fact = st.fact
    if isinstance(fact, f.Unknown):
        raise NotInvertible(f"{_where(st)}: it is not read ({fact.reason})")
    if isinstance(fact, f.CreateTable | f.CreateIndex | f.CreateObject):
        return [_invert_create(fact, st)]
    if isinstance(fact, f.AlterTable):
        return _invert_alter(fact, st)
    if isinstance(fact, f.Rename):
        return [_invert_rename(fact, st)]
    if isinstance(fact, f.AlterEnum) and fact.type.key:
        out.irreversible.append(
            f"the enum value added to {fact.type.shown} (line {st.line}) cannot be removed: Postgres has no "
            "ALTER TYPE ... DROP VALUE, and rows may use it"
        )
        out.enum_values_added.append(fact.type.shown)
        return []
    if isinstance(fact, f.Insert | f.Write) and all(w.verb in ("update", "delete") for w in fact.ctes):
        for write in fact.ctes:  # `WITH gone AS (DELETE ...) INSERT ...`
            _rows_changed(write, st, out)
        if isinstance(fact, f.Insert):
            return _invert_insert(fact, st, out)
        if fact.verb in ("update", "delete"):
            _rows_changed(fact, st, out)
            return []
    if isinstance(fact, f.Transaction) and fact.action in ("begin", "commit") and not fact.chain:
        return []  # BEGIN/COMMIT around the up: the down runs as the runner decides
    if isinstance(fact, f.Harmless) and fact.verb == "comment":
        return []  # comments are not part of the schema comparison; dropping the object drops them
    if isinstance(fact, f.Setting) and fact.name in _SESSION_SETTINGS and not (fact.reset or fact.local):
        return []
    raise NotInvertible(f"{_where(st)}: no exact inverse")


def _rows_changed(fact: f.Write, st: Statement, out: Inversion) -> None:
    verb, table = fact.verb.upper(), fact.table.shown if fact.table.key else "a table"
    out.irreversible.append(f"rows changed by {verb} on {table} (line {st.line}) are not restored")


def _invert_create(fact: f.CreateTable | f.CreateIndex | f.CreateObject, st: Statement) -> str:
    if fact.if_not_exists or (isinstance(fact, f.CreateObject) and fact.or_replace):
        raise NotInvertible(f"{_where(st)}: OR REPLACE / IF NOT EXISTS may change an existing object")
    if isinstance(fact, f.CreateTable):
        return f"DROP TABLE {name(fact.table.shown)}"
    if isinstance(fact, f.CreateIndex):
        if fact.name is None:
            raise NotInvertible(f"{_where(st)}: an index without a name is named by Postgres")
        concurrently = " CONCURRENTLY" if fact.concurrently else ""
        return f"DROP INDEX{concurrently} {in_schema_of(fact.table.shown, fact.name.shown)}"
    kind = fact.object_kind
    if kind in _DROPPED_BY_NAME and fact.name.key:
        return f"DROP {_DROPPED_BY_NAME[kind]} {name(fact.name.shown)}"
    if kind == "trigger" and fact.on is not None and fact.name.key:
        return f"DROP TRIGGER {name(fact.name.shown)} ON {name(fact.on.shown)}"
    if kind == "function" and fact.name.key:
        if fact.parameters is None:
            raise NotInvertible(f"{_where(st)}: function arguments with modes or defaults")
        try:
            types = ", ".join(data_type(p) for p in fact.parameters)
        except ValueError as exc:
            raise NotInvertible(f"{_where(st)}: {exc}") from None
        return f"DROP FUNCTION {name(fact.name.shown)}({types})"
    raise NotInvertible(f"{_where(st)}: CREATE {kind.upper() or '?'} is not inverted")


def _invert_alter(fact: f.AlterTable, st: Statement) -> list[str]:
    if fact.if_exists:
        raise NotInvertible(f"{_where(st)}: ALTER ... IF EXISTS may change nothing")
    table = name(fact.table.shown)
    prefix = f"ALTER TABLE {'ONLY ' if fact.only else ''}{table}"
    undo: list[str] = []
    for action in fact.actions:
        if isinstance(action, f.RenameTable):
            if len(fact.actions) != 1:
                raise NotInvertible(f"{_where(st)}: RENAME TO among other actions")
            renamed = in_schema_of(fact.table.shown, action.new.shown)
            return [f"ALTER TABLE {renamed} RENAME TO {own_name(fact.table.shown)}"]
        undo.append(f"{prefix} {_invert_action(action, st)}")
    return list(reversed(undo))


def _invert_action(action: f.Action, st: Statement) -> str:
    if isinstance(action, f.AddColumn):
        if action.if_not_exists:
            raise NotInvertible(f"{_where(st)}: ADD COLUMN IF NOT EXISTS may add nothing")
        return f"DROP COLUMN {name(action.column.name.shown)}"
    if isinstance(action, f.AddConstraint):
        if action.constraint.name is None:
            raise NotInvertible(f"{_where(st)}: a constraint without a name is named by Postgres")
        return f"DROP CONSTRAINT {name(action.constraint.name.shown)}"
    if isinstance(action, f.RenameColumn):
        return f"RENAME COLUMN {name(action.new.shown)} TO {name(action.column.shown)}"
    if isinstance(action, f.RenameConstraint):
        return f"RENAME CONSTRAINT {name(action.new.shown)} TO {name(action.name.shown)}"
    raise NotInvertible(f"{_where(st)}: {type(action).__name__} needs the previous state (catalog)")


def _invert_rename(fact: f.Rename, st: Statement) -> str:
    if fact.if_exists:
        raise NotInvertible(f"{_where(st)}: ALTER ... IF EXISTS may change nothing")
    if fact.object_kind == "index":
        renamed = in_schema_of(fact.name.shown, fact.new.shown)
        return f"ALTER INDEX {renamed} RENAME TO {own_name(fact.name.shown)}"
    if fact.object_kind == "enum value" and fact.of is not None:
        return f"ALTER TYPE {name(fact.of.shown)} RENAME VALUE {fact.new.shown} TO {fact.name.shown}"
    raise NotInvertible(f"{_where(st)}: ALTER {fact.object_kind.upper()} ... RENAME is not inverted")


def _invert_insert(fact: f.Insert, st: Statement, out: Inversion) -> list[str]:
    from guard.sql.read_rows import inserted_rows

    rows = inserted_rows(fact)
    if rows is None:
        raise NotInvertible(f"{_where(st)}: its rows cannot be read")
    why = ""
    if not rows.columns or rows.values is None or rows.on_conflict:
        why = "only INSERT (columns) VALUES (literals) is inverted"
    elif len(rows.values) > MAX_INSERT_ROWS:
        why = f"INSERT without a column list or with over {MAX_INSERT_ROWS} rows"
    elif not rows.literal:
        why = "INSERT of computed values"
    if why:
        target = rows.table.shown if rows.table.shown != "?" else "a table"
        out.irreversible.append(f"rows inserted into {target} (line {st.line}) are not deleted: {why}")
        return []
    table = name(rows.table.shown)
    assert rows.values is not None
    deletes = []
    for cells in rows.values:
        match = " AND ".join(
            f"{c} IS NOT DISTINCT FROM {v}" for c, v in zip(rows.columns, cells, strict=True)
        )
        deletes.append(f"DELETE FROM {table} WHERE {match}")
    return list(reversed(deletes))
