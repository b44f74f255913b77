"""What earlier migrations did to the schema, indexed once per lint run and shared by every file.

Some rules judge a statement by what came before it: the current type of a
column whose type changes (`avoid-column-type-change`, the rewrite rules), a
validated `CHECK (col IS NOT NULL)` that makes `SET NOT NULL` instant, the
expand migration a `guard: contract` directive names. Asking the migrations
list directly re-splits and re-reads every earlier migration for every such
statement, which is quadratic in the size of the repository.

`SchemaIndex` answers those questions from one lazily built index per run:
migrations sorted once by version, each migration's SQL lower-cased once, the
declared types of a column collected once per (table, column) as a list of
(position, type) so "the type before migration X" is a bisect, and the
`CHECK ... IS NOT NULL` / `VALIDATE CONSTRAINT` events collected once per run.

Every answer depends only on migrations strictly earlier than the one asking,
which is what lets the findings cache key such a migration on its earlier
migrations alone (see `guard.lint.cache.prefix_identities`). `queries` counts
the questions asked, so the engine can tell whether a lint consulted it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING

from guard.model import Migration

if TYPE_CHECKING:
    from guard.lint.rules._types import TypeSpec
    from guard.parsing import Comment, Statement

#: (position in version order, constraint name, checked column or "" for VALIDATE, validated)
CheckEvent = tuple[int, str, str, bool]


class SchemaIndex:
    """Lazily built facts about a migrations list, for questions about what precedes a migration."""

    def __init__(self, migrations: Sequence[Migration]) -> None:
        self._migrations = migrations
        self._order: list[Migration] | None = None
        self._keys: list[tuple[int, ...]] = []
        self._lowered: list[str] = []
        self._types: dict[tuple[str, str], tuple[list[int], list[TypeSpec]]] = {}
        self._checks: dict[str, list[CheckEvent]] | None = None
        self._split: dict[int, tuple[Migration, tuple[list[Statement], list[Comment]]]] = {}
        self._declared: dict[int, dict[tuple[str, str], TypeSpec]] = {}
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
        if not self._lowered:
            self._lowered = [m.up_sql.lower() for m in self._sorted()]
        return self._lowered[position]

    def earlier(self, migration: Migration) -> list[Migration]:
        """The migrations with a lower version than `migration`, in version order."""
        self.queries += 1
        return self._sorted()[: self._cut(migration)]

    # --- column types -----------------------------------------------------------------------------

    def column_type_before(self, migration: Migration, table: str, column: str) -> TypeSpec | None:
        """The type of `table.column` after every migration earlier than `migration`, if declared."""
        self.queries += 1
        positions, specs = self._column_history(table, column)
        at = bisect_left(positions, self._cut(migration))
        return specs[at - 1] if at else None

    def _column_history(self, table: str, column: str) -> tuple[list[int], list[TypeSpec]]:
        found = self._types.get((table, column))
        if found is None:
            from guard.lint.rules._types import column_types_of

            needle = column.lower()
            positions: list[int] = []
            specs: list[TypeSpec] = []
            for pos, m in enumerate(self._sorted()):
                # Cheap filters first: a file that never spells the column (or the word TABLE,
                # as in a data load) cannot declare it.
                lowered = self._lower(pos)
                if needle not in lowered or "table" not in lowered:
                    continue
                declared = self._declared.get(pos)
                if declared is None:
                    declared = self._declared[pos] = column_types_of(self.statements(m)[0])
                spec = declared.get((table, column))
                if spec is not None:
                    positions.append(pos)
                    specs.append(spec)
            found = self._types[(table, column)] = (positions, specs)
        return found

    # --- NOT NULL checks --------------------------------------------------------------------------

    def has_validated_not_null_check(
        self, migration: Migration, table: str, column: str
    ) -> tuple[bool, set[str]]:
        """Whether an earlier migration validated `CHECK (column IS NOT NULL)` on `table`.

        Also returns the names of NOT VALID such checks that no earlier migration
        validated (the current file may still validate them).
        """
        self.queries += 1
        cut = self._cut(migration)
        needle = column.lower()
        pending: set[str] = set()
        for pos, name, checked, valid in self._check_events().get(table, ()):
            if pos >= cut:
                break
            if needle not in self._lower(pos):
                continue  # as before the index: a file that never spells the column is not read
            if checked == column and valid:
                return True, pending
            if checked == column:
                pending.add(name)
            elif valid and name in pending:
                return True, pending
        return False, pending

    def _check_events(self) -> dict[str, list[CheckEvent]]:
        if self._checks is None:
            from guard.lint.rules.not_null import not_null_check_actions

            events: dict[str, list[CheckEvent]] = {}
            for pos, m in enumerate(self._sorted()):
                lowered = self._lower(pos)
                if "is not null" not in lowered and "validate" not in lowered:
                    continue
                for stmt in self.statements(m)[0]:
                    if stmt.head != "ALTER":
                        continue
                    for key, name, checked, valid in not_null_check_actions(stmt):
                        events.setdefault(key, []).append((pos, name, checked, valid))
            self._checks = events
        return self._checks
