"""Reversibility: every up migration needs a down migration that actually undoes something.

Layouts with down files (Hasura, golang-migrate, dbmate, Flyway with undo
scripts) always require one. Layouts without them (Prisma, Drizzle, plain SQL,
Flyway without undo) follow the `require_down` setting (default true), and the message
says where the down file goes for that layout. Whether the down truly restores
the schema is proven by `migration-guard verify`; these rules catch the static
cases: missing, empty, comment-only, or a no-op such as `SELECT 1` or Hasura's
"Could not auto-generate a down migration" stub, unless the up has nothing to undo
(only `VALIDATE CONSTRAINT`, `SET`, `ANALYZE`, ..., or objects it creates and drops
again). An up Postgres cannot reverse (`ALTER TYPE ... ADD VALUE`) says so with
`-- guard: irreversible reason: <why>`, which both rules and `verify` honour.

The rules read statements through the model only (`stmt.fact`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from guard.lint.context import FileContext
from guard.lint.directives import irreversible_reason
from guard.lint.registry import rule
from guard.model import Hit, Migration, Severity
from guard.parsing import Statement, split_statements
from guard.paths import display_path
from guard.sql import facts as f

FAMILY = "reversibility"
#: Layouts whose file convention always includes down migrations.
LAYOUTS_WITH_DOWNS = frozenset({"hasura", "golang-migrate", "dbmate"})
HASURA_STUB = "could not auto-generate a down migration"

IRREVERSIBLE = "`-- guard: irreversible reason: <why>`"
#: Maintenance that leaves nothing to undo.
_NOTHING_TO_UNDO_MAINTENANCE = frozenset({"analyze", "vacuum", "reindex", "cluster", "lock", "refresh"})


def layout_has_downs(migration: Migration, migrations: Sequence[Migration]) -> bool:
    """Whether this layout (as used by this project) keeps down migrations."""
    if migration.layout in LAYOUTS_WITH_DOWNS:
        return True
    if migration.layout == "flyway":
        # Flyway undo scripts (U<version>__name.sql) are opt-in; a project that has any uses them.
        return any(m.down_path is not None for m in (migration, *migrations))
    return False


def down_location(migration: Migration) -> str:
    """Where the down migration of `migration` goes in its layout, for messages."""
    up = migration.up_path
    layout = migration.layout
    if layout in ("hasura", "prisma"):
        return str(up.parent / "down.sql")
    if layout == "golang-migrate":
        return str(up.with_name(up.name.replace(".up.sql", ".down.sql")))
    if layout == "dbmate":
        return f"a `-- migrate:down` section at the end of {up}"
    if layout == "flyway":
        return str(up.with_name("U" + up.name[1:] if up.name[:1] in "Vv" else "U" + up.name))
    return str(up.with_name(up.stem + ".down.sql"))


def changes_nothing(fact: f.Fact) -> bool:
    """True for statements that change nothing: transaction control, SET, `SHOW`, and a `SELECT`
    of constants that calls no function and reads no view (`SELECT 1 WHERE false`)."""
    if isinstance(fact, (f.Transaction, f.Setting)):
        return True
    return (
        isinstance(fact, f.Harmless) and fact.verb in ("select", "show") and not fact.calls and not fact.reads
    )


def _nothing_to_undo(fact: f.Fact) -> bool:
    """A statement whose effect no down migration could or need reverse."""
    if changes_nothing(fact):
        return True
    if isinstance(fact, f.Maintenance):
        return fact.verb in _NOTHING_TO_UNDO_MAINTENANCE
    if isinstance(fact, f.AlterTable):
        return bool(fact.actions) and all(isinstance(a, f.ValidateConstraint) for a in fact.actions)
    return isinstance(fact, f.CreateTable) and fact.temporary  # gone when the session ends


def _created(fact: f.Fact) -> tuple[str, str] | None:
    if isinstance(fact, f.CreateTable):
        return ("table", fact.table.key)
    if isinstance(fact, f.CreateIndex) and fact.name is not None:
        return ("index", fact.name.key)
    if isinstance(fact, f.CreateObject):
        return ("type" if fact.object_kind == "enum" else fact.object_kind, fact.name.key)
    return None


def up_has_nothing_to_undo(statements: Sequence[Statement]) -> bool:
    """True when the up leaves nothing behind: no statements, only statements with nothing to
    reverse (`VALIDATE CONSTRAINT`, `SET`, `ANALYZE`, ...), or objects it creates and drops again
    (with the rows it writes into them)."""
    created: set[tuple[str, str]] = set()
    dropped: set[tuple[str, str]] = set()
    scratch: set[str] = set()  # tables created here, whose rows are scratch work
    for stmt in statements:
        fact = stmt.fact
        if _nothing_to_undo(fact):
            continue
        made = _created(fact)
        if made is not None and made not in created:
            created.add(made)
            if made[0] == "table":
                scratch.add(made[1])
            continue
        if isinstance(fact, f.Drop) and fact.names:
            gone = {(fact.object_kind, n.key) for n in fact.names}
            if gone <= created:
                dropped |= gone
                continue
            return False
        if isinstance(fact, (f.Write, f.Insert)) and fact.table.key in scratch:
            continue
        return False
    return created == dropped


def noop_reason(down_sql: str) -> str | None:
    """Why this down migration undoes nothing, or None when it has a real statement."""
    statements, comments = split_statements(down_sql)
    noop = all(changes_nothing(s.fact) for s in statements)
    if noop and any(HASURA_STUB in c.text.lower() for c in comments):
        return "is Hasura's 'Could not auto-generate a down migration' stub"
    if not down_sql.strip():
        return "is empty"
    if not statements:
        return "contains only comments"
    if noop:
        kinds = sorted({_shown(s.fact) for s in statements})
        return f"only runs no-op statements ({', '.join(kinds)})"
    return None


def _shown(fact: f.Fact) -> str:
    if isinstance(fact, f.Transaction):
        return fact.keyword or fact.action.upper()
    if isinstance(fact, f.Setting):
        return "RESET" if fact.reset else "SET"
    return fact.verb.upper() if isinstance(fact, f.Harmless) else fact.kind.upper()


@rule(
    id="require-down-migration",
    severity=Severity.ERROR,
    family=FAMILY,
    scope="file",
    summary="Every up migration needs a down migration that undoes it.",
    why="""
        Without a down migration a bad deploy can only be fixed forward, under pressure; rolling back
        the code leaves the schema ahead of it. Layouts without down files (Prisma, plain SQL, Flyway
        without undo) are held to the same standard unless `require_down = false`.
    """,
    fix="""
        Write the down migration next to the up (Hasura: down.sql in the same folder; golang-migrate:
        <version>_<name>.down.sql; dbmate: a `-- migrate:down` section; Flyway: U<version>__<name>.sql).
        `migration-guard verify` proves it restores the schema. An up Postgres cannot undo
        (`ALTER TYPE ... ADD VALUE`) is declared with `-- guard: irreversible reason: <why>` in the up file.
    """,
    bad="-- up.sql of a Hasura migration with no down.sql\nCREATE TABLE t (id bigint PRIMARY KEY);",
    good="-- up.sql: CREATE TABLE t (id bigint PRIMARY KEY);\n-- down.sql: DROP TABLE t;",
)
def require_down_migration(statements: list[Statement], ctx: FileContext) -> Iterator[Hit]:
    m = ctx.migration
    if m.down_path is not None or m.down_sql is not None or ctx.directives.irreversible is not None:
        return
    if layout_has_downs(m, ctx.migrations):
        yield Hit(
            f"migration {m.id} has no down migration",
            f"Write one at {down_location(m)} that undoes this migration.",
            line=m.up_line,
        )
    elif ctx.settings.require_down:
        yield Hit(
            f"migration {m.id} has no down migration ({m.layout} layout keeps none by default)",
            f"Write one at {down_location(m)}, or set `require_down = false` in [tool.migration-guard]"
            " to accept forward-only migrations.",
            line=m.up_line,
        )


@rule(
    id="avoid-noop-down-migration",
    severity=Severity.ERROR,
    family=FAMILY,
    scope="file",
    summary="A down migration that is empty, only comments, or a no-op undoes nothing.",
    why="""
        A placeholder down (`SELECT 1`, an empty file, Hasura's "Could not auto-generate a down
        migration" stub) looks like a rollback path but leaves the schema as the up made it. It is
        right when the up has nothing to undo (only `VALIDATE CONSTRAINT`, `SET`, `ANALYZE`, ...,
        or objects it creates and drops again), and is then not reported.
    """,
    fix="""
        Replace it with statements that undo the up migration, in reverse order. If Postgres cannot
        undo the up (`ALTER TYPE ... ADD VALUE`), declare it in the up file with
        `-- guard: irreversible reason: <why>`; `verify` then applies it without a round trip.
    """,
    bad="-- down.sql\nSELECT 1;",
    good="-- down.sql\nDROP TABLE t;",
)
def avoid_noop_down_migration(statements: list[Statement], ctx: FileContext) -> Iterator[Hit]:
    m = ctx.migration
    if m.down_sql is None or ctx.directives.irreversible is not None:
        return
    if irreversible_reason(m.down_sql) is not None:
        return  # the down says what it cannot undo, and why
    reason = noop_reason(m.down_sql)
    if reason is None or up_has_nothing_to_undo(statements):
        return
    where = display_path(m.down_path) if m.down_path is not None else ""
    yield Hit(
        f"the down migration of {m.id} {reason}: it undoes nothing",
        "Write statements that undo the up migration (in reverse order); `migration-guard verify` checks"
        f" that they restore the schema. If Postgres cannot undo the up, declare it with {IRREVERSIBLE}"
        " in the up file.",
        line=m.down_line,
        file=where or None,
    )
