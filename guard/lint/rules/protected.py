"""Rules that keep migrations away from what only migration-guard may change: its own schema
(history and audit) and the environment marker. Neither can be suppressed, disabled or lowered;
the runner refuses the same statements before running anything (see `guard.lint.protected`).

A protected name can sit anywhere in a statement, in parts the statement model does not keep
(a view's query, a `GRANT`'s objects, an `EXECUTE`d string), so both rules judge every fact
and ask `guard.lint.protected.statement_touches`, the runner's own check: lint reports
exactly what the runner refuses."""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext
from guard.lint.protected import MARKER, SCHEMA, statement_touches
from guard.lint.registry import rule
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql import facts as f

FAMILY = "protected"
#: Every statement: a protected object may be named by any of them.
EVERY_FACT = tuple(f.Fact.__subclasses__())


def _hits(stmt: Statement, ctx: FileContext, kind: str, fix: str) -> Iterator[Hit]:
    for touch in statement_touches(stmt, ctx.settings):
        if touch.kind == kind:
            yield Hit(f"{touch.describe()}; this cannot be suppressed", fix)


@rule(
    id="avoid-touching-guard-schema",
    severity=Severity.ERROR,
    family=FAMILY,
    suppressible=False,
    summary="A migration must not change migration-guard's own schema (`history_schema`, `migration_guard`).",
    why="""
        The history and audit tables are how migration-guard knows what ran and who ran it. A migration
        that drops, alters, truncates or writes them (or points `search_path` at them, or reaches them
        through dynamic SQL) rewrites that record from inside the run it is supposed to record. This
        rule cannot be suppressed, disabled or lowered, and the runner refuses such a migration too.
    """,
    fix="""
        Remove the statement. Read the history with `migration-guard status`; a tampered audit trail is
        re-armed with `migration-guard audit ack --reason ...`.
    """,
    bad="ALTER TABLE migration_guard.audit DISABLE TRIGGER audit_append_only;",
    good="SELECT count(*) FROM migration_guard.audit;",
    facts=EVERY_FACT,
)
def avoid_touching_guard_schema(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _hits(stmt, ctx, SCHEMA, "remove the statement: only migration-guard writes its own schema")


@rule(
    id="avoid-writing-env-marker",
    severity=Severity.ERROR,
    family=FAMILY,
    suppressible=False,
    summary="A migration must not write the environment marker table (`bk_env_marker`).",
    why="""
        The marker says which environment a database is; every gate trusts it. A migration that
        updates, inserts, deletes, truncates, drops, alters or renames it, once applied to production,
        makes later dev commands pass against production without the hard lock. Changing the marker
        belongs to `migration-guard marker init` alone. This rule cannot be suppressed, disabled or
        lowered, and the runner refuses such a migration too.
    """,
    fix="""
        Remove the statement. To change a database's marker on purpose, run
        `migration-guard marker init --env ENV --force` (with CONFIRM_PROD_MIGRATE=YES when prod is involved).
    """,
    bad="UPDATE public.bk_env_marker SET env = 'dev' WHERE id = 1;",
    good="SELECT env FROM public.bk_env_marker WHERE id = 1;",
    facts=EVERY_FACT,
)
def avoid_writing_env_marker(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    yield from _hits(
        stmt, ctx, MARKER, "remove the statement: `migration-guard marker init` alone changes the marker"
    )
