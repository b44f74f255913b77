"""Facts from sqlglot's tree for DDL: tables, indexes, drops (row statements: `read_tree_data`).

`guard.sql.read` asks it for the DDL the token reader could not read, and `tests/test_sql_read.py`
holds the two readers to the same facts on the corpus. Each reader returns None when the tree holds
something it cannot map exactly (an action sqlglot models loosely, a `NOT VALID` it cannot attribute
to one constraint), so a statement is never half-read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from guard.sql import facts as f
from guard.sql.types import parse_type
from guard.sql.volatile import default_volatility_sql
from guard.tokens import tokenize

if TYPE_CHECKING:
    from guard.sql.types import TypeSpec


class Unmapped(Exception):
    """The tree holds a form this reader does not map exactly."""


def ident(node: exp.Expression | None) -> tuple[str, str]:
    """(key, shown) of an identifier-like node: unquoted names fold to lower case."""
    if node is None:
        raise Unmapped("no name")
    if isinstance(node, exp.Identifier):
        if node.quoted:
            return node.this, '"' + node.this.replace('"', '""') + '"'
        return node.this.lower(), node.this
    if isinstance(node, exp.Column | exp.Table) and not node.args.get("table") and not node.args.get("db"):
        return ident(node.this)
    raise Unmapped(f"unexpected name node {type(node).__name__}")


def name_of(node: exp.Expression | None) -> f.Name:
    """A `Name` from an identifier, column or (schema-qualified) table node."""
    if isinstance(node, exp.Schema):
        node = node.this
    if isinstance(node, exp.Table):
        key, shown = ident(node.this)
        db = node.args.get("db")
        if db is None:
            return f.Name(key, shown)
        if node.args.get("catalog") is not None:
            raise Unmapped("three-part name")
        schema_key, schema_shown = ident(db)
        return f.Name(key, f"{schema_shown}.{shown}", schema_key)
    key, shown = ident(node)
    return f.Name(key, shown)


def _sql(node: exp.Expression) -> str:
    if not isinstance(node, exp.Expression):
        raise Unmapped(f"expected an expression, got {type(node).__name__}")
    return node.sql(dialect="postgres")


def _type(node: exp.Expression | None) -> tuple[TypeSpec | None, str]:
    if not isinstance(node, exp.DataType):
        raise Unmapped("no type")
    if node.args.get("values"):
        # sqlglot 30 reads `role ARRAY NOT NULL, PRIMARY KEY (...)` as an array literal type.
        raise Unmapped("type with values")
    text = _sql(node)
    return parse_type(tokenize(text)), text.lower() if node.is_type(
        *exp.DataType.TEXT_TYPES, *exp.DataType.NUMERIC_TYPES, *exp.DataType.TEMPORAL_TYPES
    ) else text


def _default(node: exp.Expression) -> f.Default:
    text = _sql(node)
    volatility, function = default_volatility_sql(text) or ("", "")
    return f.Default(text, volatility, function, is_null=isinstance(node, exp.Null))


def column(node: exp.ColumnDef) -> f.Column:
    """A column definition."""
    key, shown = ident(node.this)
    spec, type_sql = _type(node.args.get("kind"))
    col: dict[str, object] = {}
    clauses: list[str] = []
    for cc in node.args.get("constraints") or ():
        kind = cc.args.get("kind") if isinstance(cc, exp.ColumnConstraint) else cc
        if isinstance(kind, exp.NotNullColumnConstraint):
            if not kind.args.get("allow_null"):
                col["not_null"] = True
        elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
            col["primary_key"] = col["not_null"] = True
        elif isinstance(kind, exp.UniqueColumnConstraint):
            col["unique"] = True
        elif isinstance(kind, exp.Reference):
            col["references"] = name_of(kind.this)
        elif isinstance(kind, exp.CheckColumnConstraint):
            col["check"] = True
        elif isinstance(kind, exp.DefaultColumnConstraint):
            col["default"] = _default(kind.this)
        elif isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
            if kind.args.get("this") is None and kind.args.get("expression") is not None:
                col["generated"] = True
            else:
                col["identity"] = True
        elif isinstance(kind, exp.ComputedColumnConstraint):
            col["generated"] = True
        elif isinstance(kind, exp.CollateColumnConstraint):
            clauses.append(_sql(kind))
        elif isinstance(kind, exp.CommentColumnConstraint):
            continue
        else:
            raise Unmapped(f"column constraint {type(kind).__name__}")
    return f.Column(f.Name(key, shown), spec, type_sql, clauses=tuple(clauses), **col)  # type: ignore[arg-type]


def _columns(nodes: list[exp.Expression] | None) -> tuple[str, ...]:
    return tuple(ident(n)[0] for n in nodes or ())


def constraint(node: exp.Expression, valid: bool = True) -> f.Constraint:
    """A table constraint (`CONSTRAINT n CHECK (...)`, `FOREIGN KEY ...`, `PRIMARY KEY (...)`)."""
    name: f.Name | None = None
    if isinstance(node, exp.Constraint):
        key, shown = ident(node.this)
        name = f.Name(key, shown)
        parts = node.expressions
        if len(parts) != 1:
            raise Unmapped("constraint with several parts")
        node = parts[0]
    if isinstance(node, exp.CheckColumnConstraint):
        body = node.this
        return f.Constraint(
            f.CHECK,
            name,
            valid=valid,
            body_sql=f"CHECK ({_sql(body)})",
            not_null_column=_not_null_column(body),
        )
    if isinstance(node, exp.ForeignKey):
        ref = node.args.get("reference")
        target = name_of(ref.this) if isinstance(ref, exp.Reference) else None
        cols = node.expressions
        return f.Constraint(
            f.FOREIGN_KEY,
            name,
            _columns(cols),
            valid,
            references=target,
            body_sql=_sql(node),
            columns_sql=_list(cols),
        )
    if isinstance(node, exp.PrimaryKey | exp.UniqueColumnConstraint):
        kind = f.PRIMARY_KEY if isinstance(node, exp.PrimaryKey) else f.UNIQUE
        cols = node.expressions if kind == f.PRIMARY_KEY else getattr(node.this, "expressions", [])
        params = node.args.get("include")  # INCLUDE and WITH (...) of the constraint's index
        options = bool(node.args.get("nulls") or node.args.get("options")) or any(
            v
            for k, v in (params.args.items() if isinstance(params, exp.IndexParameters) else ())
            if k != "with_storage" or v
        )
        return f.Constraint(
            kind,
            name,
            _columns(cols),
            valid,
            body_sql=_sql(node),
            columns_sql=_list(cols),
            index_options=options,
        )
    raise Unmapped(f"constraint {type(node).__name__}")


def _list(nodes: list[exp.Expression] | None) -> str:
    return ", ".join(_sql(n) for n in nodes or ())


def _not_null_column(body: exp.Expression) -> str:
    while isinstance(body, exp.Paren):
        body = body.this
    negated = False
    if isinstance(body, exp.Not) and isinstance(body.this, exp.Is):
        body, negated = body.this, True
    if (
        isinstance(body, exp.Is)
        and (negated or body.args.get("negate"))
        and isinstance(body.expression, exp.Null)
    ):
        target = body.this
        if isinstance(target, exp.Column) and not target.args.get("table"):
            return ident(target.this)[0]
    return ""


def _alter_column(node: exp.AlterColumn) -> f.Action:
    col = f.Name(*ident(node.this))
    args = node.args
    if args.get("dtype") is not None:
        spec, type_sql = _type(args["dtype"])
        using = args.get("using")
        if using and not isinstance(using, exp.Expression):
            raise Unmapped("USING form")
        collate = args.get("collate")
        collation = _sql(collate.this if isinstance(collate, exp.Column) else collate) if collate else ""
        return f.AlterColumnType(col, spec, type_sql, _sql(using) if using else None, collation)
    if "allow_null" in args and args["allow_null"] is not None:
        return f.DropNotNull(col) if args["allow_null"] else f.SetNotNull(col)
    if args.get("default") is not None:
        return f.SetDefault(col, _default(args["default"]))
    if args.get("drop"):
        return f.DropDefault(col)
    raise Unmapped("ALTER COLUMN form")


def _action(node: exp.Expression, not_valid: bool) -> f.Action:
    if isinstance(node, exp.ColumnDef):
        return f.AddColumn(column(node), bool(node.args.get("exists")))
    if isinstance(node, exp.AlterColumn):
        return _alter_column(node)
    if isinstance(node, exp.Drop):
        kind = (node.args.get("kind") or "").upper()
        targets = node.args.get("tables") or []
        if len(targets) != 1:
            raise Unmapped("DROP with several targets")
        target = f.Name(*ident(targets[0]))
        if kind == "COLUMN":
            return f.DropColumn(target, bool(node.args.get("exists")), bool(node.args.get("cascade")))
        if kind == "CONSTRAINT":
            return f.DropConstraint(target, bool(node.args.get("exists")), bool(node.args.get("cascade")))
        raise Unmapped(f"DROP {kind}")
    if isinstance(node, exp.AddConstraint):
        if len(node.expressions) != 1:
            raise Unmapped("ADD CONSTRAINT list")
        return f.AddConstraint(constraint(node.expressions[0], valid=not not_valid))
    if isinstance(node, exp.RenameColumn):
        return f.RenameColumn(f.Name(*ident(node.this)), f.Name(*ident(node.args.get("to"))))
    if isinstance(node, exp.AlterRename):
        return f.RenameTable(name_of(node.this))
    if isinstance(node, exp.AlterSet):
        option = node.args.get("option")
        if isinstance(option, exp.Var) and option.name.upper() in ("LOGGED", "UNLOGGED"):
            return f.SetLogged(option.name.upper() == "LOGGED")
        if node.args.get("tablespace") is not None:
            return f.SetTablespace(ident(node.args["tablespace"])[1])
        raise Unmapped("ALTER TABLE SET form")
    raise Unmapped(f"action {type(node).__name__}")


def alter_table(tree: exp.Alter) -> f.AlterTable | None:
    """`ALTER TABLE` with every action mapped, else None."""
    if (tree.args.get("kind") or "").upper() != "TABLE":
        return None
    try:
        not_valid = bool(tree.args.get("not_valid"))
        actions = tree.args.get("actions") or []
        # sqlglot keeps one NOT VALID flag for the whole statement: only exact with one constraint.
        if not_valid and sum(isinstance(a, exp.AddConstraint) for a in actions) != 1:
            return None
        table = tree.this
        return f.AlterTable(
            name_of(table),
            tuple(_action(a, not_valid) for a in actions),
            only=bool(tree.args.get("only")),
            if_exists=bool(tree.args.get("exists")),
        )
    except Unmapped:
        return None


def create_table(tree: exp.Create) -> f.CreateTable | None:
    """`CREATE TABLE` (columns and constraints, or `AS SELECT`), else None."""
    if (tree.args.get("kind") or "").upper() != "TABLE":
        return None
    try:
        target = tree.this
        props = tree.args.get("properties")
        temporary = bool(props and props.find(exp.TemporaryProperty))
        unlogged = bool(props and props.find(exp.UnloggedProperty))
        inherits = bool(props and props.find(exp.InheritsProperty))
        if props and props.find(exp.PartitionedOfProperty):
            return None
        if isinstance(target, exp.Schema):
            columns: list[f.Column] = []
            constraints: list[f.Constraint] = []
            for part in target.expressions:
                if isinstance(part, exp.ColumnDef):
                    columns.append(column(part))
                else:
                    constraints.append(constraint(part))
            return f.CreateTable(
                name_of(target.this),
                tuple(columns),
                tuple(constraints),
                if_not_exists=bool(tree.args.get("exists")),
                temporary=temporary,
                unlogged=unlogged,
                inherits=inherits,
            )
        if isinstance(target, exp.Table) and tree.expression is not None:
            return f.CreateTable(
                name_of(target),
                as_select=True,
                if_not_exists=bool(tree.args.get("exists")),
                temporary=temporary,
                unlogged=unlogged,
            )
        return None
    except Unmapped:
        return None


def create_index(tree: exp.Create) -> f.CreateIndex | None:
    """`CREATE [UNIQUE] INDEX [CONCURRENTLY] ...`, else None."""
    if (tree.args.get("kind") or "").upper() != "INDEX":
        return None
    index = tree.this
    if not isinstance(index, exp.Index):
        return None
    try:
        name = f.Name(*ident(index.this)) if index.this is not None else None
        params = index.args.get("params")
        keys = (params.args.get("columns") if params else None) or []
        columns: list[str] = []
        key_columns: list[str | None] = []
        expressions = False
        for col in keys:
            inner = col.this if isinstance(col, exp.Ordered) else col
            if isinstance(inner, exp.Opclass):
                inner = inner.this
            key = inner  # the catalog stores `(col)` and `col COLLATE c` as the column
            while isinstance(key, exp.Paren | exp.Collate):
                key = key.this
            bare = isinstance(key, exp.Column) and not key.args.get("table")
            key_columns.append(ident(key.this)[0] if bare else None)
            if isinstance(inner, exp.Column) and not inner.args.get("table"):
                columns.append(ident(inner.this)[0])
            else:
                expressions = True
                columns.append(_sql(inner))
        where = params.args.get("where") if params else None
        using = params.args.get("using") if params else None
        storage: list[str] = []
        for k, v in params.args.items() if params else ():
            if k == "with_storage" and v:
                storage.append(f"WITH ({_list(v)})")
            elif k == "tablespace" and v:
                storage.append(f"TABLESPACE {_sql(v)}")
            elif v and k not in ("columns", "using", "where", "include"):
                raise Unmapped(f"index parameter {k}")
        return f.CreateIndex(
            name,
            name_of(index.args.get("table")),
            unique=bool(tree.args.get("unique")),
            concurrently=bool(tree.args.get("concurrently")),
            if_not_exists=bool(tree.args.get("exists")),
            columns=tuple(columns),
            expressions=expressions,
            predicate=_sql(where.this) if where is not None else None,
            method=using.name.lower() if using is not None else "",
            only=bool(index.args.get("only")),
            keys_sql=_list(keys),
            include=tuple(_sql(c) for c in (params.args.get("include") if params else None) or ()),
            storage_sql=" ".join(storage),
            key_columns=tuple(key_columns),
        )
    except Unmapped:
        return None


#: sqlglot's DROP kinds (the model names each in lower case).
_DROP_KINDS = frozenset(
    {"TABLE", "INDEX", "VIEW", "SCHEMA", "DATABASE", "SEQUENCE", "TYPE", "FUNCTION", "PROCEDURE"}
)


def drop(tree: exp.Drop) -> f.Drop | None:
    """`DROP <kind> [IF EXISTS] names [CASCADE]` for the kinds sqlglot structures."""
    keyword = (tree.args.get("kind") or "").upper()
    if keyword not in _DROP_KINDS:
        return None
    kind = keyword.lower()
    if tree.args.get("materialized"):
        kind, keyword = "materialized view", "MATERIALIZED VIEW"
    try:
        targets = tree.args.get("tables") or ([tree.this] if tree.this is not None else [])
        if kind in ("function", "procedure") or not targets:
            return None  # argument lists: the token reader keeps the user's spelling
        return f.Drop(
            kind,
            tuple(name_of(t) for t in targets),
            if_exists=bool(tree.args.get("exists")),
            cascade=bool(tree.args.get("cascade")),
            concurrently=bool(tree.args.get("concurrently")),
            keyword=keyword,
        )
    except Unmapped:
        return None
