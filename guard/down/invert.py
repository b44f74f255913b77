"""Down statements by inversion: read each up statement and write the statement that undoes it.

This is the only module of `guard.down` that reads statements (sqlglot's tree, and the
words of the Postgres forms sqlglot leaves as `exp.Command`); `invert` is its one entry
point, so a typed statement model can replace the reading without touching the rest.

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

from sqlglot import exp

if TYPE_CHECKING:
    from guard.statement import Statement
    from guard.tokens import Token

#: Most rows of one `INSERT ... VALUES` turned into `DELETE` statements.
MAX_INSERT_ROWS = 500
#: Statements that change no schema object and need no inverse.
_SESSION_SETTINGS = frozenset({"CHECK_FUNCTION_BODIES", "CLIENT_ENCODING", "STANDARD_CONFORMING_STRINGS"})


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


def _sql(node: exp.Expression) -> str:
    return node.sql(dialect="postgres")


def _where(st: Statement) -> str:
    first = st.text.strip().splitlines()[0] if st.text.strip() else ""
    return f"line {st.line} ({first[:60]})"


def _invert_one(st: Statement, out: Inversion) -> list[str]:
    tree = st.ast
    if tree is None:
        raise NotInvertible(f"{_where(st)}: sqlglot cannot read it ({st.parse_error})")
    if isinstance(tree, exp.Command):
        return _invert_command(st, out)
    if isinstance(tree, exp.Create):
        return [_invert_create(tree, st)]
    if isinstance(tree, exp.Alter):
        return _invert_alter(tree, st)
    if isinstance(tree, exp.Insert):
        try:
            return _invert_insert(tree, st)
        except NotInvertible as exc:
            target = tree.find(exp.Table)
            out.irreversible.append(
                f"rows inserted into {_sql(target) if target is not None else 'a table'} (line {st.line}) "
                f"are not deleted: {str(exc).split(': ', 1)[-1]}"
            )
            return []
    if isinstance(tree, (exp.Update, exp.Delete)):
        table = tree.find(exp.Table)
        name = _sql(table) if table is not None else "a table"
        verb = "UPDATE" if isinstance(tree, exp.Update) else "DELETE"
        out.irreversible.append(f"rows changed by {verb} on {name} (line {st.line}) are not restored")
        return []
    if isinstance(tree, (exp.Transaction, exp.Commit)):
        return []  # BEGIN/COMMIT around the up: the down runs as the runner decides
    if isinstance(tree, exp.Comment):
        return []  # comments are not part of the schema comparison; dropping the object drops them
    if isinstance(tree, exp.Set):
        words = st.words
        if len(words) >= 2 and words[1] in _SESSION_SETTINGS:
            return []
    raise NotInvertible(f"{_where(st)}: no exact inverse")


def _invert_create(tree: exp.Create, st: Statement) -> str:
    kind = str(tree.args.get("kind") or "").upper()
    if tree.args.get("replace") or tree.args.get("exists"):
        raise NotInvertible(f"{_where(st)}: OR REPLACE / IF NOT EXISTS may change an existing object")
    target = tree.this
    if kind == "TABLE":
        table = target.this if isinstance(target, exp.Schema) else target
        return f"DROP TABLE {_sql(table)}"
    if kind == "INDEX" and isinstance(target, exp.Index):
        name, table = target.this, target.args.get("table")
        if name is None or table is None:
            raise NotInvertible(f"{_where(st)}: an index without a name is named by Postgres")
        schema = table.args.get("db")
        qualified = f"{_sql(schema)}.{_sql(name)}" if schema is not None else _sql(name)
        concurrently = " CONCURRENTLY" if tree.args.get("concurrently") else ""
        return f"DROP INDEX{concurrently} {qualified}"
    if kind == "VIEW":
        props = tree.args.get("properties")
        materialized = props is not None and any(
            isinstance(p, exp.MaterializedProperty) for p in props.expressions
        )
        return f"DROP {'MATERIALIZED VIEW' if materialized else 'VIEW'} {_sql(target)}"
    if kind in ("SEQUENCE", "TYPE"):
        return f"DROP {kind} {_sql(target)}"
    if kind == "SCHEMA" and isinstance(target, exp.Table) and target.args.get("db") is not None:
        return f"DROP SCHEMA {_sql(target.args['db'])}"
    if kind == "TRIGGER":
        props = tree.find(exp.TriggerProperties)
        if props is not None and props.args.get("table") is not None:
            return f"DROP TRIGGER {_sql(target)} ON {_sql(props.args['table'])}"
    if kind == "FUNCTION" and isinstance(target, exp.UserDefinedFunction):
        args = []
        for arg in target.expressions:
            if (
                not isinstance(arg, exp.ColumnDef)
                or arg.args.get("kind") is None
                or arg.args.get("constraints")
            ):
                raise NotInvertible(f"{_where(st)}: function arguments with modes or defaults")
            args.append(_sql(arg.args["kind"]))
        return f"DROP FUNCTION {_sql(target.this)}({', '.join(args)})"
    raise NotInvertible(f"{_where(st)}: CREATE {kind or '?'} is not inverted")


def _invert_alter(tree: exp.Alter, st: Statement) -> list[str]:
    kind = str(tree.args.get("kind") or "").upper()
    if tree.args.get("exists"):
        raise NotInvertible(f"{_where(st)}: ALTER ... IF EXISTS may change nothing")
    actions = tree.args.get("actions") or []
    if kind == "INDEX":
        if len(actions) == 1 and isinstance(actions[0], exp.AlterRename):
            return [f"ALTER INDEX {_renamed(tree, actions[0])} RENAME TO {_sql(tree.this.this)}"]
        raise NotInvertible(f"{_where(st)}: ALTER INDEX is inverted only for RENAME")
    if kind != "TABLE":
        raise NotInvertible(f"{_where(st)}: ALTER {kind or '?'} is not inverted")
    prefix = f"ALTER TABLE {'ONLY ' if tree.args.get('only') else ''}{_sql(tree.this)}"
    undo: list[str] = []
    for action in actions:
        if isinstance(action, exp.AlterRename):
            if len(actions) != 1:
                raise NotInvertible(f"{_where(st)}: RENAME TO among other actions")
            return [f"ALTER TABLE {_renamed(tree, action)} RENAME TO {_sql(tree.this.this)}"]
        undo.append(f"{prefix} {_invert_action(action, st)}")
    return list(reversed(undo))


def _renamed(tree: exp.Alter, action: exp.AlterRename) -> str:
    """The object's new name, in the schema it stays in."""
    schema = tree.this.args.get("db")
    new = action.this.this if isinstance(action.this, exp.Table) else action.this
    return f"{_sql(schema)}.{_sql(new)}" if schema is not None else _sql(new)


