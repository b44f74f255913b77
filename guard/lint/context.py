"""Per-file lint state: what the migration created so far, its transaction state, timeouts set.

A table created earlier in the same migration is empty and unseen by other
sessions, so indexes, constraints, rewrites and drops on it are safe; rules ask
`ctx.is_new_table(name)`. The engine calls `observe(stmt)` after the rules saw
each statement, so a rule always sees the state *before* its statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from guard.config import Settings
from guard.model import Migration

if TYPE_CHECKING:
    from guard.lint.directives import FileDirectives
    from guard.lint.facts.column_types import TypesSoFar
    from guard.lint.schema_index import SchemaIndex
    from guard.parsing import Statement
    from guard.tokens import Token


@dataclass
class FileContext:
    """State of one migration file as the engine walks its statements in order."""

    settings: Settings
    migration: Migration
    directives: FileDirectives
    migrations: Sequence[Migration] = ()
    path: str = ""
    created_tables: set[str] = field(default_factory=set)
    #: (kind, name) of other objects created here: ("index", "users_email_idx"), ("type", "mood"), ...
    created_objects: set[tuple[str, str]] = field(default_factory=set)
    #: Depth of explicit BEGIN blocks (nested BEGIN is itself a finding).
    explicit_tx_depth: int = 0
    lock_timeout_set: bool = False
    #: Tables on which the current transaction already holds ACCESS EXCLUSIVE.
    access_exclusive_tables: set[str] = field(default_factory=set)
    #: (lock span, statement, tables held) for each write (`Write`/`Insert` fact) run while the
    #: transaction holds ACCESS EXCLUSIVE; a span is one such transaction, numbered from 0.
    under_access_exclusive: list[tuple[int, Statement, frozenset[str]]] = field(default_factory=list)
    _lock_span: int = field(default=0, repr=False)
    #: (table, column) pairs with a validated `CHECK (col IS NOT NULL)` seen in this file.
    not_null_checks: set[tuple[str, str]] = field(default_factory=set)
    #: Constraint names added NOT VALID in the current transaction, with their table.
    not_valid_constraints: dict[str, str] = field(default_factory=dict)
    #: (table, constraint) pairs this file validates with `VALIDATE CONSTRAINT`.
    validated_constraints: set[tuple[str, str]] = field(default_factory=set)
    #: NOT VALID `CHECK (col IS NOT NULL)` constraints by name, until validated.
    _not_null_pending: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)
    #: The file has its own BEGIN/COMMIT. The runner still wraps it (it drops the blocks and runs
    #: the file in its one transaction, `guard.db.txplan`), so this does not change `runner_wraps`.
    own_transactions: bool = False
    #: Facts about earlier migrations, shared by every file of a run (built on first use otherwise).
    schema_index: SchemaIndex | None = None
    #: Column types this file's statements declared so far (see `guard.lint.rules._types.file_type_before`).
    types_so_far: TypesSoFar | None = None

    @property
    def schema(self) -> SchemaIndex:
        """What the migrations before this one declared (see `guard.lint.schema_index`)."""
        if self.schema_index is None:
            from guard.lint.schema_index import SchemaIndex

            self.schema_index = SchemaIndex(self.migrations)
        return self.schema_index

    @property
    def pg_version(self) -> int:
        """Target Postgres major version (setting `pg_version`)."""
        return self.settings.pg_version

    @property
    def runner_wraps(self) -> bool:
        """Whether the runner will wrap this migration in one transaction."""
        if self.directives.no_transaction or self.migration.transaction is False:
            return False
        return self.settings.transaction

    @property
    def in_transaction(self) -> bool:
        """Whether the next statement runs inside a transaction (explicit or the runner's)."""
        return self.explicit_tx_depth > 0 or self.runner_wraps

    def is_new_table(self, name: str) -> bool:
        """True when `name` (a table key) was created earlier in this file."""
        return name in self.created_tables

    def is_new(self, kind: str, name: str) -> bool:
        """True when an object of `kind` named `name` was created earlier in this file."""
        return (kind, name) in self.created_objects or (kind == "table" and name in self.created_tables)

    def observe(self, stmt: Statement) -> None:
        """Update the state after `stmt` (called by the engine once rules have seen it)."""
        if self.access_exclusive_tables and self.in_transaction:
            from guard.sql.facts import Insert, Write

            if isinstance(stmt.fact, (Write, Insert)):
                self.under_access_exclusive.append(
                    (self._lock_span, stmt, frozenset(self.access_exclusive_tables))
                )
        head = stmt.head
        if head in ("BEGIN", "START"):
            if head == "BEGIN" or stmt.lead[1:2] == ("TRANSACTION",):
                # Postgres does not nest blocks: a BEGIN inside one only warns.
                self.explicit_tx_depth = 1
                self.own_transactions = True
            return
        if head in ("COMMIT", "END", "ROLLBACK", "ABORT"):
            self.explicit_tx_depth = max(0, self.explicit_tx_depth - 1)
            if not self.in_transaction:
                if self.access_exclusive_tables:
                    self._lock_span += 1
                self.access_exclusive_tables.clear()
                self.not_valid_constraints.clear()
            return
        if head == "SET" or (head == "RESET"):
            lowered = stmt.text.lower()
            if "lock_timeout" in lowered:
                self.lock_timeout_set = head == "SET"
            return
        if head == "CREATE":
            self._observe_create(stmt)
        elif head in ("ALTER", "LOCK", "VACUUM", "CLUSTER", "TRUNCATE"):
            self._observe_locks(stmt)

    def _observe_locks(self, stmt: Statement) -> None:
        """Remember ACCESS EXCLUSIVE locks held, NOT VALID constraints and validated NOT NULL checks."""
        from guard.lint.locks import ACCESS_EXCLUSIVE, statement_lock

        taken = statement_lock(stmt)
        if taken is not None and self.in_transaction:
            mode, table = taken
            if mode == ACCESS_EXCLUSIVE and not self.is_new_table(table):
                self.access_exclusive_tables.add(table)
        if stmt.head != "ALTER" or stmt.lead[1:2] != ("TABLE",):
            return
        from guard.lint.ddl import read_alter_table

        alter = read_alter_table(stmt)
        if alter is None:
            return
        for action in alter.actions:
            w = action.words
            if action.starts("ADD", "CONSTRAINT") and "VALID" in w and len(action.tokens) > 2:
                self.not_valid_constraints[action.tokens[2].name] = alter.key
        from guard.lint.facts.nullability import not_null_check_actions

        for table, name, column, valid in not_null_check_actions(stmt):
            if not column:
                self.validated_constraints.add((table, name))
            if column and valid:
                self.not_null_checks.add((table, column))
            elif column:
                self._not_null_pending[name] = (table, column)
            elif name in self._not_null_pending and valid:
                self.not_null_checks.add(self._not_null_pending[name])

    def _observe_create(self, stmt: Statement) -> None:
        """Remember the kind and name of the created object, read from tokens (no parse)."""
        from guard.tokens import read_qualified_name

        toks = stmt.tokens
        i = 1
        while i < len(toks) and toks[i].upper in _CREATE_MODIFIERS:
            i += 1
        kind = toks[i].upper if i < len(toks) else ""
        if not kind:
            return
        i += 1
        while i < len(toks) and toks[i].upper in ("IF", "NOT", "EXISTS", "CONCURRENTLY"):
            i += 1
        if kind == "INDEX" and i < len(toks) and toks[i].upper == "ON":
            parts: list[Token] = []  # an unnamed index
        else:
            parts, _ = read_qualified_name(toks, i)
        name = parts[-1].name if parts else ""
        if kind == "TABLE":
            if name:
                self.created_tables.add(name)
        else:
            self.created_objects.add((kind.lower(), name))


#: Words between CREATE and the kind of object it creates (`CREATE OR REPLACE MATERIALIZED VIEW`).
_CREATE_MODIFIERS = frozenset(
    {
        "OR",
        "REPLACE",
        "TEMP",
        "TEMPORARY",
        "UNLOGGED",
        "GLOBAL",
        "LOCAL",
        "UNIQUE",
        "MATERIALIZED",
        "RECURSIVE",
        "TRUSTED",
        "PROCEDURAL",
        "CONSTRAINT",
        "DEFAULT",
    }
)


def contract_target(ctx: FileContext) -> Migration | None:
    """The expand migration this file's `guard: contract` directive names, when it exists and is earlier."""
    version = ctx.directives.contract
    if version is None:
        return None
    from guard.model import version_key

    key = version_key(version)
    for m in ctx.schema.earlier(ctx.migration):
        if m.version_key == key:
            return m
    return None
