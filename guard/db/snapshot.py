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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

Key = tuple[str, str]
SCHEMA_FILE_FORMAT = "migration-guard-schema/1"

#: Attributes kept for reading (the schema file) but not compared.
UNCOMPARED = frozenset({"position"})

#: Kinds whose name is `schema.table.child`; dropped with their table, so not reported separately.
CHILD_KINDS = frozenset({"column", "constraint", "index", "trigger", "policy"})

# `$1` = excluded schemas (history schema, system schemas), `$2` = marker table as `schema.table`.
# `user_ns` / `user_rel` keep out system schemas, extension members and excluded relations.
SNAPSHOT_SQL = """
WITH user_ns AS (
  SELECT n.oid, n.nspname FROM pg_namespace n
  WHERE n.nspname <> ALL(%(skip)s::text[])
    AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                    AND d.objid = n.oid AND d.deptype = 'e')
), ext_member AS (
  SELECT d.classid, d.objid FROM pg_depend d WHERE d.deptype = 'e'
), user_rel AS (
  SELECT c.oid, c.relname, c.relkind, ns.nspname, quote_ident(ns.nspname) || '.' || quote_ident(c.relname) AS qname,
         c.relrowsecurity, c.relforcerowsecurity, c.relpersistence, c.relispartition
  FROM pg_class c JOIN user_ns ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c', 'i', 'I')
    AND NOT EXISTS (SELECT 1 FROM ext_member e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid)
    AND ns.nspname || '.' || c.relname <> %(marker)s
)
SELECT 'schema', quote_ident(nspname), NULL, '{}'::jsonb FROM user_ns
UNION ALL
SELECT CASE relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
       ELSE 'table' END,
       qname, NULL,
       CASE WHEN relkind = 'v' THEN jsonb_build_object('definition', pg_get_viewdef(oid, true))
            WHEN relkind = 'm' THEN jsonb_build_object('definition', pg_get_viewdef(oid, true))
            ELSE jsonb_build_object('partitioned', relkind = 'p', 'unlogged', relpersistence = 'u',
                   'row_level_security', relrowsecurity, 'force_row_level_security', relforcerowsecurity,
                   'partition_of', (SELECT quote_ident(pn.nspname) || '.' || quote_ident(pc.relname)
                                    || ' ' || pg_get_expr(r.relpartbound, r.oid)
                                    FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                                    JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                                    JOIN pg_class r ON r.oid = i.inhrelid
                                    WHERE i.inhrelid = user_rel.oid AND user_rel.relispartition)) END
FROM user_rel WHERE relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL
SELECT 'column', r.qname || '.' || quote_ident(a.attname), 'table:' || r.qname,
       jsonb_build_object(
         'type', format_type(a.atttypid, a.atttypmod),
         'nullable', NOT a.attnotnull,
         'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
         'identity', CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
         'generated', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
         'collation', CASE WHEN a.attcollation <> t.typcollation THEN
                        (SELECT collname FROM pg_collation WHERE oid = a.attcollation) END,
         'position', row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum))
FROM user_rel r JOIN pg_attribute a ON a.attrelid = r.oid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE r.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'type', r.qname, NULL,
       jsonb_build_object('composite', (SELECT jsonb_agg(quote_ident(a.attname) || ' '
                                        || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
                                        FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attnum > 0
                                        AND NOT a.attisdropped))
FROM user_rel r WHERE r.relkind = 'c'
UNION ALL
SELECT 'constraint', r.qname || '.' || quote_ident(con.conname), 'table:' || r.qname,
       jsonb_build_object('definition', pg_get_constraintdef(con.oid, true), 'valid', con.convalidated)
FROM pg_constraint con JOIN user_rel r ON r.oid = con.conrelid
WHERE con.conislocal OR con.contype NOT IN ('c', 'n')
UNION ALL
SELECT 'index', quote_ident(r.nspname) || '.' || quote_ident(t.relname) || '.' || quote_ident(r.relname),
       CASE WHEN t.relkind = 'm' THEN 'materialized view:' ELSE 'table:' END
         || quote_ident(r.nspname) || '.' || quote_ident(t.relname),
       jsonb_build_object('definition', pg_get_indexdef(i.indexrelid), 'valid', i.indisvalid)
FROM pg_index i JOIN user_rel r ON r.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                  AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
UNION ALL
SELECT 'sequence', r.qname, CASE WHEN o.tbl IS NOT NULL THEN 'table:' || o.tbl END,
       jsonb_build_object('type', format_type(s.seqtypid, NULL), 'start', s.seqstart::text,
         'increment', s.seqincrement::text, 'min', s.seqmin::text, 'max', s.seqmax::text,
         'cycle', s.seqcycle, 'cache', s.seqcache::text, 'owned_by', o.tbl || '.' || o.col)
FROM user_rel r JOIN pg_sequence s ON s.seqrelid = r.oid
LEFT JOIN LATERAL (
  SELECT quote_ident(tn.nspname) || '.' || quote_ident(tc.relname) AS tbl, quote_ident(ta.attname) AS col
  FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid
  JOIN pg_namespace tn ON tn.oid = tc.relnamespace
  JOIN pg_attribute ta ON ta.attrelid = d.refobjid AND ta.attnum = d.refobjsubid
  WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid AND d.deptype = 'a' LIMIT 1) o ON true
WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = r.oid AND d.deptype = 'i')
UNION ALL
SELECT CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' ELSE 'range' END,
       quote_ident(ns.nspname) || '.' || quote_ident(t.typname), NULL,
       CASE t.typtype
         WHEN 'e' THEN jsonb_build_object('labels', (SELECT jsonb_agg(e.enumlabel ORDER BY e.enumsortorder)
                                                     FROM pg_enum e WHERE e.enumtypid = t.oid))
         WHEN 'd' THEN jsonb_build_object('type', format_type(t.typbasetype, t.typtypmod),
                         'nullable', NOT t.typnotnull, 'default', t.typdefault,
                         'checks', (SELECT jsonb_agg(pg_get_constraintdef(c.oid, true) ORDER BY c.conname)
                                    FROM pg_constraint c WHERE c.contypid = t.oid))
         ELSE jsonb_build_object('subtype', (SELECT format_type(rngsubtype, NULL) FROM pg_range
                                             WHERE rngtypid = t.oid)) END
FROM pg_type t JOIN user_ns ns ON ns.oid = t.typnamespace
WHERE t.typtype IN ('e', 'd', 'r')
  AND NOT EXISTS (SELECT 1 FROM ext_member e WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid)
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
       quote_ident(ns.nspname) || '.' || quote_ident(p.proname)
         || '(' || pg_get_function_identity_arguments(p.oid) || ')', NULL,
       jsonb_build_object('definition', CASE WHEN p.prokind = 'a' THEN 'aggregate'
                                             ELSE pg_get_functiondef(p.oid) END)
FROM pg_proc p JOIN user_ns ns ON ns.oid = p.pronamespace
WHERE NOT EXISTS (SELECT 1 FROM ext_member e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid)
UNION ALL
SELECT 'trigger', r.qname || '.' || quote_ident(tg.tgname), 'table:' || r.qname,
       jsonb_build_object('definition', pg_get_triggerdef(tg.oid, true), 'enabled', tg.tgenabled::text)
FROM pg_trigger tg JOIN user_rel r ON r.oid = tg.tgrelid
WHERE NOT tg.tgisinternal
UNION ALL
SELECT 'policy', r.qname || '.' || quote_ident(pol.polname), 'table:' || r.qname,
       jsonb_build_object('command', pol.polcmd::text, 'permissive', pol.polpermissive,
         'roles', (SELECT jsonb_agg(CASE WHEN x = 0 THEN 'public' ELSE x::regrole::text END ORDER BY x)
                   FROM unnest(pol.polroles) AS x),
         'using', pg_get_expr(pol.polqual, pol.polrelid), 'with_check', pg_get_expr(pol.polwithcheck, pol.polrelid))
FROM pg_policy pol JOIN user_rel r ON r.oid = pol.polrelid
UNION ALL
SELECT 'extension', quote_ident(x.extname), NULL,
       jsonb_build_object('schema', x.extnamespace::regnamespace::text, 'version', x.extversion)
FROM pg_extension x WHERE x.extname <> 'plpgsql'
"""


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
    rows = conn.execute(SNAPSHOT_SQL, {"skip": list(exclude_schemas), "marker": marker_table}).fetchall()
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
