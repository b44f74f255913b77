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
from guard.sql import facts as f

if TYPE_CHECKING:
    from guard.lint.directives import FileDirectives
    from guard.lint.facts.column_types import TypesSoFar
    from guard.lint.schema_index import SchemaIndex
    from guard.parsing import Statement
    from guard.sql.facts import Fact


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
    #: Functions and procedures created in this file whose bodies drop, rename, retype or truncate:
    #: name -> what they run (`DROP TABLE`, ...), so a later `SELECT f()` or `PERFORM f()` is judged.
    hazard_functions: dict[str, list[str]] = field(default_factory=dict)
    #: This file's statements that may tell about each table's nullability or unique indexes, in
    #: order (`guard.lint.facts.nullability.nullability_tables`).
    about: dict[str, list[Fact]] = field(default_factory=dict, repr=False)
    #: (table, column) added NOT NULL with a default in this file (and the default not dropped since).
    not_null_defaults: set[tuple[str, str]] = field(default_factory=set)
    #: Tables and indexes this file dropped (an index also counts as dropped with its constraint).
    dropped_tables: set[str] = field(default_factory=set)
    dropped_indexes: set[str] = field(default_factory=set)
    #: Index -> table for the indexes this file created (directly or through a constraint).
    index_tables: dict[str, str] = field(default_factory=dict)

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

    def index_gone(self, index: str) -> bool:
        """True when this file already dropped the index named `index`, its table, or the
        constraint it belongs to: a later `DROP INDEX IF EXISTS` of it drops nothing."""
        if index in self.dropped_indexes:
            return True
        if not self.dropped_tables:
            return False
        table = self.index_tables.get(index)
        if table is None:
            table = self.schema.index_table(self.migration, index)
        return bool(table) and table in self.dropped_tables

    def observe(self, stmt: Statement) -> None:
        """Update the state after `stmt` (called by the engine once rules have seen it)."""
        fact = stmt.fact
        if isinstance(fact, f.Write | f.Insert):
            # Rows written under the file's ACCESS EXCLUSIVE locks; nothing else to remember
            # (a data file is thousands of these).
            if self.access_exclusive_tables and self.in_transaction:
                self.under_access_exclusive.append(
                    (self._lock_span, stmt, frozenset(self.access_exclusive_tables))
                )
            return
        if isinstance(fact, f.Transaction):
            self._observe_transaction(fact)
        elif isinstance(fact, f.Setting):
            if fact.name == "lock_timeout" or (fact.reset and fact.name == "all"):
                self.lock_timeout_set = not fact.reset
        elif isinstance(fact, f.CreateTable | f.CreateIndex | f.CreateObject):
            self._observe_create(fact)
            if isinstance(fact, f.CreateObject) and fact.object_kind in ("function", "procedure"):
                self._observe_routine(fact)
        elif isinstance(fact, f.AlterTable | f.Maintenance | f.Truncate):
            self._observe_locks(fact)
        if isinstance(fact, f.CreateTable | f.AlterTable | f.CreateIndex | f.Drop):
            self._observe_indexes(fact)
        if isinstance(fact, f.CreateTable | f.AlterTable | f.CreateIndex):
            from guard.lint.facts.nullability import nullability_tables

            for table in nullability_tables(fact):
                self.about.setdefault(table, []).append(fact)

    def _observe_routine(self, fact: f.CreateObject) -> None:
        """Remember a created function whose body is destructive (forget one replaced by a harmless body)."""
        from guard.lint.facts.dynamic_sql import routine_hazards

        found = routine_hazards(fact.body, self.hazard_functions)
        if found:
            self.hazard_functions[fact.name.key] = found
        else:
            self.hazard_functions.pop(fact.name.key, None)

    def _observe_transaction(self, fact: f.Transaction) -> None:
        if fact.action == "begin":
            # Postgres does not nest blocks: a BEGIN inside one only warns.
            self.explicit_tx_depth = 1
            self.own_transactions = True
        elif fact.action in ("commit", "rollback", "prepare") and not fact.chain:
            self.explicit_tx_depth = max(0, self.explicit_tx_depth - 1)
            if not self.in_transaction:
                if self.access_exclusive_tables:
                    self._lock_span += 1
                self.access_exclusive_tables.clear()
                self.not_valid_constraints.clear()

    def _observe_locks(self, fact: f.Fact) -> None:
        """Remember ACCESS EXCLUSIVE locks held, NOT VALID constraints and validated NOT NULL checks."""
        from guard.lint.locks import ACCESS_EXCLUSIVE, statement_lock

        if self.in_transaction:
            for mode, table in statement_lock(fact):
                if mode == ACCESS_EXCLUSIVE and not self.is_new_table(table):
                    self.access_exclusive_tables.add(table)
        if not isinstance(fact, f.AlterTable):
            return
        table = fact.table.key
        for action in fact.actions:
            if isinstance(action, f.AddConstraint):
                c = action.constraint
                if not c.valid and c.name is not None:
                    self.not_valid_constraints[c.name.key] = table
                if c.kind == f.CHECK and c.not_null_column:
                    if c.valid:
                        self.not_null_checks.add((table, c.not_null_column))
                    elif c.name is not None:
                        self._not_null_pending[c.name.key] = (table, c.not_null_column)
            elif isinstance(action, f.ValidateConstraint):
                name = action.name.key
                self.validated_constraints.add((table, name))
                if name in self._not_null_pending:
                    self.not_null_checks.add(self._not_null_pending[name])
            elif isinstance(action, f.AddColumn):
                col = action.column
                if col.not_null and col.default is not None and not col.default.is_null:
                    self.not_null_defaults.add((table, col.name.key))
            elif isinstance(action, f.DropDefault | f.DropColumn):
                # (a SET DEFAULT keeps a default: a later DROP DEFAULT still breaks the running release)
                self.not_null_defaults.discard((table, action.column.key))

    def _observe_create(self, fact: f.CreateTable | f.CreateIndex | f.CreateObject) -> None:
        """Remember the kind and name of the created object."""
        if isinstance(fact, f.CreateTable):
            self.created_tables.add(fact.table.key)
        elif isinstance(fact, f.CreateIndex):
            if fact.name is not None:
                self.created_objects.add(("index", fact.name.key))
        else:
            for kind in _CREATE_ALIASES.get(fact.object_kind, (fact.object_kind,)):
                self.created_objects.add((kind, fact.name.key))

    def _observe_indexes(self, fact: f.Fact) -> None:
        """Remember the indexes this file created (and on which table) and what it dropped."""
        from guard.lint.facts.indexes import indexes_of

        if isinstance(fact, f.Drop) and fact.object_kind == "table":
            self.dropped_tables.update(n.key for n in fact.names)
        for index, table in indexes_of(fact):
            if table:
                self.index_tables[index] = table
                self.dropped_indexes.discard(index)
            else:
                self.dropped_indexes.add(index)


#: Model kinds also remembered under the kind the rules ask for: a materialized view is a view,
#: an enum a type.
_CREATE_ALIASES = {
    "materialized view": ("materialized view", "view"),
    "enum": ("enum", "type"),
}


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
