"""Adoption: record in our history the migrations a database already has, without running them.

What is applied is read from the history table of the tool that applied it
(`guard.db.foreign_history`), lined up with the files (`guard.db.adopt_match`), and each
applied file gets a history row with its checksum as the file is now, `applied_via` set
to that tool, and the tool's own finish time where it records one (Prisma, Flyway; the
others record none, so `applied_at` is the adoption time and a contract's window starts
then: later, never earlier, than the truth).

Refused (exit 2, nothing recorded):
- no known tool's history table and no `--through VERSION`; several tools' tables, or a
  table of another tool than the layout's (say which with `--layout` or `--through`);
- a migration the tool left dirty, failed or unfinished (golang-migrate and Hasura
  `dirty`, Prisma without `finished_at`, Flyway `success = false`): finish it with that
  tool first;
- a migration the tool applied that has no file: these files are not the ones that ran;
- `--through` naming no file's version.

Warned, and recorded anyway:
- a file at or below the newest applied one that the tool never applied: it stays
  pending, and `migrate` applies it (reported as out of order), as the tool would have;
- a file whose checksum differs from the one the tool recorded (Prisma, Drizzle): it was
  edited after it ran; the row holds the checksum of the file as it is now;
- files already in our history are left as they are.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from guard.db.adopt_match import BY_HAND, Match, by_hand, match_files
from guard.db.foreign_history import TABLES, TOOL_OF_LAYOUT, read_tool_history, tables_present
from guard.db.history import checksum_of, read_history, rekey_history
from guard.db.plan import build_plan, check_duplicates
from guard.errors import GuardError, InputError, SafetyError
from guard.model import Migration

if TYPE_CHECKING:
    import psycopg

    from guard.db.session import RunnerContext


@dataclass
class AdoptReport:
    """What `adopt` recorded (or, in a dry run, would record) and what it warned about."""

    tool: str
    table: str
    recorded: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of `adopt --format json`."""
        return {
            "tool": self.tool,
            "table": self.table,
            "recorded": self.recorded,
            "already_recorded": self.already,
            "warnings": self.warnings,
            "dry_run": self.dry_run,
        }


def detect_tool(conn: psycopg.Connection, layout: str) -> str:
    """The tool whose history table to adopt from: the layout's, else the only one present."""
    present = tables_present(conn)
    wanted = TOOL_OF_LAYOUT.get(layout)
    if wanted is not None and wanted in present:
        return wanted
    if wanted is not None and present:
        raise SafetyError(
            f"the migrations are in the {layout} layout, but this database has no {' / '.join(TABLES[wanted])}; "
            f"it has the history of {', '.join(present)}",
            "pass `--layout` to match the tool that migrated this database, or `--through VERSION`",
        )
    if len(present) > 1:
        raise SafetyError(
            f"this database has the history tables of several tools ({', '.join(present)}); "
            "cannot tell which one applied these migrations",
            "pass `--layout` naming the tool's layout, or `--through VERSION`",
        )
    if not present:
        looked = sorted({t for names in TABLES.values() for t in names})
        raise SafetyError(
            "no migration tool's history table found in this database (looked for " + ", ".join(looked) + ")",
            "for a database migrated by hand, pass `--through VERSION` (the newest migration it has)",
        )
    return present[0]


def plan_adoption(
    conn: psycopg.Connection,
    migrations: Sequence[Migration],
    *,
    layout: str,
    sources: Collection[str] = (),
    journal: Mapping[str, int] | None = None,
    through: str | None = None,
) -> Match:
    """Read the other tool's history (or take `--through`) and line it up with the files.

    Read-only. Raises a `GuardError` for every refusal listed in the module docstring.
    """
    if through is not None:
        history = by_hand(migrations, through)
        if history is None:
            raise InputError(
                f"--through {through}: no migration file has this version; refusing to guess",
                "run `migration-guard status` to list the versions",
            )
    else:
        tool = detect_tool(conn, layout)
        found = read_tool_history(conn, tool, sources)
        assert found is not None  # detect_tool saw the table
        history = found
    check_duplicates(migrations)  # two files one version, where the tool keys by version
    match = match_files(history, migrations, journal)
    refuse_mismatches(match)
    return match


def refuse_mismatches(match: Match) -> None:
    """Refuse what cannot be adopted (or wrapped): a broken migration, an applied one without a file."""
    if match.broken:
        raise SafetyError(
            f"{match.tool} left migrations dirty, failed or unfinished in {match.table}: "
            + ", ".join(match.broken),
            f"finish or repair them with {match.tool} first (e.g. `migrate force`, `prisma migrate resolve`, "
            "`flyway repair`), then run again",
        )
    if match.without_file:
        raise SafetyError(
            f"{match.tool} applied migrations that have no file here: {', '.join(match.without_file)} "
            f"(from {match.table})",
            "run from a checkout that has every applied migration, or restore the files",
        )


