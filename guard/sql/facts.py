"""The typed statement model: what one SQL statement does, as plain frozen records.

Every rule reads a statement through exactly one of these records (`guard.sql.read`
builds it once per statement, with the token reader or sqlglot's tree: both fill the same
records, so a rule never knows, or cares, which reader did).

Names carry both the key Postgres resolves (`Name.key`: folded, no schema) and the
spelling the user wrote (`Name.shown`), for messages and generated SQL.
"""

from __future__ import annotations

from typing import ClassVar

from guard.sql.parts import (
    CHECK,
    EXCLUDE,
    FOREIGN_KEY,
    NO_NAME,
    NOT_NULL,
    PRIMARY_KEY,
    UNIQUE,
    Action,
    AddColumn,
    AddConstraint,
    AddIdentity,
    AlterColumnType,
    AttachPartition,
    Column,
    Constraint,
    Default,
    DetachPartition,
    DropColumn,
    DropConstraint,
    DropDefault,
    DropNotNull,
    Name,
    OtherAction,
    RenameColumn,
    RenameConstraint,
    RenameTable,
    SetDefault,
    SetLogged,
    SetNotNull,
    SetSchema,
    SetTablespace,
    ValidateConstraint,
)
from guard.sql.record import Record, field, record

#: The parts (`guard.sql.parts`) are re-exported: rules import `facts` alone.
__all__ = [
    "CHECK",
    "EXCLUDE",
    "FOREIGN_KEY",
    "NOT_NULL",
    "NO_NAME",
    "PRIMARY_KEY",
    "UNIQUE",
    "Action",
    "AddColumn",
    "AddConstraint",
    "AddIdentity",
    "AlterColumnType",
    "AlterEnum",
    "AlterOther",
    "AlterTable",
    "AttachPartition",
    "Code",
    "Column",
    "Constraint",
    "CreateIndex",
    "CreateObject",
    "CreateTable",
    "Default",
    "DetachPartition",
    "Drop",
    "DropColumn",
    "DropConstraint",
    "DropDefault",
    "DropNotNull",
    "Fact",
    "Harmless",
    "Insert",
    "Maintenance",
    "Name",
    "OtherAction",
    "Rename",
    "RenameColumn",
    "RenameConstraint",
    "RenameTable",
    "SetDefault",
    "SetLogged",
    "SetNotNull",
    "SetSchema",
    "SetTablespace",
    "Setting",
    "Transaction",
    "Truncate",
    "Unknown",
    "ValidateConstraint",
    "Write",
]


# ---- statements ------------------------------------------------------------------------------


@record
class Fact(Record):
    """What one statement does. `kind` is a stable name for dispatch and messages."""

    kind: ClassVar[str] = "statement"


@record
class Unknown(Fact):
    """A statement no reader understood: unanalysed, never safe."""

    kind: ClassVar[str] = "unknown"
    reason: str = ""
    #: The leading keywords, for messages (`CREATE POLICY`).
    words: tuple[str, ...] = ()


@record
class AlterTable(Fact):
    kind: ClassVar[str] = "alter table"
    table: Name
    actions: tuple[Action, ...]
    only: bool = False
    if_exists: bool = False


