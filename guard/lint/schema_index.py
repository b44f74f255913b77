"""What earlier migrations did to the schema, indexed once per lint run and shared by every file.

Some rules judge a statement by what came before it: the current type of a
column whose type changes (`avoid-column-type-change`, the rewrite rules), a
validated `CHECK (col IS NOT NULL)` that makes `SET NOT NULL` instant, the
nullability and unique indexes behind `ADD PRIMARY KEY USING INDEX`, the
expand migration a `guard: contract` directive names. Asking the migrations
list directly re-splits and re-reads every earlier migration for every such
statement, which is quadratic in the size of the repository.

`SchemaIndex` answers those questions from facts folded in one pass over the
migrations in version order, each kind on its first question and only as far
as the latest migration asked about (a worker linting early migrations never
reads the later ones):

- column types: per (table, column) the positions where a migration declared
  or changed its type and the type it left, so "the type before migration X"
  is a bisect (the first `SCAN_LIMIT` columns asked are read from the files that
  spell their name instead: a CI gate asking about one column splits a few files);
- `CHECK (col IS NOT NULL)` / `VALIDATE CONSTRAINT` events per table;
- the statements that may tell about a table's nullability or unique indexes
  (`CREATE TABLE`, `ALTER TABLE`, `CREATE UNIQUE INDEX ... ON`), per table.

Every answer depends only on migrations strictly earlier than the one asking,
which is what lets the findings cache key such a migration on its earlier
migrations alone (see `guard.lint.cache_keys.earlier_identities`). `queries` counts
the questions asked, so the engine can tell whether a lint consulted it (a lint that did
is cached against its earlier migrations): every public method counts itself, through
`_records_reads`, so a new question cannot forget to (only `UNRECORDED` ones do not).
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from guard.model import Migration

if TYPE_CHECKING:
    from guard.parsing import Comment, Statement
    from guard.sql.types import TypeSpec

#: Columns whose type history is read by scanning for their name before every migration is folded:
#: each scan reads all the text once, so a few are cheaper than a fold, many would be quadratic.
SCAN_LIMIT = 4

#: (position in version order, constraint name, checked column or "" for VALIDATE, validated)
CheckEvent = tuple[int, str, str, bool]


_Class = TypeVar("_Class", bound=type)


def _recorded(method: Callable[..., Any]) -> Callable[..., Any]:
    """`method`, counting each call in `self.queries`."""

    @functools.wraps(method)
    def read(self: SchemaIndex, *args: Any, **kwargs: Any) -> Any:
        self.queries += 1
        return method(self, *args, **kwargs)

    read.records_read = True  # type: ignore[attr-defined]
    return read


def _records_reads(cls: _Class) -> _Class:
    """Make every public method of `cls` not named in `cls.UNRECORDED` count in `self.queries`."""
    for name, value in list(vars(cls).items()):
        if not name.startswith("_") and name not in getattr(cls, "UNRECORDED", ()) and callable(value):
            setattr(cls, name, _recorded(value))
    return cls


@_records_reads
class SchemaIndex:
    """Lazily built facts about a migrations list, for questions about what precedes a migration.

    Every public method is a question about earlier migrations and counts in `queries`
    (see `_records_reads`), except those in `UNRECORDED`.
    """

    #: Public methods that read no earlier migration: `statements` of the migration being linted.
    UNRECORDED = frozenset({"statements"})

    def __init__(self, migrations: Sequence[Migration]) -> None:
        self._migrations = migrations
        self._order: list[Migration] | None = None
        self._keys: list[tuple[int, ...]] = []
        self._lowered: dict[int, str] = {}
        self._split: dict[int, tuple[Migration, tuple[list[Statement], list[Comment]]]] = {}
        #: (table, column) -> (positions, types): where a migration left the column's type, in order.
        self._types: dict[tuple[str, str], tuple[list[int], list[TypeSpec]]] = {}
        #: The same for the first few columns asked, each read from the files spelling it.
        self._scanned: dict[tuple[str, str], tuple[list[int], list[TypeSpec]]] = {}
        #: position -> the column types that migration leaves (read once, shared by scans and fold).
        self._left: dict[int, dict[tuple[str, str], TypeSpec]] = {}
        self._checks: dict[str, list[CheckEvent]] = {}
        self._about: dict[str, list[tuple[int, Statement]]] = {}
        #: index key -> [(position, table key)]: where a migration created (or dropped, "") the index.
        self._indexes: dict[str, list[tuple[int, str]]] = {}
        #: How many migrations (in version order) each kind of fact has been folded from.
        self._types_done = self._checks_done = self._about_done = self._indexes_done = 0
        #: How many questions were asked (the engine compares it before and after a lint).
        self.queries = 0

    # --- statements -------------------------------------------------------------------------------

    def statements(self, migration: Migration) -> tuple[list[Statement], list[Comment]]:
        """`split_statements` of the migration's up SQL, once per run: the engine lints these very
        statements and the index reads them, so each is split and tokenized once."""
        memo = self._split.get(id(migration))
        if memo is None or memo[0] is not migration:
            from guard.parsing import split_statements

            memo = (migration, split_statements(migration.up_sql, migration.up_line))
            self._split[id(migration)] = memo
        return memo[1]

    # --- order ------------------------------------------------------------------------------------

    def _sorted(self) -> list[Migration]:
        if self._order is None:
            keyed = sorted(
                ((m.version_key, i, m) for i, m in enumerate(self._migrations)), key=lambda x: x[:2]
            )
            self._order = [m for _, _, m in keyed]
            self._keys = [k for k, _, _ in keyed]
        return self._order

    def _cut(self, migration: Migration) -> int:
        """How many migrations (in version order) are strictly earlier than `migration`."""
        self._sorted()
        return bisect_left(self._keys, migration.version_key)

    def _lower(self, position: int) -> str:
        found = self._lowered.get(position)
        if found is None:
            found = self._lowered[position] = self._sorted()[position].up_sql.lower()
        return found

    def earlier(self, migration: Migration) -> list[Migration]:
        """The migrations with a lower version than `migration`, in version order."""
        return self._sorted()[: self._cut(migration)]

    # --- column types -----------------------------------------------------------------------------

    def column_type_before(self, migration: Migration, table: str, column: str) -> TypeSpec | None:
        """The type of `table.column` after every migration earlier than `migration`, if declared."""
        cut = self._cut(migration)
        key = (table, column)
        found = self._scanned.get(key)
        if found is None:
            if self._types_done or len(self._scanned) >= SCAN_LIMIT or '"' in column:
                self._fold_types(cut)
                found = self._types.get(key, ([], []))
            else:
                found = self._scanned[key] = self._scan_column(table, column)
        positions, specs = found
        at = bisect_left(positions, cut)
        return specs[at - 1] if at else None

    def _scan_column(self, table: str, column: str) -> tuple[list[int], list[TypeSpec]]:
        """The column's whole history read from only the migrations that spell its name: a CI
        gate asking about one or two columns splits a few files, not the whole repository."""
        needle = column.lower()
        positions: list[int] = []
        specs: list[TypeSpec] = []
        for pos in range(len(self._sorted())):
            lowered = self._lower(pos)
            if needle not in lowered or "table" not in lowered:
                continue  # cannot declare it (a quoted name with a doubled quote is folded instead)
            spec = self._types_left(pos).get((table, column))
            if spec is not None:
                positions.append(pos)
                specs.append(spec)
        return positions, specs

    def _types_left(self, pos: int) -> dict[tuple[str, str], TypeSpec]:
        """The column types the migration at `pos` declares or changes (last one wins)."""
        found = self._left.get(pos)
        if found is None:
            from guard.lint.facts.column_types import column_types_of

            found = self._left[pos] = column_types_of(self.statements(self._sorted()[pos])[0])
        return found

    def _fold_types(self, cut: int) -> None:
        for pos in range(self._types_done, cut):
            if "table" not in self._lower(pos):
                continue  # cheap: a file without the word TABLE (a data load) declares no column
            for key, spec in self._types_left(pos).items():
                found = self._types.get(key)
                if found is None:
                    found = self._types[key] = ([], [])
                found[0].append(pos)
                found[1].append(spec)
        self._types_done = max(self._types_done, cut)

    # --- NOT NULL checks --------------------------------------------------------------------------

    def has_validated_not_null_check(
        self, migration: Migration, table: str, column: str
    ) -> tuple[bool, set[str]]:
        """Whether an earlier migration validated `CHECK (column IS NOT NULL)` on `table`.

        Also returns the names of NOT VALID such checks that no earlier migration
        validated (the current file may still validate them).
        """
        cut = self._cut(migration)
        self._fold_checks(cut)
        pending: set[str] = set()
        # A VALIDATE CONSTRAINT names the constraint, not the column, so every file's
        # events for the table count (a filter on the column's name missed the safe pattern).
        for pos, name, checked, valid in self._checks.get(table, ()):
            if pos >= cut:
                break
            if checked == column and valid:
                return True, pending
            if checked == column:
                pending.add(name)
            elif valid and name in pending:
                return True, pending
        return False, pending

    def _fold_checks(self, cut: int) -> None:
        from guard.lint.facts.nullability import not_null_check_actions

        order = self._sorted()
        for pos in range(self._checks_done, cut):
            lowered = self._lower(pos)
            # As before the index: only a file spelling one of these is read for checks.
            if "is not null" not in lowered and "validate" not in lowered:
                continue
            found = [
                event
                for stmt in self.statements(order[pos])[0]
                if stmt.head == "ALTER"
                for event in not_null_check_actions(stmt.fact)
            ]
            for key, name, checked, valid in found:
                self._checks.setdefault(key, []).append((pos, name, checked, valid))
        self._checks_done = max(self._checks_done, cut)

    # --- nullability and unique indexes -----------------------------------------------------------

    def statements_about(self, migration: Migration, table: str) -> list[Statement]:
        """The statements of migrations earlier than `migration`, in order, that may tell about
        `table`'s nullability or unique indexes (see `guard.lint.facts.nullability.nullability_tables`)."""
        cut = self._cut(migration)
        self._fold_about(cut)
        return [stmt for pos, stmt in self._about.get(table, ()) if pos < cut]

    def _fold_about(self, cut: int) -> None:
        from guard.lint.facts.nullability import nullability_tables

        order = self._sorted()
        for pos in range(self._about_done, cut):
            lowered = self._lower(pos)
            if "table" not in lowered and "unique" not in lowered:
                continue  # cheap: no CREATE/ALTER TABLE or CREATE UNIQUE INDEX in this file
            for stmt in self.statements(order[pos])[0]:
                if stmt.head not in ("CREATE", "ALTER"):
                    continue
                for key in nullability_tables(stmt.fact):
                    self._about.setdefault(key, []).append((pos, stmt))
        self._about_done = max(self._about_done, cut)

    # --- indexes ----------------------------------------------------------------------------------

    def index_table(self, migration: Migration, index: str) -> str:
        """The table (key) an index named `index` is on after the migrations earlier than `migration`
        ('' when none of them created it, or the last one to mention it dropped it).

        Constraints that build an index (`UNIQUE`, `PRIMARY KEY`, `EXCLUDE`) count: their index has
        the constraint's name."""
        cut = self._cut(migration)
        self._fold_indexes(cut)
        table = ""
        for pos, key in self._indexes.get(index, ()):
            if pos >= cut:
                break
            table = key
        return table

    def _fold_indexes(self, cut: int) -> None:
        from guard.lint.facts.indexes import indexes_of

        order = self._sorted()
        for pos in range(self._indexes_done, cut):
            lowered = self._lower(pos)
            if not any(w in lowered for w in ("index", "constraint", "unique", "primary")):
                continue  # cheap: creates and drops no index
            for stmt in self.statements(order[pos])[0]:
                if stmt.head not in ("CREATE", "ALTER", "DROP"):
                    continue
                for index, table in indexes_of(stmt.fact):
                    self._indexes.setdefault(index, []).append((pos, table))
        self._indexes_done = max(self._indexes_done, cut)