def warnings_of(match: Match) -> list[str]:
    """The warnings listed in the module docstring, one line each."""
    out = [
        f"{m.id}: at or below the newest applied migration, but {match.tool} never applied it; "
        "it stays pending (migrate applies it out of order)"
        for m in match.never_applied
    ]
    out += [
        f"{m.id}: edited since {match.tool} applied it (checksum differs); recorded as the file is now"
        for m in match.edited
    ]
    return out


def _via(match: Match) -> str:
    return BY_HAND if match.tool == BY_HAND else match.tool


def _ours(
    conn: psycopg.Connection, schema: str, migrations: Sequence[Migration]
) -> tuple[set[str], dict[str, str]]:
    """The `Migration.key`s our history holds, and the rows an earlier build stored under a Prisma
    migration's bare version (new key -> stored key), recognised as `migrate` recognises them."""
    plan = build_plan(migrations, read_history(conn, schema))
    return set(plan.applied), plan.rekeyed


def record_applied(
    conn: psycopg.Connection,
    schema: str,
    match: Match,
    migrations: Sequence[Migration],
    *,
    host: str,
    tool_version: str,
    use_tool_time: bool = True,
) -> tuple[list[str], list[str]]:
    """Insert a history row, under its `Migration.key`, for each applied file not yet in our
    history, in one transaction (rows an earlier build keyed by a Prisma version are re-keyed
    first, as `migrate` does). Returns (recorded ids, ids already recorded).

    `use_tool_time`: take `applied_at` from the tool's row when it has one (adoption); `exec`
    records the time it ran the tool.
    """
    from psycopg import sql

    existing, rekeyed = _ours(conn, schema, migrations)
    todo = [(m, row) for m, row in match.applied if m.key not in existing]
    already = [m.id for m, _ in match.applied if m.key in existing]
    insert = sql.SQL(
        "INSERT INTO {}.history (version, name, checksum, status, applied_by, tool_version, applied_via,"
        " applied_at) VALUES (%s, %s, %s, 'applied', current_user || '@' || %s, %s, %s,"
        " coalesce(%s::timestamptz, now())) ON CONFLICT DO NOTHING RETURNING version"
    ).format(sql.Identifier(schema))
    recorded: list[str] = []
    with conn.transaction():
        rekey_history(conn, schema, rekeyed)
        for m, row in todo:
            at = row.applied_at if use_tool_time and row is not None else None
            cur = conn.execute(insert, (m.key, m.name, checksum_of(m), host, tool_version, _via(match), at))
            # A row the history already holds under the same key is not counted as recorded.
            (recorded if cur.fetchone() is not None else already).append(m.id)
    return recorded, already


def adopt(
    ctx: RunnerContext,
    migrations: Sequence[Migration],
    *,
    layout: str,
    sources: Collection[str] = (),
    journal: Mapping[str, int] | None = None,
    through: str | None = None,
) -> AdoptReport:
    """Adopt under the runner lock, audited: every refusal and the outcome get an audit row."""
    from guard.db.session import Session

    with Session(ctx, "adopt", f"through {through}" if through else None) as session:
        try:
            match = plan_adoption(
                ctx.conn, migrations, layout=layout, sources=sources, journal=journal, through=through
            )
        except GuardError as exc:
            raise session.refuse(exc) from None
        ids = [m.id for m, _ in match.applied]
        session.audit("started", ids)
        report = AdoptReport(match.tool, match.table, warnings=warnings_of(match))
        try:
            report.recorded, report.already = record_applied(
                ctx.conn,
                ctx.settings.history_schema,
                match,
                migrations,
                host=ctx.host,
                tool_version=ctx.tool_version,
            )
        except Exception as exc:
            session.audit("failed", ids, str(exc).strip()[:500])
            raise
        session.audit("ok", report.recorded)
        return report


def preview(
    conn: psycopg.Connection,
    migrations: Sequence[Migration],
    schema: str,
    *,
    layout: str,
    sources: Collection[str] = (),
    journal: Mapping[str, int] | None = None,
    through: str | None = None,
) -> AdoptReport:
    """`adopt --dry-run`: what would be recorded, read-only (no tables created, nothing audited)."""
    match = plan_adoption(conn, migrations, layout=layout, sources=sources, journal=journal, through=through)
    seen, _ = _ours(conn, schema, migrations)
    report = AdoptReport(match.tool, match.table, warnings=warnings_of(match), dry_run=True)
    for m, _ in match.applied:
        # As `record_applied` does: a key the history already holds (or this run recorded) is not recorded.
        (report.already if m.key in seen else report.recorded).append(m.id)
        seen.add(m.key)
    return report
