"""Which indexes a statement creates or drops, read from the statement model: `CREATE INDEX`,
and the indexes `UNIQUE`, `PRIMARY KEY` and `EXCLUDE` constraints build (named like the
constraint, or as Postgres names them when the constraint has no name).

Read by the lint context (indexes of tables this file drops) and the schema index.
"""

from __future__ import annotations

from guard.sql import facts as f

#: Constraint kinds backed by an index of the constraint's name.
INDEXED = frozenset({f.UNIQUE, f.PRIMARY_KEY, f.EXCLUDE})


def constraint_index(table: str, c: f.Constraint) -> str:
    """The name of the index constraint `c` on `table` builds ('' when it builds none)."""
    if c.kind not in INDEXED:
        return ""
    if c.name is not None:
        return c.name.key
    if c.kind == f.PRIMARY_KEY:
        return f"{table}_pkey"
    if c.kind == f.UNIQUE and c.columns:
        return f"{table}_{'_'.join(c.columns)}_key"
    return ""  # an unnamed EXCLUDE is named after its expressions: not guessed


def _column_indexes(table: str, col: f.Column) -> list[str]:
    out = [f"{table}_pkey"] if col.primary_key else []
    if col.unique:
        out.append(f"{table}_{col.name.key}_key")
    return out


def indexes_of(fact: f.Fact) -> list[tuple[str, str]]:
    """(index key, table key) for each index `fact` creates, and (index key, '') for each it drops."""
    if isinstance(fact, f.CreateIndex):
        return [(fact.name.key, fact.table.key)] if fact.name is not None else []
    if isinstance(fact, f.Drop):
        return [(n.key, "") for n in fact.names] if fact.object_kind == "index" else []
    if isinstance(fact, f.CreateTable):
        t = fact.table.key
        names = [n for col in fact.columns for n in _column_indexes(t, col)]
        names += [constraint_index(t, c) for c in fact.constraints]
        return [(n, t) for n in names if n]
    if not isinstance(fact, f.AlterTable):
        return []
    t = fact.table.key
    out: list[tuple[str, str]] = []
    for action in fact.actions:
        if isinstance(action, f.AddColumn):
            out += [(n, t) for n in _column_indexes(t, action.column)]
        elif isinstance(action, f.AddConstraint):
            c = action.constraint
            name = c.using_index.key if c.using_index is not None else ""
            if name and c.name is not None and c.name.key != name:
                out.append((name, ""))  # USING INDEX renames the index to the constraint's name
            if n := constraint_index(t, c):
                out.append((n, t))
        elif isinstance(action, f.DropConstraint):
            out.append((action.name.key, ""))
    return out
