"""Read the offending statements into the names, types and expressions the fixes need.

Every statement is read through its fact (`Statement.fact`, the typed statement model of
`guard.sql.facts`): these readers only pick out what a recipe needs, as SQL spellings. Each
returns None for any shape it does not fully carry over (extra actions, options a fix would
drop), so a fix is only ever written for a statement read completely.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from guard.sql import facts as f
from guard.sql import parts
from guard.sql.sql_names import data_type

if TYPE_CHECKING:
    from guard.lint.schema_index import SchemaIndex
    from guard.model import Migration
    from guard.statement import Statement


@dataclass(frozen=True)
class IndexDef:
    """`CREATE [UNIQUE] INDEX name ON table [USING m] (keys) [INCLUDE (...)] [WHERE ...]`."""

    index: str | None
    table: str
    keys: str
    unique: bool
    method: str | None
    where: str | None
    include: str | None
    if_not_exists: bool


@dataclass(frozen=True)
class ConstraintDef:
    """`ALTER TABLE t ADD CONSTRAINT c <definition> [NOT VALID]` with one action."""

    table: str
    constraint: str | None
    #: `fk`, `check`, `unique` or `primary`.
    kind: str
    definition: str
    #: Key columns of a UNIQUE / PRIMARY KEY, as SQL.
    columns: str
    not_valid: bool
    #: The table as a name (to match it against another statement's).
    table_name: f.Name


@dataclass(frozen=True)
class TableAction:
    """One `ALTER TABLE` action on one column (`set-not-null`, `add-column`, `rename-column`, `type`)."""

    kind: str
    table: str
    column: str
    #: The new name (rename), the type (add-column, type).
    other: str = ""
    #: The default expression of an added column.
    default: str | None = None


#: Constraint kinds `fix` rewrites, by the model's kind.
_KINDS = {f.FOREIGN_KEY: "fk", f.CHECK: "check", f.UNIQUE: "unique", f.PRIMARY_KEY: "primary"}


def _single_action(stmt: Statement) -> tuple[f.Name, f.Action] | None:
    """(table, action) of an `ALTER TABLE` with exactly one action, no ONLY and no IF EXISTS."""
    fact = stmt.fact
    if not isinstance(fact, f.AlterTable) or len(fact.actions) != 1 or fact.only or fact.if_exists:
        return None
    return fact.table, fact.actions[0]


def read_create_index(stmt: Statement) -> IndexDef | None:
    """The parts of a plain `CREATE INDEX` (None when it has options `fix` would not carry over)."""
    fact = stmt.fact
    if not isinstance(fact, f.CreateIndex) or fact.concurrently or fact.only:
        return None
    if not fact.columns or not fact.keys_sql or fact.storage_sql or not fact.table.key:
        return None
    return IndexDef(
        index=fact.name.shown if fact.name is not None else None,
        table=fact.table.shown,
        keys=fact.keys_sql,
        unique=fact.unique,
        method=fact.method or None,
        where=fact.predicate,
        include=", ".join(fact.include) or None,
        if_not_exists=fact.if_not_exists,
    )


def read_drop_index(stmt: Statement) -> tuple[f.Name, bool] | None:
    """(index, IF EXISTS) of `DROP INDEX [IF EXISTS] name` with one index and no CASCADE."""
    fact = stmt.fact
    if not isinstance(fact, f.Drop) or fact.object_kind != "index":
        return None
    if len(fact.names) != 1 or fact.cascade or fact.concurrently:
        return None
    return fact.names[0], fact.if_exists


def read_reindex(stmt: Statement) -> tuple[str, str] | None:
    """(kind, name) of `REINDEX {INDEX|TABLE|SCHEMA|DATABASE} name` without options."""
    fact = stmt.fact
    if not isinstance(fact, f.Maintenance) or fact.verb != "reindex" or fact.target is None:
        return None
    if fact.concurrently or fact.options or fact.target_kind not in ("index", "table", "schema", "database"):
        return None
    return fact.target_kind.upper(), fact.target.shown


def read_add_constraint(stmt: Statement) -> ConstraintDef | None:
    """A one-action `ADD CONSTRAINT` of a foreign key, CHECK, UNIQUE or PRIMARY KEY."""
    found = _single_action(stmt)
    if found is None or not isinstance(found[1], f.AddConstraint):
        return None
    table, con = found[0], found[1].constraint
    kind = _KINDS.get(con.kind)
    if kind is None or con.using_index is not None or not con.body_sql:
        return None
    columns = ""
    if kind in ("unique", "primary"):
        if not con.columns_sql or (kind == "unique" and con.index_options):
            return None
        columns = con.columns_sql
    name = con.name.shown if con.name is not None else None
    return ConstraintDef(table.shown, name, kind, con.body_sql, columns, not con.valid, table)


def read_validate(stmt: Statement) -> tuple[f.Name, str] | None:
    """(table, constraint) of `ALTER TABLE t VALIDATE CONSTRAINT c`."""
    found = _single_action(stmt)
    if found is None or not isinstance(found[1], f.ValidateConstraint):
        return None
    return found[0], found[1].name.shown


def read_table_action(stmt: Statement) -> TableAction | None:
    """The one column action of an `ALTER TABLE` that `fix` rewrites, else None."""
    found = _single_action(stmt)
    if found is None:
        return None
    name, action = found
    table = name.shown
    if isinstance(action, f.SetNotNull):
        return TableAction("set-not-null", table, action.column.shown)
    if isinstance(action, f.AlterColumnType):
        if action.using is not None or action.collation or not action.type_sql:
            return None
        return TableAction("type", table, action.column.shown, data_type(action.type_sql))
    if isinstance(action, f.RenameColumn):
        return TableAction("rename-column", table, action.column.shown, action.new.shown)
    if isinstance(action, f.RenameTable):
        return TableAction("rename-table", table, "", action.new.shown)
    if isinstance(action, f.AddColumn):
        col = action.column
        if action.if_not_exists or col.default is None or _constrained(col) or not col.type_sql:
            return None
        return TableAction("add-column", table, col.name.shown, data_type(col.type_sql), col.default.sql)
    return None


def _constrained(col: f.Column) -> bool:
    """True when a column carries anything besides its type and default."""
    return (
        col.not_null
        or col.primary_key
        or col.unique
        or col.references is not None
        or col.check
        or col.identity
        or col.generated
        or bool(col.clauses)
    )


def read_domain_check(stmt: Statement) -> tuple[str, str, str] | None:
    """(domain, constraint, `CHECK (...)`) of a named `ALTER DOMAIN ... ADD CONSTRAINT ... CHECK (...)`."""
    fact = stmt.fact
    if not isinstance(fact, f.AlterOther) or fact.object_kind != "domain" or fact.constraint is None:
        return None
    con = fact.constraint
    if con.kind != f.CHECK or con.name is None or not con.valid or not fact.name.key:
        return None
    return fact.name.shown, con.name.shown, con.body_sql


def same_name(a: f.Name, b: f.Name) -> bool:
    """True when two names resolve to the same object (same key, same schema or none)."""
    return a.key == b.key and a.schema == b.schema


def name_key(spelling: str) -> str:
    """The schema index's key for a name: the key of its last part."""
    return parts.name_key(spelling.rsplit(".", 1)[-1])


def column_facts(
    index: SchemaIndex, m: Migration, statements: Sequence[Statement], stmt: Statement
) -> tuple[Callable[[str, str], str | None], Callable[[str, str], bool]]:
    """(type of, declared NOT NULL) of a column just before `stmt`: earlier migrations, then the
    statements of its own file that precede it."""
    from guard.lint.facts.column_types import type_before_statement
    from guard.lint.facts.nullability import declared_nullability

    earlier = [s for s in statements if s.index < stmt.index]

    def column_type(table: str, column: str) -> str | None:
        t, c = name_key(table), name_key(column)
        spec = type_before_statement(statements, stmt, t, c, index.column_type_before(m, t, c))
        return str(spec) if spec is not None else None

    def column_not_null(table: str, column: str) -> bool:
        t = name_key(table)
        return declared_nullability([*index.statements_about(m, t), *earlier], t).get(name_key(column), False)

    return column_type, column_not_null
