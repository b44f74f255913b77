"""A down migration from a catalog difference: the snapshot before the up and the one after it.

What the up added is dropped (dependents first), what it changed is set back to its
recorded state, and what it dropped is created again from the recorded attributes
(`guard.down.ddl`). Rows in a table or column the up dropped cannot come back, nor can
enum values it added: those become reasons for the irreversible directive. A change this
module cannot write back raises `NotDrafted` with the object it is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from guard.db.snapshot import UNCOMPARED, Key, Snapshot, display_name
from guard.down import ddl
from guard.down.ddl import NotDrafted, child_name, index_name

__all__ = ["CatalogDraft", "NotDrafted", "catalog_down"]

_TYPE_KINDS = ("domain", "type", "range", "enum")
_VIEW_KINDS = ("view", "materialized view")


@dataclass
class CatalogDraft:
    """Statements in apply order, the reasons for the irreversible directive, enum types that keep added values."""

    statements: list[str] = field(default_factory=list)
    irreversible: list[str] = field(default_factory=list)
    enum_values_added: list[str] = field(default_factory=list)


def catalog_down(
    before: Snapshot,
    after: Snapshot,
    *,
    replace_columns: bool = False,
    signatures: Mapping[str, str] | None = None,
) -> CatalogDraft:
    """The statements that take a database from `after` back to `before`.

    A column whose type changed is converted back with a cast; with `replace_columns` it is
    dropped and added again with its old definition instead (for types with no cast between
    them), and the constraints and indexes that name it are created again. `signatures` maps a
    function's snapshot name (`public.f(a integer)`) to its argument types only (`f(integer)`,
    `regprocedure`), which `DROP FUNCTION` takes and sqlglot reads.
    """
    added = after.objects.keys() - before.objects.keys()
    removed = before.objects.keys() - after.objects.keys()
    changed = {
        key
        for key in before.objects.keys() & after.objects.keys()
        if _compared(before.objects[key]) != _compared(after.objects[key])
    }
    out = CatalogDraft()
    # Changed constraints, indexes, triggers and policies go first: they may name added columns.
    for key in sorted(k for k in changed if k[0] in ("trigger", "policy", "constraint", "index")):
        _drop_child(after, key, out.statements)
    for old, new in _column_renames(before, after, added, removed):
        table, was = child_name(before, old)
        out.statements.append(f"ALTER TABLE {table} RENAME COLUMN {child_name(after, new)[1]} TO {was}")
        added.discard(new)
        removed.discard(old)
    if replace_columns:
        _replace_retyped_columns(before, after, added, removed, changed)
    # Relations first, then the types and functions they used can change (or be created) ...
    _drop_added_relations(after, added, changed, out)
    _create_removed_objects(before, removed, out)
    _change_back(before, after, changed, added, out)
    # ... and only then can what the up added under them go, and the dropped relations come back.
    _drop_added_objects(after, added, out, signatures or {})
    _create_removed_relations(before, removed, changed, out)
    return out


def _replace_retyped_columns(
    before: Snapshot, after: Snapshot, added: set[Key], removed: set[Key], changed: set[Key]
) -> None:
    """Treat each column whose type changed as dropped and added, with its table's constraints,
    indexes and triggers that name it as changed (they go with the column and come back)."""
    for key in sorted(k for k in changed if k[0] == "column"):
        was, now = before.objects[key], after.objects[key]
        if (was.get("type"), was.get("collation")) == (now.get("type"), now.get("collation")):
            continue
        changed.discard(key)
        added.add(key)
        removed.add(key)
        table, column = child_name(after, key)
        names = {column, column.strip('"')}
        for child, parent in after.parents.items():
            if (
                parent[1] == table
                and child[0] in ("constraint", "index", "trigger")
                and child in before.objects
            ):
                definition = str(after.objects[child].get("definition", ""))
                if any(name in definition for name in names):
                    changed.add(child)


def _column_renames(
    before: Snapshot, after: Snapshot, added: set[Key], removed: set[Key]
) -> list[tuple[Key, Key]]:
    """(old, new) columns of a table in both snapshots that only changed name: exactly one column
    went away and one came with the same attributes (so renaming back keeps the values)."""
    pairs = []
    tables = {after.parents.get(k) for k in added if k[0] == "column"} & {
        before.parents.get(k) for k in removed if k[0] == "column"
    }
    for table in sorted(t for t in tables if t is not None and t in before.objects and t in after.objects):
        gone = [k for k in removed if k[0] == "column" and before.parents.get(k) == table]
        came = [k for k in added if k[0] == "column" and after.parents.get(k) == table]
        for old in gone:
            same = [new for new in came if _compared(after.objects[new]) == _compared(before.objects[old])]
            rivals = [o for o in gone if _compared(before.objects[o]) == _compared(before.objects[old])]
            if len(same) == 1 and len(rivals) == 1:
                pairs.append((old, same[0]))
    return pairs


def _compared(attrs: object) -> dict[str, object]:
    return {k: v for k, v in dict(attrs).items() if k not in UNCOMPARED}  # type: ignore[call-overload]


def _kind(keys: set[Key], *kinds: str) -> list[Key]:
    return sorted(k for k in keys if k[0] in kinds)


def _under_added(snap: Snapshot, key: Key, added: set[Key]) -> bool:
    """Whether `key` goes away with an added table (its parent) anyway."""
    return snap.parents.get(key) in added


def _drop_added_relations(after: Snapshot, added: set[Key], changed: set[Key], out: CatalogDraft) -> None:
    s = out.statements
    for key in _kind(added, "trigger"):
        if not _under_added(after, key, added):
            table, own = child_name(after, key)
            s.append(f"DROP TRIGGER {own} ON {table}")
    for key in _kind(added, "policy"):
        if not _under_added(after, key, added):
            table, own = child_name(after, key)
            s.append(f"DROP POLICY {own} ON {table}")
    constraints = _kind(added, "constraint")
    # Foreign keys first, even on added tables: another added table may be the one they reference.
    for key in sorted(constraints, key=lambda k: not ddl.is_foreign_key(after.objects[k])):
        if ddl.is_foreign_key(after.objects[key]) or not _under_added(after, key, added):
            table, own = child_name(after, key)
            s.append(f"ALTER TABLE {table} DROP CONSTRAINT {own}")
    for key in _kind(added, "index"):
        if not _under_added(after, key, added):
            s.append(f"DROP INDEX {index_name(after, key)}")
    views = _kind(added, *_VIEW_KINDS) + _kind(changed, *_VIEW_KINDS)
    for key in reversed(_dependency_order(after, views)):
        s.append(f"DROP {'MATERIALIZED VIEW' if key[0] == 'materialized view' else 'VIEW'} {key[1]}")
    for key in _kind(added, "column"):
        if not _under_added(after, key, added):
            table, own = child_name(after, key)
            s.append(f"ALTER TABLE {table} DROP COLUMN {own}")
    tables = _kind(added, "table", "foreign table")
    for key in sorted(tables, key=lambda k: not after.objects[k].get("partition_of")):
        s.append(f"DROP {'FOREIGN TABLE' if key[0] == 'foreign table' else 'TABLE'} {key[1]}")


def _drop_added_objects(
    after: Snapshot, added: set[Key], out: CatalogDraft, signatures: Mapping[str, str]
) -> None:
    s = out.statements
    for key in _kind(added, "sequence"):
        if after.parents.get(key) is None:
            s.append(f"DROP SEQUENCE {key[1]}")
    for key in _kind(added, "function", "procedure"):
        s.append(f"DROP {key[0].upper()} {signatures.get(key[1], key[1])}")
    for kind in _TYPE_KINDS:
        s.extend(ddl.drop_type(key) for key in _kind(added, kind))
    s.extend(f"DROP SCHEMA {key[1]}" for key in _kind(added, "schema"))
    s.extend(f"DROP EXTENSION {key[1]}" for key in _kind(added, "extension"))


def _dependency_order(snap: Snapshot, keys: list[Key]) -> list[Key]:
    """`keys` (views) ordered so a view comes after the views its definition names."""
    remaining = list(keys)
    ordered: list[Key] = []
    while remaining:
        for key in remaining:
            definition = str(snap.objects[key].get("definition", ""))
            blockers = [
                other
                for other in remaining
                if other != key and ddl.split_qualified(other[1])[-1].strip('"') in definition
            ]
            if not blockers:
                break
        else:
            key = remaining[0]  # a cycle through names in strings: the round trip will tell
        remaining.remove(key)
        ordered.append(key)
    return ordered


def _change_back(
    before: Snapshot, after: Snapshot, changed: set[Key], added: set[Key], out: CatalogDraft
) -> None:
    s = out.statements
    # Enums first: a column's default set back below may name a label only the old type has.
    for key in sorted(changed, key=lambda k: (k[0] != "enum", k[0] != "table", k)):
        kind, was, now = key[0], before.objects[key], after.objects[key]
        if kind in ("schema",) or kind in _VIEW_KINDS:
            continue  # views: dropped above, created again below
        if kind == "table":
            _table_back(key, was, now, out)
        elif kind == "column":
            s.extend(_column_back(after, key, was, now, _user_types(before, after)))
        elif kind in ("constraint", "index", "trigger", "policy"):
            continue  # dropped first, created again below
        elif kind in ("function", "procedure"):
            s.append(str(was["definition"]).strip())
        elif kind == "sequence":
            s.append(f"ALTER SEQUENCE {key[1]} {ddl.sequence_options(was)}")
            if was.get("owned_by") != now.get("owned_by"):
                s.append(f"ALTER SEQUENCE {key[1]} OWNED BY {was.get('owned_by') or 'NONE'}")
        elif kind == "enum":
            _enum_back(before, after, key, added, out)
        elif (
            kind == "extension"
            and set(_compared(was)) == set(_compared(now))
            and was["schema"] == now["schema"]
        ):
            s.append(f"ALTER EXTENSION {key[1]} UPDATE TO {ddl.literal(str(was['version']))}")
        else:
            raise NotDrafted(f"{kind} {display_name(key[1])} changed in a way not written back")


def _table_back(key: Key, was: dict[str, object] | object, now: object, out: CatalogDraft) -> None:
    was_d, now_d = _compared(was), _compared(now)
    for attr in ("partitioned", "partition_of"):
        if was_d.get(attr) != now_d.get(attr):
            raise NotDrafted(f"table {display_name(key[1])}: its partitioning changed")
    if was_d.get("unlogged") != now_d.get("unlogged"):
        out.statements.append(f"ALTER TABLE {key[1]} SET {'UNLOGGED' if was_d.get('unlogged') else 'LOGGED'}")
    out.statements.extend(ddl.security(key[1], now_d, was_d))


def _user_types(*snaps: Snapshot) -> set[str]:
    """Names (qualified and not) of the enums, domains and other types the project defines."""
    out = set()
    for snap in snaps:
        for kind, name in snap.objects:
            if kind in _TYPE_KINDS:
                out |= {name, ddl.split_qualified(name)[-1]}
    return out


def _column_back(after: Snapshot, key: Key, was: object, now: object, user_types: set[str]) -> list[str]:
    w, n = _compared(was), _compared(now)
    table, own = child_name(after, key)
    alter = f"ALTER TABLE {table} ALTER COLUMN {own}"
    if w.get("generated") != n.get("generated"):
        raise NotDrafted(f"column {display_name(key[1])}: its generated expression changed")
    out: list[str] = []
    if w.get("identity") != n.get("identity"):
        if n.get("identity") and w.get("identity"):
            out.append(f"{alter} SET GENERATED {str(w['identity']).upper()}")
        elif n.get("identity"):
            out.append(f"{alter} DROP IDENTITY")
    type_changed = w.get("type") != n.get("type") or w.get("collation") != n.get("collation")
    if n.get("default") is not None and (type_changed or w.get("default") != n.get("default")):
        out.append(f"{alter} DROP DEFAULT")
    if type_changed:
        collate = f' COLLATE "{w["collation"]}"' if w.get("collation") else ""
        # Enums and other types of the project have no cast between them; text goes to either.
        via = (
            "::text"
            if {str(w["type"]).removesuffix("[]"), str(n["type"]).removesuffix("[]")} & user_types
            else ""
        )
        via += "[]" if via and str(w["type"]).endswith("[]") else ""
        out.append(f"{alter} TYPE {w['type']}{collate} USING {own}{via}::{w['type']}")
    if w.get("default") is not None and (type_changed or w.get("default") != n.get("default")):
        out.append(f"{alter} SET DEFAULT {w['default']}")
    if w.get("nullable") != n.get("nullable"):
        out.append(f"{alter} {'DROP' if w.get('nullable') else 'SET'} NOT NULL")
    if w.get("identity") and not n.get("identity"):
        out.append(f"{alter} ADD GENERATED {str(w['identity']).upper()} AS IDENTITY")
    return out


def _drop_child(after: Snapshot, key: Key, s: list[str]) -> None:
    """Changed constraints, indexes, triggers and policies: dropped here, created again below."""
    table, own = child_name(after, key)
    if key[0] == "constraint":
        s.append(f"ALTER TABLE {table} DROP CONSTRAINT {own}")
    elif key[0] == "index":
        s.append(f"DROP INDEX {index_name(after, key)}")
    elif key[0] == "trigger":
        s.append(f"DROP TRIGGER {own} ON {table}")
    else:
        s.append(f"DROP POLICY {own} ON {table}")


def _enum_back(before: Snapshot, after: Snapshot, key: Key, added: set[Key], out: CatalogDraft) -> None:
    was, now = list(before.objects[key].get("labels") or []), list(after.objects[key].get("labels") or [])
    name = display_name(key[1])
    if len(was) == len(now):
        renamed = [(a, b) for a, b in zip(was, now, strict=True) if a != b]
        if len(renamed) == 1:
            old, new = renamed[0]
            out.statements.append(
                f"ALTER TYPE {key[1]} RENAME VALUE {ddl.literal(new)} TO {ddl.literal(old)}"
            )
            return
    if [v for v in now if v in was] == was:
        extra = [v for v in now if v not in was]
        out.irreversible.append(
            f"enum value(s) {', '.join(extra)} added to {name} cannot be removed: Postgres has no "
            "ALTER TYPE ... DROP VALUE, and rows may use them"
        )
        out.enum_values_added.append(key[1])
        return
    # Values removed (or reordered): build the old type again and move its columns back to it.
    out.statements.extend(ddl.recreate_enum(before, after, key, added))
    if any(v not in was for v in now):
        out.irreversible.append(
            f"rows holding enum value(s) {', '.join(v for v in now if v not in was)} of {name} make this down fail"
        )


def _create_removed_objects(before: Snapshot, removed: set[Key], out: CatalogDraft) -> None:
    s = out.statements
    s.extend(ddl.create_extension(k, before.objects[k]) for k in _kind(removed, "extension"))
    s.extend(f"CREATE SCHEMA {k[1]}" for k in _kind(removed, "schema"))
    for kind in ("enum", "range", "type", "domain"):
        s.extend(ddl.create_type(k, before.objects[k]) for k in _kind(removed, kind))
    sequences = _kind(removed, "sequence")
    s.extend(ddl.create_sequence(k, before.objects[k]) for k in sequences)
    s.extend(str(before.objects[k]["definition"]).strip() for k in _kind(removed, "function", "procedure"))


def _create_removed_relations(
    before: Snapshot, removed: set[Key], changed: set[Key], out: CatalogDraft
) -> None:
    s = out.statements
    sequences = _kind(removed, "sequence")
    tables = _kind(removed, "table")
    for key in sorted(tables, key=lambda k: bool(before.objects[k].get("partition_of"))):
        s.extend(ddl.create_table(before, key))
        if not before.objects[key].get("partitioned"):
            out.irreversible.append(
                f"rows of table {display_name(key[1])}, dropped by the up, are not restored"
            )
    if _kind(removed, "foreign table"):
        raise NotDrafted("re-creating a foreign table needs its server and options")
    for key in _kind(removed, "column"):
        if before.parents.get(key) in removed:
            continue
        table, own = child_name(before, key)
        s.append(f"ALTER TABLE {table} ADD COLUMN {ddl.column_sql(own, before.objects[key])}")
        out.irreversible.append(
            f"values of column {display_name(key[1])} are not restored (the down adds the column again)"
        )
    for key in sequences:
        owner = before.objects[key].get("owned_by")
        if owner:
            s.append(f"ALTER SEQUENCE {key[1]} OWNED BY {owner}")
    again = removed | changed
    constraints = _kind(again, "constraint")
    for key in sorted(constraints, key=lambda k: ddl.is_foreign_key(before.objects[k])):
        s.append(ddl.add_constraint(before, key))
    s.extend(str(before.objects[k]["definition"]) for k in _kind(again, "index"))
    views = _kind(again, *_VIEW_KINDS)
    s.extend(ddl.create_view(k, before.objects[k]) for k in _dependency_order(before, views))
    for key in _kind(again, "trigger"):
        s.append(str(before.objects[key]["definition"]))
        state = before.objects[key].get("enabled", "O")
        if state != "O":
            s.append(ddl.trigger_state(before, key, str(state)))
    s.extend(ddl.create_policy(before, k) for k in _kind(again, "policy"))