def _invert_action(action: exp.Expression, st: Statement) -> str:
    if isinstance(action, exp.ColumnDef):
        if action.args.get("exists"):
            raise NotInvertible(f"{_where(st)}: ADD COLUMN IF NOT EXISTS may add nothing")
        return f"DROP COLUMN {_sql(action.this)}"
    if isinstance(action, exp.AddConstraint):
        named = [e for e in action.expressions if isinstance(e, exp.Constraint)]
        if len(named) != 1 or len(action.expressions) != 1:
            raise NotInvertible(f"{_where(st)}: a constraint without a name is named by Postgres")
        return f"DROP CONSTRAINT {_sql(named[0].this)}"
    if isinstance(action, exp.RenameColumn) and not action.args.get("exists"):
        return f"RENAME COLUMN {_sql(action.args['to'])} TO {_sql(action.this)}"
    raise NotInvertible(f"{_where(st)}: {type(action).__name__} needs the previous state (catalog)")


def _invert_insert(tree: exp.Insert, st: Statement) -> list[str]:
    schema, values = tree.this, tree.expression
    if not isinstance(schema, exp.Schema) or not isinstance(values, exp.Values) or tree.args.get("conflict"):
        raise NotInvertible(f"{_where(st)}: only INSERT (columns) VALUES (literals) is inverted")
    columns = [_sql(c) for c in schema.expressions]
    rows = values.expressions
    if not columns or len(rows) > MAX_INSERT_ROWS:
        raise NotInvertible(f"{_where(st)}: INSERT without a column list or with over {MAX_INSERT_ROWS} rows")
    table = _sql(schema.this)
    out = []
    for row in rows:
        cells = row.expressions if isinstance(row, exp.Tuple) else [row]
        if len(cells) != len(columns) or not all(_is_literal(c) for c in cells):
            raise NotInvertible(f"{_where(st)}: INSERT of computed values")
        match = " AND ".join(
            f"{c} IS NOT DISTINCT FROM {_sql(v)}" for c, v in zip(columns, cells, strict=True)
        )
        out.append(f"DELETE FROM {table} WHERE {match}")
    return list(reversed(out))


