"""The parts statement facts are made of: names, columns, constraints and the typed actions of
an `ALTER TABLE` (see `guard.sql.facts`, which re-exports them: rules import only `facts`).
"""

from __future__ import annotations

from guard.sql.record import Record, record
from guard.sql.types import TypeSpec


@record
class Name(Record):
    """An object name: the key Postgres resolves (no schema, folded) and how the user wrote it."""

    key: str
    shown: str
    schema: str = ""


NO_NAME = Name("", "?")


def name_key(part: str) -> str:
    """The key Postgres resolves for one part of a name as written: a quoted part as it is inside
    the quotes (doubled quotes undone), a bare one folded to lower case."""
    if len(part) > 1 and part.startswith('"') and part.endswith('"'):
        return part[1:-1].replace('""', '"')
    return part.lower()


# ---- column and constraint facts -------------------------------------------------------------


@record
class Default(Record):
    """A column default: its SQL text and whether Postgres must compute it per row."""

    sql: str
    #: "volatile" when it calls a volatile function (`random()`, `nextval()`, ...): adding such a
    #: column fills every row; "unknown" when it calls a function not known to be STABLE or
    #: IMMUTABLE; "" otherwise (see `guard.sql.volatile`).
    volatility: str = ""
    #: The function that decided `volatility`.
    function: str = ""
    #: `DEFAULT NULL` (the same as no default).
    is_null: bool = False


@record
class Column(Record):
    """One column definition (in `CREATE TABLE` or `ADD COLUMN`)."""

    name: Name
    type: TypeSpec | None
    type_sql: str = ""
    not_null: bool = False
    primary_key: bool = False
    unique: bool = False
    references: Name | None = None
    check: bool = False
    default: Default | None = None
    identity: bool = False
    #: `GENERATED ALWAYS AS (expr) STORED`: computed for every row when added.
    generated: bool = False
    #: Clauses no field above records (`COLLATE "C"`, `COMPRESSION lz4`, `DEFERRABLE`), as SQL.
    clauses: tuple[str, ...] = ()


#: Constraint kinds.
CHECK, FOREIGN_KEY, UNIQUE, PRIMARY_KEY, EXCLUDE, NOT_NULL = (
    "check",
    "foreign key",
    "unique",
    "primary key",
    "exclude",
    "not null",
)


@record
class Constraint(Record):
    """A table constraint (named or not)."""

    kind: str
    name: Name | None = None
    columns: tuple[str, ...] = ()
    #: False for `NOT VALID` (read from the clause, never from a column named `valid`).
    valid: bool = True
    #: `ADD CONSTRAINT ... USING INDEX idx`: the index it takes over.
    using_index: Name | None = None
    references: Name | None = None
    #: The SQL of the constraint's body (`CHECK (...)`, `FOREIGN KEY (...) REFERENCES ...`), no name.
    body_sql: str = ""
    #: For a CHECK: the column it proves not null, when it is exactly `col IS NOT NULL`.
    not_null_column: str = ""
    #: For a UNIQUE, PRIMARY KEY or FOREIGN KEY: its column list as SQL (between the parentheses).
    columns_sql: str = ""
    #: For a UNIQUE or PRIMARY KEY: clauses of its index besides the columns (`NULLS NOT DISTINCT`,
    #: `INCLUDE`, `WITH (...)`, `USING INDEX TABLESPACE`) or `DEFERRABLE`, which a plain index lacks.
    index_options: bool = False


# ---- ALTER TABLE actions ---------------------------------------------------------------------


@record
class Action(Record):
    """One action of an `ALTER TABLE` list. Subclasses say which."""


@record
class AddColumn(Action):
    column: Column
    if_not_exists: bool = False


@record
class DropColumn(Action):
    column: Name
    if_exists: bool = False
    cascade: bool = False


@record
class AlterColumnType(Action):
    column: Name
    type: TypeSpec | None
    type_sql: str
    using: str | None = None
    #: `COLLATE c` after the type, as SQL.
    collation: str = ""


@record
class SetNotNull(Action):
    column: Name


@record
class DropNotNull(Action):
    column: Name


@record
class SetDefault(Action):
    column: Name
    default: Default


@record
class DropDefault(Action):
    column: Name


@record
class AddIdentity(Action):
    column: Name


@record
class AddConstraint(Action):
    constraint: Constraint


@record
class ValidateConstraint(Action):
    name: Name


@record
class DropConstraint(Action):
    name: Name
    if_exists: bool = False
    cascade: bool = False


@record
class RenameColumn(Action):
    column: Name
    new: Name


@record
class RenameConstraint(Action):
    name: Name
    new: Name


@record
class RenameTable(Action):
    new: Name


@record
class SetSchema(Action):
    schema: str


@record
class SetLogged(Action):
    #: True for `SET LOGGED`, False for `SET UNLOGGED`.
    logged: bool


@record
class SetTablespace(Action):
    tablespace: str


@record
class AttachPartition(Action):
    partition: Name


@record
class DetachPartition(Action):
    partition: Name
    concurrently: bool = False
    finalize: bool = False


@record
class OtherAction(Action):
    """An action no rule judges (`OWNER TO`, `ENABLE TRIGGER`, `SET (fillfactor=...)`, ...)."""

    words: tuple[str, ...] = ()
