"""A normalized description of a database's schema, read from the catalogs, and its diff in words.

`take_snapshot` runs one catalog query (a `UNION ALL` of one branch per object
kind) and returns every user object as `(kind, name) -> attributes`: schemas,
tables (row-level security flags), columns (type, nullability, default,
identity, generated expression, collation), constraints (definition,
validity), indexes (definition, validity), views and materialized views
(definition), sequences, enum labels in order, domains, composite types,
functions and procedures (definition), triggers, extensions and row-level
security policies. Names are schema-qualified; OIDs and physical details never
appear, so two databases built by the same SQL compare equal.

Column order is recorded (`position`, counted over live columns) but is not
compared: Postgres cannot put a re-added column back in its old place, so a
down migration that re-creates a dropped column would otherwise always fail.
Objects that belong to an extension, the tool's own history schema and the
environment-marker table are left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

Key = tuple[str, str]
SCHEMA_FILE_FORMAT = "migration-guard-schema/1"

#: Attributes kept for reading (the schema file) but not compared.
UNCOMPARED = frozenset({"position"})


@cache
def _snapshot_sql() -> str:
    # Kept in a .sql file beside this module so the query reads (and diffs) as SQL.
    return resources.files("guard.db").joinpath("snapshot.sql").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Snapshot:
    """Every user object of a database: `(kind, name) -> attributes`, plus each child's parent."""

    objects: Mapping[Key, Mapping[str, Any]]
    parents: Mapping[Key, Key] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.objects)

    def to_document(self) -> dict[str, Any]:
        """The schema-file document: sorted, one entry per object, stable across runs."""
        return {
            "format": SCHEMA_FILE_FORMAT,
            "objects": {
                f"{kind} {name}": dict(sorted(self.objects[(kind, name)].items()))
                for kind, name in sorted(self.objects)
            },
            "parents": {f"{k[0]} {k[1]}": f"{p[0]} {p[1]}" for k, p in sorted(self.parents.items())},
        }

    def to_text(self) -> str:
        """The schema file's text: indented JSON with sorted keys and a final newline."""
        return json.dumps(self.to_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_document(cls, doc: Any) -> Snapshot:
        """Read a document written by `to_document`; raises ValueError when it is not one."""
        if not isinstance(doc, dict) or doc.get("format") != SCHEMA_FILE_FORMAT:
            raise ValueError(f"not a {SCHEMA_FILE_FORMAT} document")
        objects: dict[Key, Mapping[str, Any]] = {}
        for label, attrs in (doc.get("objects") or {}).items():
            if not isinstance(attrs, dict):
                raise ValueError(f"object {label!r} is not a JSON object")
            objects[_split_label(label)] = attrs
        parents = {_split_label(k): _split_label(v) for k, v in (doc.get("parents") or {}).items()}
        return cls(objects, parents)


def _split_label(label: str) -> Key:
    # Kinds are known words; names may contain spaces when quoted, so match the kind first.
    for kind in sorted(KIND_WORDS, key=len, reverse=True):
        if label.startswith(kind + " "):
            return kind, label[len(kind) + 1 :]
    raise ValueError(f"unknown object label {label!r}")


KIND_WORDS = frozenset(
    {
        "schema",
        "table",
        "view",
        "materialized view",
        "foreign table",
        "column",
        "type",
        "constraint",
        "index",
        "sequence",
        "enum",
        "domain",
        "range",
        "function",
        "procedure",
        "trigger",
        "policy",
        "extension",
    }
)


def take_snapshot(
    conn: psycopg.Connection,
    *,
    exclude_schemas: Iterable[str] = (),
    marker_table: str = "public.bk_env_marker",
) -> Snapshot:
    """Describe every user object of the database `conn` is connected to (one catalog query).

    `exclude_schemas` (the tool's history schema) and `marker_table`
    (`schema.table`, the environment marker) are left out.
    """
    rows = conn.execute(_snapshot_sql(), {"skip": list(exclude_schemas), "marker": marker_table}).fetchall()
    objects: dict[Key, Mapping[str, Any]] = {}
    parents: dict[Key, Key] = {}
    for kind, name, parent, attrs in rows:
        key = (kind, name)
        objects[key] = {k: v for k, v in attrs.items() if v is not None}
        if parent:
            pkind, _, pname = parent.partition(":")
            parents[key] = (pkind, pname)
    return Snapshot(objects, parents)


@dataclass(frozen=True)
class Change:
    """One object that differs: `missing` (expected, not found), `extra` (found, not expected) or `changed`."""

    kind: str
    name: str
    change: str
    #: For `changed`: (attribute, expected value, actual value).
    details: tuple[tuple[str, Any, Any], ...] = ()

    @property
    def label(self) -> str:
        """`column users.email`: the kind and the name without the `public.` prefix."""
        return f"{self.kind} {display_name(self.name)}"

    def describe_details(self) -> str:
        """`type was text, is now integer; nullable was true, is now false`."""
        parts = []
        for attr, expected, actual in self.details:
            parts.append(f"{attr.replace('_', ' ')} was {_show(expected)}, is now {_show(actual)}")
        return "; ".join(parts)


def display_name(name: str) -> str:
    """A qualified name as people write it: the `public.` schema dropped."""
    return name[len("public.") :] if name.startswith("public.") else name


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    text = " ".join(str(value).split())
    return text if len(text) <= 120 else text[:117] + "..."


def diff_snapshots(expected: Snapshot, actual: Snapshot) -> list[Change]:
    """What differs between two snapshots, in a stable order.

    A missing or extra table hides its columns, constraints, indexes, triggers
    and policies: one line "table users" says it all.
    """
    changes: list[Change] = []
    missing = expected.objects.keys() - actual.objects.keys()
    extra = actual.objects.keys() - expected.objects.keys()
    for key in sorted(missing):
        if expected.parents.get(key) not in missing:
            changes.append(Change(key[0], key[1], "missing"))
    for key in sorted(extra):
        if actual.parents.get(key) not in extra:
            changes.append(Change(key[0], key[1], "extra"))
    for key in sorted(expected.objects.keys() & actual.objects.keys()):
        before, after = expected.objects[key], actual.objects[key]
        details = tuple(
            (attr, before.get(attr), after.get(attr))
            for attr in sorted(before.keys() | after.keys())
            if attr not in UNCOMPARED and before.get(attr) != after.get(attr)
        )
        if details:
            changes.append(Change(key[0], key[1], "changed", details))
    order = {"missing": 0, "extra": 1, "changed": 2}
    changes.sort(key=lambda c: (order[c.change], c.kind != "table", c.kind, c.name))
    return changes


# --- table contents --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableData:
    """Row count and content hashes of one table: of whole rows and of each column's sorted values."""

    rows: int
    row_hash: str
    columns: Mapping[str, str]


@dataclass(frozen=True)
class DataChange:
    """Table contents that differ between two data fingerprints."""

    table: str
    rows_before: int
    rows_after: int
    #: Columns (present both times) whose values differ.
    columns: tuple[str, ...]

    @property
    def table_display(self) -> str:
        """The table's name without the `public.` prefix."""
        return display_name(self.table)

    def describe(self) -> str:
        """`3 rows before, 0 after` or `values of column name differ (3 rows before and after)`."""
        if self.rows_before != self.rows_after:
            text = f"{self.rows_before} rows before, {self.rows_after} after"
            return text + (f"; values of {_columns(self.columns)} differ" if self.columns else "")
        if self.columns:
            return f"values of {_columns(self.columns)} differ ({self.rows_before} rows before and after)"
        return f"row contents differ ({self.rows_before} rows before and after)"


def _columns(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return ("column " if len(names) == 1 else "columns ") + shown


def table_columns(snapshot: Snapshot) -> dict[str, list[str]]:
    """Tables that hold rows (not partitioned parents, views or foreign tables) -> their columns in order."""
    out: dict[str, list[tuple[int, str]]] = {
        name: []
        for (kind, name), attrs in snapshot.objects.items()
        if kind == "table" and not attrs.get("partitioned")
    }
    for key, parent in snapshot.parents.items():
        if key[0] == "column" and parent[1] in out:
            position = int(snapshot.objects[key].get("position", 0))
            out[parent[1]].append((position, key[1][len(parent[1]) + 1 :]))
    return {name: [col for _, col in sorted(cols)] for name, cols in sorted(out.items())}


def data_fingerprint(conn: psycopg.Connection, snapshot: Snapshot) -> dict[str, TableData]:
    """Row count and content hashes of every table in `snapshot` (one query for all tables).

    Column hashes are over each column's sorted values, so a reordered or
    re-added column still compares equal when its values survived.
    """
    from psycopg import sql

    parts = []
    for table, columns in table_columns(snapshot).items():
        # Names come from the catalog's quote_ident, so they are valid quoted identifiers.
        col_hashes = [
            sql.SQL(
                "md5(coalesce(string_agg(quote_nullable(t.{c}::text), E'\\n' "
                "ORDER BY quote_nullable(t.{c}::text)), ''))"
            ).format(c=sql.SQL(col))
            for col in columns
        ]
        parts.append(
            sql.SQL(
                "SELECT {label}::text, count(*), md5(coalesce(string_agg(to_jsonb(t)::text, E'\\n' "
                "ORDER BY to_jsonb(t)::text), '')), jsonb_object({names}::text[], ARRAY[{hashes}]::text[]) "
                "FROM {table} AS t"
            ).format(
                label=sql.Literal(table),
                names=sql.Literal(columns),
                hashes=sql.SQL(", ").join(col_hashes) if col_hashes else sql.SQL(""),
                table=sql.SQL(table),
            )
        )
    if not parts:
        return {}
    rows = conn.execute(sql.SQL(" UNION ALL ").join(parts)).fetchall()
    return {label: TableData(count, row_hash, cols) for label, count, row_hash, cols in rows}


def diff_data(before: Mapping[str, TableData], after: Mapping[str, TableData]) -> list[DataChange]:
    """Tables present both times whose row count or contents differ."""
    changes = []
    for table in sorted(before.keys() & after.keys()):
        b, a = before[table], after[table]
        common = [c for c in b.columns if c in a.columns]
        differing = tuple(display_name(c) for c in common if b.columns[c] != a.columns[c])
        same_shape = set(b.columns) == set(a.columns)
        if b.rows != a.rows or differing or (same_shape and b.row_hash != a.row_hash):
            changes.append(DataChange(table, b.rows, a.rows, differing))
    return changes
