"""DDL for one catalog object, written from its snapshot attributes (`guard.db.snapshot`).

The snapshot holds what Postgres itself prints for an object (`pg_get_constraintdef`,
`pg_get_indexdef`, `pg_get_viewdef`, `pg_get_functiondef`, `pg_get_triggerdef`, column
types from `format_type`), so SQL written from it re-creates the object as the snapshot
will read it back. Names are the snapshot's: already quoted with `quote_ident`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guard.db.snapshot import Key, Snapshot

Attrs = Mapping[str, Any]

_POLICY_COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}
_TRIGGER_STATES = {"O": "ENABLE", "D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}


class NotDrafted(Exception):
    """The catalog difference has a change this module cannot write back; the message says which."""


def split_qualified(name: str) -> list[str]:
    """`public."a.b".c` -> [`public`, `"a.b"`, `c`]: split on dots outside double quotes."""
    parts, current, quoted = [], "", False
    for ch in name:
        if ch == '"':
            quoted = not quoted
        if ch == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def child_name(snap: Snapshot, key: Key) -> tuple[str, str]:
    """(parent's qualified name, the child's own name) of a column, constraint, index, trigger or policy."""
    parent = snap.parents.get(key)
    if parent is None or not key[1].startswith(parent[1] + "."):
        raise NotDrafted(f"{key[0]} {key[1]}: its table is not known")
    return parent[1], key[1][len(parent[1]) + 1 :]


def index_name(snap: Snapshot, key: Key) -> str:
    """The schema-qualified name `DROP INDEX` takes (indexes live in their table's schema)."""
    table, own = child_name(snap, key)
    return f"{split_qualified(table)[0]}.{own}"


def column_sql(name: str, attrs: Attrs) -> str:
    """A column definition: type, collation, identity or generated expression, default, NOT NULL."""
    out = f"{name} {attrs['type']}"
    if attrs.get("collation"):
        out += f' COLLATE "{attrs["collation"]}"'
    if attrs.get("generated"):
        out += f" GENERATED ALWAYS AS ({_unwrap(attrs['generated'])}) STORED"
    if attrs.get("identity"):
        out += f" GENERATED {attrs['identity'].upper()} AS IDENTITY"
    if attrs.get("default") is not None:
        out += f" DEFAULT {attrs['default']}"
    if attrs.get("nullable") is False:
        out += " NOT NULL"
    return out


def _unwrap(expression: str) -> str:
    text = expression.strip()
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text


def create_table(snap: Snapshot, key: Key) -> list[str]:
    """CREATE TABLE with its columns in their recorded order, and its row-level security flags."""
    attrs = snap.objects[key]
    if attrs.get("partitioned"):
        raise NotDrafted(f"table {key[1]}: re-creating a partitioned table needs its partition key")
    name = key[1]
    unlogged = "UNLOGGED " if attrs.get("unlogged") else ""
    if attrs.get("partition_of"):
        out = [f"CREATE {unlogged}TABLE {name} PARTITION OF {attrs['partition_of']}"]
    else:
        columns = sorted(
            (
                (int(snap.objects[k].get("position", 0)), child_name(snap, k)[1], snap.objects[k])
                for k, p in snap.parents.items()
                if p == key and k[0] == "column"
            ),
            key=lambda c: c[0],
        )
        body = ",\n    ".join(column_sql(col, a) for _, col, a in columns)
        out = [
            f"CREATE {unlogged}TABLE {name} (\n    {body}\n)" if body else f"CREATE {unlogged}TABLE {name} ()"
        ]
    return out + security(name, {}, attrs)


def security(table: str, now: Attrs, wanted: Attrs) -> list[str]:
    """ALTER TABLE statements taking row-level security flags from `now` to `wanted`."""
    out = []
    if bool(now.get("row_level_security")) != bool(wanted.get("row_level_security")):
        verb = "ENABLE" if wanted.get("row_level_security") else "DISABLE"
        out.append(f"ALTER TABLE {table} {verb} ROW LEVEL SECURITY")
    if bool(now.get("force_row_level_security")) != bool(wanted.get("force_row_level_security")):
        verb = "FORCE" if wanted.get("force_row_level_security") else "NO FORCE"
        out.append(f"ALTER TABLE {table} {verb} ROW LEVEL SECURITY")
    return out


def add_constraint(snap: Snapshot, key: Key) -> str:
    """ALTER TABLE ... ADD CONSTRAINT with Postgres's own definition (NOT VALID when it was not validated)."""
    table, own = child_name(snap, key)
    attrs = snap.objects[key]
    not_valid = "" if attrs.get("valid", True) else " NOT VALID"
    return f"ALTER TABLE {table} ADD CONSTRAINT {own} {attrs['definition']}{not_valid}"


def is_foreign_key(attrs: Attrs) -> bool:
    """Whether a constraint's definition is a foreign key (added after the keys it references)."""
    return str(attrs.get("definition", "")).startswith("FOREIGN KEY")


def create_view(key: Key, attrs: Attrs) -> str:
    """CREATE [MATERIALIZED] VIEW from the recorded definition."""
    kind = "MATERIALIZED VIEW" if key[0] == "materialized view" else "VIEW"
    definition = str(attrs["definition"]).strip().rstrip(";")
    return f"CREATE {kind} {key[1]} AS\n{definition}"


def create_sequence(key: Key, attrs: Attrs) -> str:
    """CREATE SEQUENCE with every recorded parameter (ownership is set after its table exists)."""
    return f"CREATE SEQUENCE {key[1]} {sequence_options(attrs)}"


def sequence_options(attrs: Attrs) -> str:
    """The options of CREATE/ALTER SEQUENCE for the recorded parameters."""
    cycle = "CYCLE" if attrs.get("cycle") else "NO CYCLE"
    return (
        f"AS {attrs['type']} INCREMENT BY {attrs['increment']} MINVALUE {attrs['min']} "
        f"MAXVALUE {attrs['max']} START WITH {attrs['start']} CACHE {attrs['cache']} {cycle}"
    )


def create_type(key: Key, attrs: Attrs) -> str:
    """CREATE TYPE / DOMAIN for an enum, range, composite type or domain."""
    kind, name = key
    if kind == "enum":
        labels = ", ".join(literal(label) for label in attrs.get("labels") or [])
        return f"CREATE TYPE {name} AS ENUM ({labels})"
    if kind == "range":
        return f"CREATE TYPE {name} AS RANGE (subtype = {attrs['subtype']})"
    if kind == "type":
        return f"CREATE TYPE {name} AS ({', '.join(attrs.get('composite') or [])})"
    if kind == "domain":
        out = f"CREATE DOMAIN {name} AS {attrs['type']}"
        if attrs.get("default") is not None:
            out += f" DEFAULT {attrs['default']}"
        if attrs.get("nullable") is False:
            out += " NOT NULL"
        for check in attrs.get("checks") or []:
            out += f" {check}"
        return out
    raise NotDrafted(f"{kind} {name}: not a type")


def drop_type(key: Key) -> str:
    """DROP TYPE or DROP DOMAIN."""
    return f"DROP {'DOMAIN' if key[0] == 'domain' else 'TYPE'} {key[1]}"


def create_policy(snap: Snapshot, key: Key) -> str:
    """CREATE POLICY from the recorded command, roles and expressions."""
    table, own = child_name(snap, key)
    attrs = snap.objects[key]
    kind = "PERMISSIVE" if attrs.get("permissive", True) else "RESTRICTIVE"
    roles = ", ".join("PUBLIC" if r == "public" else str(r) for r in attrs.get("roles") or ["public"])
    out = f"CREATE POLICY {own} ON {table} AS {kind} FOR {_POLICY_COMMANDS[attrs.get('command', '*')]} TO {roles}"
    if attrs.get("using"):
        out += f" USING ({_unwrap(attrs['using'])})"
    if attrs.get("with_check"):
        out += f" WITH CHECK ({_unwrap(attrs['with_check'])})"
    return out


def trigger_state(snap: Snapshot, key: Key, state: str) -> str:
    """ALTER TABLE ... ENABLE/DISABLE TRIGGER for a recorded `tgenabled` state."""
    table, own = child_name(snap, key)
    return f"ALTER TABLE {table} {_TRIGGER_STATES.get(state, 'ENABLE')} TRIGGER {own}"


def create_extension(key: Key, attrs: Attrs) -> str:
    """CREATE EXTENSION in its recorded schema and version."""
    return f"CREATE EXTENSION {key[1]} WITH SCHEMA {attrs['schema']} VERSION {literal(str(attrs['version']))}"


def recreate_enum(before: Snapshot, after: Snapshot, key: Key, dropped: set[Key]) -> list[str]:
    """Statements that replace enum `key` by a new type with its old labels, moving every column
    of the enum (or an array of it) over, defaults included; `dropped` columns are already gone."""
    schema, own = split_qualified(key[1])[0], split_qualified(key[1])[-1]
    old_type = '"' + own.strip('"').replace('"', '""') + '__guard_old"'
    labels = ", ".join(literal(v) for v in before.objects[key].get("labels") or [])
    out = [f"ALTER TYPE {key[1]} RENAME TO {old_type}", f"CREATE TYPE {key[1]} AS ENUM ({labels})"]
    names = {key[1], own}
    for col, attrs in sorted(after.objects.items()):
        if col[0] != "column" or col in dropped or after.parents.get(col) in dropped:
            continue
        kind = str(attrs.get("type", ""))
        array = kind.endswith("[]")
        if kind.removesuffix("[]") not in names:
            continue
        table, column = child_name(after, col)
        alter = f"ALTER TABLE {table} ALTER COLUMN {column}"
        if attrs.get("default") is not None:
            out.append(f"{alter} DROP DEFAULT")
        suffix = "[]" if array else ""
        out.append(f"{alter} TYPE {key[1]}{suffix} USING {column}::text{suffix}::{key[1]}{suffix}")
        default = before.objects.get(col, {}).get("default")
        if default is not None:
            out.append(f"{alter} SET DEFAULT {default}")
    out.append(f"DROP TYPE {schema}.{old_type}")
    return out


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
