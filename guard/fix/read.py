"""Read the offending statements into the names, types and expressions the fixes need.

The one place `fix` looks inside a statement (sqlglot's tree, the token words for the
forms sqlglot keeps as a raw command); the typed statement model will replace it. Each
reader returns None for any shape it does not fully understand (extra actions, options it
would drop), so a fix is only ever written for a statement read completely.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from guard.statement import Statement

if TYPE_CHECKING:
    from guard.lint.schema_index import SchemaIndex
    from guard.model import Migration


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


def _sql(node: exp.Expression | None) -> str:
    return node.sql(dialect="postgres") if node is not None else ""


def _single_alter(stmt: Statement) -> tuple[str, exp.Expression] | None:
    tree = stmt.ast
    if not isinstance(tree, exp.Alter) or (tree.args.get("kind") or "").upper() != "TABLE":
        return None
    actions = tree.args.get("actions") or []
    if len(actions) != 1 or tree.args.get("only") or tree.args.get("exists"):
        return None
    return _sql(tree.this), actions[0]


def read_create_index(stmt: Statement) -> IndexDef | None:
    """The parts of a plain `CREATE INDEX` (None when it has options `fix` would not carry over)."""
    tree = stmt.ast
    if not isinstance(tree, exp.Create) or (tree.args.get("kind") or "").upper() != "INDEX":
        return None
    index = tree.this
    if not isinstance(index, exp.Index) or tree.args.get("concurrently"):
        return None
    params = index.args.get("params")
    if params is None or not params.args.get("columns"):
        return None
    extra = {k for k, v in params.args.items() if v and k not in ("columns", "using", "where", "include")}
    if extra - {"with_storage"} or params.args.get("with_storage"):
        return None
    if index.args.get("table") is None or index.args.get("only"):
        return None
    where = params.args.get("where")
    include = params.args.get("include")
    return IndexDef(
        index=_sql(index.this) or None,
        table=_sql(index.args["table"]),
        keys=", ".join(_sql(c) for c in params.args["columns"]),
        unique=bool(tree.args.get("unique")),
        method=_sql(params.args.get("using")) or None,
        where=_sql(where.this if isinstance(where, exp.Where) else where) or None,
        include=", ".join(_sql(c) for c in include) if include else None,
        if_not_exists=bool(tree.args.get("exists")),
    )


def read_drop_index(stmt: Statement) -> tuple[str, bool] | None:
    """(index, IF EXISTS) of `DROP INDEX [IF EXISTS] name` with one index and no CASCADE."""
    tree = stmt.ast
    if not isinstance(tree, exp.Drop) or (tree.args.get("kind") or "").upper() != "INDEX":
        return None
    tables = tree.args.get("tables") or ([tree.this] if tree.this is not None else [])
    if len(tables) != 1 or tree.args.get("cascade") or tree.args.get("concurrently"):
        return None
    return _sql(tables[0]), bool(tree.args.get("exists"))


def read_reindex(stmt: Statement) -> tuple[str, str] | None:
    """(kind, name) of `REINDEX {INDEX|TABLE|SCHEMA|DATABASE} name` without options."""
    w = stmt.words
    if len(w) != 3 or w[0] != "REINDEX" or w[1] not in ("INDEX", "TABLE", "SCHEMA", "DATABASE"):
        return None
    target = stmt.text.split(None, 2)[2].strip().rstrip(";").strip()
    return w[1], target


def read_add_constraint(stmt: Statement) -> ConstraintDef | None:
    """A one-action `ADD CONSTRAINT` of a foreign key, CHECK, UNIQUE or PRIMARY KEY."""
    found = _single_alter(stmt)
    tree = stmt.ast
    if found is None or not isinstance(found[1], exp.AddConstraint) or not isinstance(tree, exp.Alter):
        return None
    table, action = found
    items = action.expressions
    if len(items) != 1:
        return None
    item = items[0]
    if isinstance(item, exp.Constraint):
        constraint: str | None = _sql(item.this)
        bodies = item.expressions
    else:
        constraint, bodies = None, [item]
    if len(bodies) != 1:
        return None
    body = bodies[0]
    columns = ""
    if isinstance(body, exp.ForeignKey):
        kind = "fk"
    elif isinstance(body, exp.CheckColumnConstraint):
        kind = "check"
    elif isinstance(body, exp.UniqueColumnConstraint) and isinstance(body.this, exp.Schema):
        if body.args.get("nulls") or _sql(body.args.get("include")):
            return None
        kind, columns = "unique", ", ".join(_sql(c) for c in body.this.expressions)
    elif isinstance(body, exp.PrimaryKey):
        kind, columns = "primary", ", ".join(_sql(c) for c in body.expressions)
    else:
        return None
    return ConstraintDef(table, constraint, kind, _sql(body), columns, bool(tree.args.get("not_valid")))


def read_validate(stmt: Statement) -> tuple[str, str] | None:
    """(table, constraint) of `ALTER TABLE t VALIDATE CONSTRAINT c`."""
    w = stmt.words
    if len(w) < 6 or w[:2] != ("ALTER", "TABLE") or w[-3:-1] != ("VALIDATE", "CONSTRAINT"):
        return None
    if len(w) != 6:
        return None
    parts = stmt.text.strip().rstrip(";").split()
    return parts[2], parts[5]


def read_table_action(stmt: Statement) -> TableAction | None:
    """The one column action of an `ALTER TABLE` that `fix` rewrites, else None."""
    found = _single_alter(stmt)
    if found is None:
        return None
    table, action = found
    if isinstance(action, exp.AlterColumn):
        column = _sql(action.this)
        given = {k for k, v in action.args.items() if v is not None}
        if action.args.get("allow_null") is False and given == {"this", "allow_null"}:
            return TableAction("set-not-null", table, column)
        dtype = action.args.get("dtype")
        if dtype is not None and not action.args.get("using") and not action.args.get("collate"):
            return TableAction("type", table, column, _sql(dtype))
        return None
    if isinstance(action, exp.RenameColumn):
        return TableAction("rename-column", table, _sql(action.this), _sql(action.args.get("to")))
    if isinstance(action, exp.AlterRename):
        return TableAction("rename-table", table, "", _sql(action.this))
    if isinstance(action, exp.ColumnDef):
        constraints = action.args.get("constraints") or []
        defaults = [c for c in constraints if isinstance(c.args.get("kind"), exp.DefaultColumnConstraint)]
        if len(defaults) != 1 or len(constraints) != 1 or action.args.get("exists"):
            return None
        return TableAction(
            "add-column", table, _sql(action.this), _sql(action.args.get("kind")), _sql(defaults[0].kind.this)
        )
    return None


_DOMAIN_CHECK = re.compile(
    r"^ALTER\s+DOMAIN\s+(?P<domain>\S+)\s+ADD\s+CONSTRAINT\s+(?P<name>\S+)\s+(?P<check>CHECK\s*\(.*\))\s*$",
    re.S | re.I,
)


def read_domain_check(stmt: Statement) -> tuple[str, str, str] | None:
    """(domain, constraint, `CHECK (...)`) of a named `ALTER DOMAIN ... ADD CONSTRAINT ... CHECK (...)`."""
    text = stmt.text.strip().rstrip(";")
    if "--" in text or "/*" in text or "NOT VALID" in " ".join(stmt.words[-2:]):
        return None
    m = _DOMAIN_CHECK.match(text)
    return (m.group("domain"), m.group("name"), m.group("check")) if m else None


def name_key(spelling: str) -> str:
    """The schema index's key for a name: its last part, unquoted, or folded to lower case."""
    last = spelling.rsplit(".", 1)[-1]
    return last[1:-1].replace('""', '"') if last.startswith('"') and last.endswith('"') else last.lower()


def column_facts(
    index: SchemaIndex, m: Migration, statements: Sequence[Statement], stmt: Statement
) -> tuple[Callable[[str, str], str | None], Callable[[str, str], bool]]:
    """(type of, declared NOT NULL) of a column just before `stmt`: earlier migrations, then the
    statements of its own file that precede it."""
    from guard.lint.rules._types import type_before_statement
    from guard.lint.rules.not_null import declared_nullability

    earlier = [s for s in statements if s.index < stmt.index]

    def column_type(table: str, column: str) -> str | None:
        t, c = name_key(table), name_key(column)
        spec = type_before_statement(statements, stmt, t, c, index.column_type_before(m, t, c))
        return str(spec) if spec is not None else None

    def column_not_null(table: str, column: str) -> bool:
        t = name_key(table)
        return declared_nullability([*index.statements_about(m, t), *earlier], t).get(name_key(column), False)

    return column_type, column_not_null
