"""Reversibility: every up migration needs a down migration that actually undoes something.

Layouts with down files (Hasura, golang-migrate, dbmate, Flyway with undo
scripts) always require one. Layouts without them (Prisma, Drizzle, plain SQL,
Flyway without undo) follow the `require_down` setting (default true), and the message
says where the down file goes for that layout. Whether the down truly restores
the schema is proven by `migration-guard verify`; these rules catch the static
cases: missing, empty, comment-only, or a no-op such as `SELECT 1` or Hasura's
"Could not auto-generate a down migration" stub.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from guard.lint.context import FileContext
from guard.lint.registry import rule
from guard.model import Hit, Migration, Severity
from guard.parsing import Statement, split_statements
from guard.paths import display_path
from guard.tokens import NUMBER, PUNCT, STRING

FAMILY = "reversibility"
#: Layouts whose file convention always includes down migrations.
LAYOUTS_WITH_DOWNS = frozenset({"hasura", "golang-migrate", "dbmate"})
HASURA_STUB = "could not auto-generate a down migration"

_TRANSACTION_CONTROL = frozenset({"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "SET", "RESET"})
_TRIVIAL_SELECT_WORDS = frozenset({"SELECT", "WHERE", "TRUE", "FALSE", "NULL", "AND", "OR", "NOT", "AS"})


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


def is_noop_statement(stmt: Statement) -> bool:
    """True for statements that change nothing: transaction control, SET, `SELECT 1 [WHERE false]`."""
    if stmt.head in _TRANSACTION_CONTROL:
        return True
    if stmt.head != "SELECT":
        return False
    for t in stmt.tokens:
        if t.kind in (NUMBER, STRING):
            continue
        if t.kind == PUNCT and t.text not in ("(", ";"):  # a call could do anything
            continue
        if t.upper not in _TRIVIAL_SELECT_WORDS:
            return False
    return True


def noop_reason(down_sql: str) -> str | None:
    """Why this down migration undoes nothing, or None when it has a real statement."""
    statements = split_statements(down_sql)[0]
    if HASURA_STUB in down_sql.lower() and all(is_noop_statement(s) for s in statements):
        return "is Hasura's 'Could not auto-generate a down migration' stub"
    if not down_sql.strip():
        return "is empty"
    if not statements:
        return "contains only comments"
    if all(is_noop_statement(s) for s in statements):
        return f"only runs no-op statements ({'; '.join(s.text.splitlines()[0] for s in statements[:2])})"
    return None


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
        `migration-guard verify` proves it restores the schema.
    """,
    bad="-- up.sql of a Hasura migration with no down.sql\nCREATE TABLE t (id bigint PRIMARY KEY);",
    good="-- up.sql: CREATE TABLE t (id bigint PRIMARY KEY);\n-- down.sql: DROP TABLE t;",
)
def require_down_migration(statements: list[Statement], ctx: FileContext) -> Iterator[Hit]:
    m = ctx.migration
    if m.down_path is not None or m.down_sql is not None:
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
        migration" stub) looks like a rollback path but leaves the schema as the up made it.
    """,
    fix="Replace it with statements that undo the up migration, in reverse order.",
    bad="-- down.sql\nSELECT 1;",
    good="-- down.sql\nDROP TABLE t;",
)
def avoid_noop_down_migration(statements: list[Statement], ctx: FileContext) -> Iterator[Hit]:
    m = ctx.migration
    if m.down_sql is None:
        return
    reason = noop_reason(m.down_sql)
    if reason is None:
        return
    where = display_path(m.down_path) if m.down_path is not None else ""
    yield Hit(
        f"the down migration of {m.id} {reason}: it undoes nothing",
        "Write statements that undo the up migration (in reverse order);"
        " `migration-guard verify` checks that they restore the schema.",
        line=m.down_line,
        file=where or None,
    )