def _is_literal(node: exp.Expression) -> bool:
    if isinstance(node, (exp.Literal, exp.Null, exp.Boolean, exp.ByteString)):
        return True
    if isinstance(node, exp.Neg):
        return isinstance(node.this, exp.Literal)
    if isinstance(node, exp.Cast):
        return _is_literal(node.this)
    return False


def _invert_command(st: Statement, out: Inversion) -> list[str]:
    """The Postgres forms sqlglot leaves as `exp.Command`, read from their tokens."""
    from guard.tokens import STRING

    tokens = [t for t in st.tokens if t.text != ";"]
    upper = [t.upper for t in tokens]
    if upper[:2] == ["CREATE", "EXTENSION"] and len(tokens) >= 3 and tokens[2].is_name() and upper[2] != "IF":
        return [f"DROP EXTENSION {tokens[2].shown()}"]
    if upper[:2] == ["ALTER", "TYPE"]:
        name, at = _qualified(tokens, 2)
        verb = upper[at : at + 2]
        strings = [t.text for t in tokens[at:] if t.kind == STRING]
        if name and verb == ["ADD", "VALUE"]:
            out.irreversible.append(
                f"the enum value added to {name} (line {st.line}) cannot be removed: Postgres has no "
                "ALTER TYPE ... DROP VALUE, and rows may use it"
            )
            out.enum_values_added.append(name)
            return []
        if name and verb == ["RENAME", "VALUE"] and len(strings) == 2 and len(tokens) == at + 5:
            return [f"ALTER TYPE {name} RENAME VALUE {_literal(strings[1])} TO {_literal(strings[0])}"]
    if upper[:2] == ["ALTER", "TABLE"]:
        name, at = _qualified(tokens, 2)
        rest = tokens[at:]
        if (
            name
            and len(rest) == 5
            and [t.upper for t in rest[:2]] == ["RENAME", "CONSTRAINT"]
            and rest[3].upper == "TO"
            and rest[2].is_name()
            and rest[4].is_name()
        ):
            return [f"ALTER TABLE {name} RENAME CONSTRAINT {rest[4].shown()} TO {rest[2].shown()}"]
    raise NotInvertible(f"{_where(st)}: sqlglot leaves it unstructured and it is not a form inverted here")


def _qualified(tokens: Sequence[Token], at: int) -> tuple[str, int]:
    """The dotted name starting at `tokens[at]` as written, and the index after it ("" when none)."""
    parts: list[str] = []
    while at < len(tokens) and tokens[at].is_name() and tokens[at].upper not in ("ONLY", "IF"):
        parts.append(tokens[at].shown())
        at += 1
        if at < len(tokens) and tokens[at].text == ".":
            at += 1
            continue
        break
    return ".".join(parts), at


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
