"""Facts from sqlglot's tree for statements that read or write rows: `UPDATE`, `DELETE`,
`MERGE` (with what their `WITH` clauses write), a `WITH ... SELECT`, and `TRUNCATE`.

sqlglot is the only reader of `MERGE` and `WITH` (the token reader does not structure queries),
and of an `UPDATE` or `DELETE` the token reader cannot read (`guard.sql.read_text.write`); a
tree it cannot map exactly gives None, and the statement stays unanalysed.
"""

from __future__ import annotations

from sqlglot import exp

from guard.sql import facts as f
from guard.sql.read_tree import Unmapped, name_of
from guard.sql.record import replace


def write(tree: exp.Update | exp.Delete | exp.Merge) -> f.Write | None:
    """`UPDATE`, `DELETE` or `MERGE` with its target and whether a condition bounds it."""
    try:
        if isinstance(tree, exp.Merge):
            whens = tree.args.get("whens")
            actions: list[str] = []
            for when in whens.expressions if whens is not None else ():
                then = when.args.get("then")
                if isinstance(then, exp.Var):
                    actions.append(then.name.lower())
                elif isinstance(then, exp.Update):
                    actions.append("update")
                elif isinstance(then, exp.Insert):
                    actions.append("insert")
                else:
                    raise Unmapped("MERGE action")
            return f.Write("merge", name_of(tree.this), bounded=True, merge_actions=tuple(actions))
        verb = "update" if isinstance(tree, exp.Update) else "delete"
        return f.Write(verb, name_of(tree.this), bounded=tree.args.get("where") is not None)
    except Unmapped:
        return None


def data_statement(tree: exp.Expression) -> f.Fact | None:
    """`UPDATE`/`DELETE`/`MERGE`, or a `WITH` whose final or inner statement writes rows; the
    data-modifying `WITH` clauses are listed in `ctes`."""
    ctes = _cte_writes(tree)
    if isinstance(tree, exp.Update | exp.Delete | exp.Merge):
        found = write(tree)
        return replace(found, ctes=ctes) if found is not None else None
    if isinstance(tree, exp.Insert):
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        try:
            return f.Insert(name_of(target), select=True, ctes=ctes)
        except Unmapped:
            return f.Insert(f.NO_NAME, select=True, ctes=ctes)
    if isinstance(tree, exp.Select | exp.Union):
        # `WITH x AS (DELETE ...) SELECT ...`: a data-modifying CTE makes it a write.
        if ctes:
            return replace(ctes[0], ctes=ctes[1:])
        inner = next(iter(tree.find_all(exp.Update, exp.Delete, exp.Merge)), None)
        if isinstance(inner, exp.Update | exp.Delete | exp.Merge):
            return write(inner)
        if tree.find(exp.Insert) is not None:
            return f.Insert(f.NO_NAME, select=True)
        calls = frozenset(
            node.name.lower() if isinstance(node, exp.Anonymous) else node.sql_name().lower()
            for node in tree.find_all(exp.Func)
            if not isinstance(node, exp.Cast)
        )
        return f.Harmless("select", calls, _tables(tree))
    return None


def _tables(tree: exp.Expression) -> tuple[f.Name, ...]:
    """Every table or view `tree` reads (a name it cannot map reads as `NO_NAME`)."""
    out = []
    for node in tree.find_all(exp.Table):
        try:
            out.append(name_of(node))
        except Unmapped:
            out.append(f.NO_NAME)
    return tuple(out)


def _cte_writes(tree: exp.Expression) -> tuple[f.Write, ...]:
    """The `UPDATE`/`DELETE`/`MERGE` bodies of the statement's `WITH` clauses, as `Write`s."""
    with_ = tree.args.get("with_") or tree.args.get("with")
    found: list[f.Write] = []
    for cte in with_.expressions if isinstance(with_, exp.With) else ():
        body = cte.this
        if isinstance(body, exp.Update | exp.Delete | exp.Merge):
            one = write(body)
            if one is not None:
                found.append(one)
    return tuple(found)


def truncate(tree: exp.TruncateTable) -> f.Truncate | None:
    """`TRUNCATE [TABLE] [ONLY] a, b [CASCADE]`."""
    try:
        option = tree.args.get("option")
        return f.Truncate(
            tuple(name_of(t) for t in tree.expressions),
            cascade=isinstance(option, str) and option.upper() == "CASCADE",
        )
    except Unmapped:
        return None
