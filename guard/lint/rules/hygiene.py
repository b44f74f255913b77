"""Schema hygiene warnings: types that cost an outage later (`int` keys that overflow,
`json`, `serial`, `timestamp` without time zone, `char(n)`, `varchar(n)`), identifiers
Postgres silently truncates, and enum values appended out of order.

They look at the columns a statement declares: `CREATE TABLE` column lists, `ADD
COLUMN`, and the new type of `ALTER COLUMN ... TYPE`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from guard.lint.context import FileContext
from guard.lint.ddl import ColumnDef, add_column_def, create_table_columns, read_alter_table
from guard.lint.registry import rule
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql.types import TypeSpec, parse_type, type_tokens
from guard.tokens import IDENT, PUNCT, WORD, Token

MAX_IDENTIFIER_BYTES = 63


@dataclass(frozen=True)
class Declared:
    """One column type a statement declares, with where it lives."""

    table: str
    column: str
    type: TypeSpec
    type_text: str
    key: bool


def declared_columns(stmt: Statement) -> list[Declared]:
    """Column types declared by `CREATE TABLE`, `ADD COLUMN` and `ALTER COLUMN ... TYPE`."""
    w = stmt.words
    out: list[Declared] = []
    if stmt.head == "CREATE" and "TABLE" in stmt.lead[:5] and "(" in stmt.text:
        found = create_table_columns(stmt)
        if found is None:
            return out
        _, table, columns, constraints = found
        pk_cols: set[str] = set()
        for cons in constraints:
            ups = [t.upper for t in cons]
            if "PRIMARY" in ups or "FOREIGN" in ups:
                pk_cols |= _names_in_first_parens(cons)
        for col in columns:
            _add(out, table, col, col.name in pk_cols)
    elif stmt.head == "ALTER" and w[1:2] == ("TABLE",) and ("ADD" in w or "TYPE" in w):
        alter = read_alter_table(stmt)
        if alter is None:
            return out
        for action in alter.actions:
            added = add_column_def(action)
            if added is not None:
                _add(out, alter.shown, added, False)
                continue
            aw = action.words
            for j in range(1, min(len(aw), 6)):
                if aw[j] == "TYPE" and aw[0] == "ALTER":
                    ttoks = type_tokens(action.tokens[j + 1 :])
                    spec = parse_type(ttoks)
                    name = action.tokens[2 if aw[1] == "COLUMN" else 1]
                    if spec is not None:
                        text = " ".join(t.shown() for t in ttoks)
                        out.append(Declared(alter.shown, name.shown(), spec, text, False))
                    break
    return out


def _names_in_first_parens(tokens: tuple[Token, ...]) -> set[str]:
    """Column names in the first `( ... )` of a table constraint (`PRIMARY KEY (a, b)`)."""
    names: set[str] = set()
    inside = False
    for t in tokens:
        if t.kind == PUNCT and t.text == "(":
            inside = True
        elif t.kind == PUNCT and t.text == ")":
            break
        elif inside and t.kind in (WORD, IDENT):
            names.add(t.name)
    return names


def _add(out: list[Declared], table: str, col: ColumnDef, key: bool) -> None:
    if col.type is not None:
        out.append(
            Declared(
                table, col.shown, col.type, col.type_text, key or col.primary_key or bool(col.references)
            )
        )


def _columns(stmt: Statement) -> list[Declared]:
    if stmt.head == "CREATE" and "TABLE" not in stmt.lead[:5]:
        return []
    # Six rules read the same declarations: read them once per statement.
    return stmt.derived("hygiene.declared_columns", declared_columns)


_HEADS = ("CREATE", "ALTER")


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
    heads=_HEADS,
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
    heads=_HEADS,
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
    heads=_HEADS,
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
    heads=_HEADS,
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
    heads=_HEADS,
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
    heads=_HEADS,
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
    heads=_HEADS,
)
def identifier_too_long(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    # Cheap word checks first (the longest word, in C); a character is at most 4 bytes, so
    # shorter words cannot qualify.
    words = stmt.words
    if not words or max(map(len, words)) <= MAX_IDENTIFIER_BYTES // 4:
        return
    if not any(len(w) > MAX_IDENTIFIER_BYTES // 4 and len(w.encode()) > MAX_IDENTIFIER_BYTES for w in words):
        return
    seen: set[str] = set()
    for t in stmt.tokens:
        if t.kind in (WORD, IDENT) and len(t.text.encode()) > MAX_IDENTIFIER_BYTES and t.text not in seen:
            seen.add(t.text)
            yield Hit(
                f"identifier {t.shown()} is {len(t.text.encode())} bytes; Postgres keeps only the first 63",
                f"rename it to at most 63 bytes (it is stored as {t.text.encode()[:63].decode(errors='ignore')!r})",
            )


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
    heads=("ALTER",),
)
def enum_value_order(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    w = stmt.words
    if w[:2] != ("ALTER", "TYPE") or "VALUE" not in w or "ADD" not in w or {"BEFORE", "AFTER"} & set(w):
        return
    yield Hit(
        "ADD VALUE appends the new enum value after all existing ones",
        "add `BEFORE '<value>'` or `AFTER '<value>'` if the enum's order is meaningful",
    )
