"""Schema hygiene warnings: types that cost an outage later (`int` keys that overflow,
`json`, `serial`, `timestamp` without time zone, `char(n)`, `varchar(n)`), identifiers
Postgres silently truncates, and enum values appended out of order.

They look at the columns a statement declares: `CREATE TABLE` column lists, `ADD
COLUMN`, and the new type of `ALTER COLUMN ... TYPE`, read from the statement model
(`Statement.fact`) only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from guard.lint.context import FileContext
from guard.lint.registry import rule
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql import facts as f
from guard.sql.record import fields
from guard.sql.types import TypeSpec

MAX_IDENTIFIER_BYTES = 63


@dataclass(frozen=True)
class Declared:
    """One column type a statement declares, with where it lives."""

    table: str
    column: str
    type: TypeSpec
    type_text: str
    key: bool


def declared_columns(fact: f.Fact) -> list[Declared]:
    """Column types declared by `CREATE TABLE`, `ADD COLUMN` and `ALTER COLUMN ... TYPE`."""
    out: list[Declared] = []
    if isinstance(fact, f.CreateTable):
        keys = {
            c
            for cons in fact.constraints
            if cons.kind in (f.PRIMARY_KEY, f.FOREIGN_KEY)
            for c in cons.columns
        }
        for col in fact.columns:
            _add(out, fact.table.shown, col, col.name.key in keys)
    elif isinstance(fact, f.AlterTable):
        for action in fact.actions:
            if isinstance(action, f.AddColumn):
                _add(out, fact.table.shown, action.column, False)
            elif isinstance(action, f.AlterColumnType) and action.type is not None:
                out.append(
                    Declared(fact.table.shown, action.column.shown, action.type, action.type_sql, False)
                )
    return out


def _add(out: list[Declared], table: str, col: f.Column, key: bool) -> None:
    if col.type is not None:
        is_key = key or col.primary_key or col.references is not None
        out.append(Declared(table, col.name.shown, col.type, col.type_sql, is_key))


#: (fact, its declared columns) of the statement read last: six rules ask in turn about each
#: statement, so each is read once (one tuple, replaced whole, so threads never see a mix).
_last: tuple[f.Fact | None, list[Declared]] = (None, [])


def _columns(stmt: Statement) -> list[Declared]:
    global _last
    fact = stmt.fact
    last = _last
    if last[0] is not fact:
        last = _last = (fact, declared_columns(fact))
    return last[1]


_FACTS = (f.CreateTable, f.AlterTable)


@rule(
    id="prefer-jsonb",
    severity=Severity.WARNING,
    family="hygiene",
    summary="A `json` column where `jsonb` fits.",
    why="""
        `json` stores the text as written: no equality operator (so no DISTINCT, GROUP BY or unique
        index), no GIN indexing, and every access re-parses it. Changing it later is a table
        rewrite under ACCESS EXCLUSIVE.
    """,
    fix="Use `jsonb` unless you need key order or duplicate keys preserved.",
    bad="CREATE TABLE events (payload json);",
    good="CREATE TABLE events (payload jsonb);",
    facts=_FACTS,
)
def prefer_jsonb(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    for d in _columns(stmt):
        if d.type.name == "json":
            yield Hit(f"{d.table}.{d.column} is json", f"declare {d.column} as jsonb")


@rule(
    id="prefer-bigint-key",
    severity=Severity.WARNING,
    family="hygiene",
    summary="A primary or foreign key column of type `integer`/`smallint` (or `serial`), which can overflow.",
    why="""
        An `integer` key runs out at 2,147,483,647 (`smallint` at 32,767); inserts then fail until
        the column is widened, which rewrites the table and every referencing table under ACCESS
        EXCLUSIVE. `bigint` costs 4 bytes more per row.
    """,
    fix="Use `bigint` (or `bigint GENERATED ALWAYS AS IDENTITY`) for keys and the columns that reference them.",
    bad="CREATE TABLE users (id integer PRIMARY KEY);",
    good="CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
    facts=_FACTS,
)
def prefer_bigint_key(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    for d in _columns(stmt):
        if d.key and d.type.name in ("integer", "smallint", "serial", "smallserial", "serial4", "serial2"):
            wider = "bigserial" if "serial" in d.type.name else "bigint"
            yield Hit(
                f"key column {d.table}.{d.column} is {d.type.name}, which overflows at "
                + ("32,767" if "small" in d.type.name or d.type.name == "serial2" else "2,147,483,647"),
                f"declare {d.column} as {wider}",
            )


@rule(
    id="prefer-identity",
    severity=Severity.WARNING,
    family="hygiene",
    summary="A `serial`/`bigserial` column where an identity column fits.",
    why="""
        `serial` creates a separately owned sequence with loose permissions and dump/restore quirks;
        SQL-standard identity columns (`GENERATED ... AS IDENTITY`, Postgres 10+) tie the sequence
        to the column.
    """,
    fix="Use `bigint GENERATED ALWAYS AS IDENTITY` (or `BY DEFAULT` if rows are inserted with explicit ids).",
    bad="CREATE TABLE users (id bigserial PRIMARY KEY);",
    good="CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
    facts=_FACTS,
)
def prefer_identity(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    if ctx.pg_version < 10:
        return
    for d in _columns(stmt):
        if d.type.name in ("serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"):
            base = "bigint" if d.type.name in ("bigserial", "serial8") else "integer"
            yield Hit(
                f"{d.table}.{d.column} is {d.type.name}",
                f"declare {d.column} as {base} GENERATED ALWAYS AS IDENTITY",
            )


@rule(
    id="prefer-timestamptz",
    severity=Severity.WARNING,
    family="hygiene",
    summary="A `timestamp` (without time zone) column.",
    why="""
        `timestamp without time zone` stores wall-clock time with no zone, so values written from
        sessions in different zones (or across DST changes) silently disagree. Converting later is a
        table rewrite under ACCESS EXCLUSIVE.
    """,
    fix="Use `timestamptz` (`timestamp with time zone`), which stores an absolute instant.",
    bad="CREATE TABLE events (created_at timestamp);",
    good="CREATE TABLE events (created_at timestamptz);",
    facts=_FACTS,
)
def prefer_timestamptz(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    for d in _columns(stmt):
        if d.type.name == "timestamp":
            yield Hit(
                f"{d.table}.{d.column} is timestamp without time zone", f"declare {d.column} as timestamptz"
            )


@rule(
    id="avoid-char-type",
    severity=Severity.WARNING,
    family="hygiene",
    summary="A `char(n)` / `character(n)` column.",
    why="""
        `char(n)` pads values with spaces, compares ignoring them, and is no faster than `text` in
        Postgres; its length limit needs a table rewrite to change.
    """,
    fix="Use `text` (with a `CHECK (length(col) = n)` if the length matters).",
    bad="CREATE TABLE countries (code char(2));",
    good="CREATE TABLE countries (code text CHECK (length(code) = 2));",
    facts=_FACTS,
)
def avoid_char_type(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    for d in _columns(stmt):
        if d.type.name == "bpchar":
            yield Hit(f"{d.table}.{d.column} is {d.type_text}", f"declare {d.column} as text")


@rule(
    id="prefer-text",
    severity=Severity.WARNING,
    family="hygiene",
    summary="A `varchar(n)` column where `text` plus a check constraint fits.",
    why="""
        A `varchar(n)` limit is the same storage as `text`, and shrinking the limit later rescans
        the table under ACCESS EXCLUSIVE. A `CHECK (length(col) <= n)` can be added `NOT VALID` and
        validated online, and changed without a rewrite.
    """,
    fix="Use `text` with `CHECK (char_length(col) <= n)` when the limit matters.",
    bad="CREATE TABLE users (email varchar(255));",
    good="CREATE TABLE users (email text CHECK (char_length(email) <= 255));",
    facts=_FACTS,
)
def prefer_text(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    for d in _columns(stmt):
        if d.type.name == "varchar" and d.type.params:
            yield Hit(
                f"{d.table}.{d.column} is {d.type_text}",
                f"declare {d.column} as text CHECK (char_length({d.column}) <= {d.type.params[0]})",
            )


@rule(
    id="identifier-too-long",
    severity=Severity.WARNING,
    family="hygiene",
    summary="An identifier longer than 63 bytes, which Postgres silently truncates.",
    why="""
        Postgres truncates identifiers to 63 bytes without an error, so two long names can collide
        and later migrations that spell the full name address the truncated object only by luck.
    """,
    fix="Choose a name of at most 63 bytes.",
    bad="CREATE TABLE customer_subscription_billing_cycle_adjustment_history_entries_v2 (id bigint);",
    good="CREATE TABLE subscription_adjustments (id bigint);",
    facts=(f.CreateTable, f.CreateIndex, f.CreateObject, f.AlterTable, f.Rename, f.AlterOther),
)
def identifier_too_long(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    seen: set[str] = set()
    for name in _long_names(stmt.fact):
        if name.key not in seen:
            seen.add(name.key)
            size = len(name.key.encode())
            yield Hit(
                f"identifier {name.shown.rsplit('.', 1)[-1]} is {size} bytes; Postgres keeps only the first 63",
                f"rename it to at most 63 bytes (it is stored as {name.key.encode()[:63].decode(errors='ignore')!r})",
            )


def _long_names(fact: f.Fact) -> list[f.Name]:
    """The names longer than 63 bytes a fact holds (at any depth), in field order."""
    out: list[f.Name] = []
    stack: list[object] = [fact]
    while stack:
        value = stack.pop()
        if isinstance(value, f.Name):
            # A character is at most 4 bytes: shorter keys cannot qualify (checked first, cheaply).
            if len(value.key) > MAX_IDENTIFIER_BYTES // 4 and len(value.key.encode()) > MAX_IDENTIFIER_BYTES:
                out.append(value)
        elif isinstance(value, tuple):
            stack.extend(reversed(value))
        elif value is not None:  # a record (`name: Name | None` may hold None)
            stack.extend(getattr(value, name) for name in reversed(_name_fields(type(value))))
    return out


#: Per record class, the fields that may hold a name (a `Name`, or records or tuples holding one).
_NAME_FIELDS: dict[type, tuple[str, ...]] = {}
_HOLDS_NAMES = ("Name", "Column", "Constraint", "Action")


def _name_fields(cls: type) -> tuple[str, ...]:
    found = _NAME_FIELDS.get(cls)
    if found is None:
        found = _NAME_FIELDS[cls] = tuple(
            fld.name for fld in fields(cls) if any(word in fld.type for word in _HOLDS_NAMES)
        )
    return found


@rule(
    id="enum-value-order",
    severity=Severity.INFO,
    family="hygiene",
    summary="`ALTER TYPE ... ADD VALUE` without `BEFORE`/`AFTER` appends the value at the end of the enum's order.",
    why="""
        Enum values sort in declaration order. If the enum is ordered (statuses, levels) and code
        compares or sorts by it, appending a value puts it after every existing one; that order
        cannot be changed later without recreating the type.
    """,
    fix="Say where the value belongs with `ADD VALUE 'x' BEFORE 'y'` / `AFTER 'y'` when the order matters.",
    bad="ALTER TYPE severity ADD VALUE 'critical';",
    good="ALTER TYPE severity ADD VALUE 'critical' AFTER 'high';",
    facts=(f.AlterEnum,),
)
def enum_value_order(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    fact = stmt.fact
    assert isinstance(fact, f.AlterEnum)
    if fact.before is not None or fact.after is not None:
        return
    yield Hit(
        "ADD VALUE appends the new enum value after all existing ones",
        "add `BEFORE '<value>'` or `AFTER '<value>'` if the enum's order is meaningful",
    )