@record
class CreateTable(Fact):
    kind: ClassVar[str] = "create table"
    table: Name
    columns: tuple[Column, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    as_select: bool = False
    if_not_exists: bool = False
    temporary: bool = False
    unlogged: bool = False
    partition_of: Name | None = None
    like: bool = False
    #: `INHERITS (parent, ...)`: the new table locks its parents.
    inherits: bool = False


@record
class CreateIndex(Fact):
    kind: ClassVar[str] = "create index"
    name: Name | None
    table: Name
    unique: bool = False
    concurrently: bool = False
    if_not_exists: bool = False
    #: Column names, or the SQL of expressions, in order.
    columns: tuple[str, ...] = ()
    expressions: bool = False
    predicate: str | None = None
    method: str = ""
    #: `CREATE INDEX ... ON ONLY parent` (a partitioned table's invalid parent index).
    only: bool = False
    #: The key list as SQL (between the parentheses), with opclasses, orderings and collations.
    keys_sql: str = ""
    #: `INCLUDE (...)` columns, as SQL.
    include: tuple[str, ...] = ()
    #: Storage clauses (`WITH (...)`, `TABLESPACE s`, `NULLS [NOT] DISTINCT`), as SQL.
    storage_sql: str = ""
    #: Each key's column as the catalog stores it (`col`, `(col)`, `col DESC`, `col opclass`), None
    #: for an expression: what an INVALID index left behind is matched on (`guard.db.indexes`).
    key_columns: tuple[str | None, ...] = ()


@record
class CreateObject(Fact):
    """`CREATE <kind> name` for anything but tables and indexes (view, type, function, ...)."""

    kind: ClassVar[str] = "create"
    object_kind: str  # "view", "materialized view", "type", "enum", "function", "sequence", ...
    name: Name
    or_replace: bool = False
    #: A function or procedure body (the text between its dollar quotes or quotes).
    body: str = ""
    language: str = ""
    #: An enum's values, in order.
    values: tuple[str, ...] = ()
    #: `WITH NO DATA` on a materialized view.
    with_data: bool = True
    #: What it is created on (a trigger's or policy's table).
    on: Name | None = None
    if_not_exists: bool = False
    #: For a function or procedure: each parameter's type as SQL; None when a parameter has a mode
    #: (`OUT`, `VARIADIC`, ...) or a default, or for other kinds.
    parameters: tuple[str, ...] | None = None


@record
class Drop(Fact):
    kind: ClassVar[str] = "drop"
    object_kind: str  # "table", "index", "view", "materialized view", "type", "owned", ...
    names: tuple[Name, ...]
    if_exists: bool = False
    cascade: bool = False
    concurrently: bool = False
    #: The keyword(s) as written (`MATERIALIZED VIEW`), for messages.
    keyword: str = ""
    #: DROP TRIGGER/POLICY/RULE ... ON table.
    on: Name | None = None


@record
class Rename(Fact):
    """`ALTER <kind> name RENAME TO new` for anything but table columns (see `AlterTable`)."""

    kind: ClassVar[str] = "rename"
    object_kind: str  # "sequence", "type", "index", "schema", "view", "function", "enum value", ...
    name: Name
    new: Name
    #: For `ALTER TYPE t RENAME VALUE 'a' TO 'b'`: the type.
    of: Name | None = None
    if_exists: bool = False


@record
class AlterEnum(Fact):
    """`ALTER TYPE t ADD VALUE [IF NOT EXISTS] 'v' [BEFORE|AFTER 'w']`."""

    kind: ClassVar[str] = "alter enum"
    type: Name
    value: str
    before: str | None = None
    after: str | None = None
    if_not_exists: bool = False


@record
class AlterOther(Fact):
    """`ALTER <kind> ...` that is not a rename (`ALTER SEQUENCE ... RESTART`, `ALTER DOMAIN ...`)."""

    kind: ClassVar[str] = "alter"
    object_kind: str
    name: Name
    words: tuple[str, ...] = ()
    #: `ALTER DOMAIN d ADD CONSTRAINT ...` and its NOT VALID flag.
    constraint: Constraint | None = None


@record
class Truncate(Fact):
    kind: ClassVar[str] = "truncate"
    tables: tuple[Name, ...]
    cascade: bool = False


@record
class Write(Fact):
    """`UPDATE`, `DELETE` or `MERGE` on existing rows."""

    kind: ClassVar[str] = "write"
    verb: str  # "update" | "delete" | "merge"
    table: Name
    #: A WHERE clause (or, for MERGE, an ON condition and WHEN clauses that bound it).
    bounded: bool = False
    #: For MERGE: the row actions its WHEN clauses take ("update", "delete", "insert").
    merge_actions: tuple[str, ...] = ()
    #: The data-modifying `WITH` clauses before it (`WITH gone AS (DELETE ...) UPDATE ...`): each
    #: runs in full whatever the statement after them does.
    ctes: tuple[Write, ...] = ()


@record
class Insert(Fact):
    """`INSERT`, `COPY ... FROM` or a `WITH ... INSERT`: adds rows (the cheap data-load path)."""

    kind: ClassVar[str] = "insert"
    table: Name
    #: `INSERT ... SELECT` (or a `WITH` feeding an insert): copies rows, which may take long;
    #: `VALUES` lists are short.
    select: bool = False
    #: The data-modifying `WITH` clauses before it (`WITH gone AS (DELETE ...) INSERT ...`).
    ctes: tuple[Write, ...] = ()
    #: Its statement's text, from which `guard.sql.read_rows.inserted_rows` reads the rows it
    #: writes, in full and only when asked (a data file holds 100,000 inserts and no rule reads
    #: their values); "" when nothing can read them.
    source: str = field(default="", compare=False, repr=False)


@record
class InsertRows(Record):
    """What an `INSERT` writes, read in full (`guard.sql.read_rows.inserted_rows`)."""

    table: Name
    #: The column list, as SQL; empty when the statement has none.
    columns: tuple[str, ...]
    #: Each `VALUES` row's cells as SQL; None when the rows come from elsewhere (`SELECT`,
    #: `DEFAULT VALUES`).
    values: tuple[tuple[str, ...], ...] | None
    #: Every cell is a literal (a constant, NULL, a negated number, a cast literal) and every row
    #: has one cell per column.
    literal: bool
    #: `ON CONFLICT ...`.
    on_conflict: bool


@record
class Code(Fact):
    """A `DO` block: its body, run at once."""

    kind: ClassVar[str] = "do"
    body: str
    language: str = "plpgsql"


@record
class Transaction(Fact):
    """Transaction control (see `guard.txcontrol` for every spelling)."""

    kind: ClassVar[str] = "transaction"
    action: str  # "begin" | "commit" | "rollback" | "savepoint" | "release" | "rollback to" | "prepare"
    chain: bool = False
    #: `BEGIN` / `START TRANSACTION` modes (`ISOLATION LEVEL SERIALIZABLE`), upper case.
    modes: tuple[str, ...] = ()
    #: The savepoint a `SAVEPOINT` / `RELEASE` / `ROLLBACK TO` names (folded like Postgres does).
    savepoint: str = ""
    #: The leading keyword as written (`END`, `ABORT`, `START TRANSACTION`), for messages.
    keyword: str = ""


@record
class Setting(Fact):
    """`SET`/`RESET` of a session or local setting."""

    kind: ClassVar[str] = "set"
    name: str  # lower case; "all" for RESET ALL
    value: str | None = None
    local: bool = False
    reset: bool = False


@record
class Maintenance(Fact):
    """`REINDEX`, `VACUUM`, `CLUSTER`, `LOCK`, `REFRESH MATERIALIZED VIEW`, `ANALYZE`."""

    kind: ClassVar[str] = "maintenance"
    verb: str  # "reindex" | "vacuum" | "cluster" | "lock" | "refresh" | "analyze"
    target: Name | None = None
    target_kind: str = ""  # REINDEX INDEX/TABLE/SCHEMA/DATABASE; LOCK's mode
    concurrently: bool = False
    full: bool = False
    options: tuple[str, ...] = field(default_factory=tuple)


@record
class Harmless(Fact):
    """Statements that change no existing object's data or locks in a way any rule judges:
    `SELECT`, `COMMENT ON`, `GRANT`/`REVOKE`, `CREATE EXTENSION`, `ANALYZE`..."""

    kind: ClassVar[str] = "harmless"
    verb: str = ""
    #: The functions a `SELECT`/`CALL` calls (names folded, no schema): a call may change anything.
    calls: frozenset[str] = frozenset()
    #: The tables and views a `SELECT` reads (`FROM`/`JOIN`; a view may call functions).
    reads: tuple[Name, ...] = ()
