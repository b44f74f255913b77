"""The migration runner: a pure plan, then migrate / rollback / dry run under the runner lock.

Flow of `migrate` once the CLI has passed the hard lock and the marker check:
take the runner lock (its own connection, session-level) and the work lock (the
executing connection) -> create the history tables if needed -> read history ->
plan -> lint gate -> drift check -> contract window checks -> apply each pending
migration in order (contract preconditions checked right before it). Every
attempt, refusal and outcome is written to the append-only audit table.

Library code only: it is handed two open autocommit connections and never reads
the environment.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from guard import __version__
from guard.db.apply import Executor, MigrationFailed, Outcome, dry_run, index_names, invalid_indexes
from guard.db.apply import statements_and_mode as _mode
from guard.db.contract import check_preconditions, check_window, contract_spec, db_now
from guard.db.history import (
    APPLIED,
    PARTIAL,
    PARTIAL_DOWN,
    AppliedMigration,
    Drift,
    compute_drift,
    ensure_tables,
    read_history,
    write_audit,
)
from guard.db.locks import BlockerWatch, acquire, lock_key, parse_pg_duration, release
from guard.errors import DatabaseError, GuardError, InputError, LockBusyError, SafetyError
from guard.model import Migration, version_key

if TYPE_CHECKING:
    import psycopg

    from guard.config import Settings


class RunFailed(GuardError):
    """A migration failed or the run was refused; `report` holds what was done before."""

    def __init__(self, message: str, hint: str | None, report: RunReport) -> None:
        super().__init__(message, hint)
        self.report = report


class LintRefusal(GuardError):
    """Pending migrations have lint findings at the fail level (exit 1, like `lint`)."""

    exit_code = 1


@dataclass
class Plan:
    """What the files and the history say, and what `migrate` would do (computed without a database)."""

    migrations: list[Migration]
    applied: dict[str, AppliedMigration]
    pending: list[Migration]
    drift: Drift
    target: str | None = None
    #: Migrations left part-way by a failed non-transactional run.
    partial: list[AppliedMigration] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape for status/plan."""
        return {
            "applied": [a.as_dict() for a in self.applied.values()],
            "pending": [m.id for m in self.pending],
            "partial": [a.as_dict() for a in self.partial],
            "drift": self.drift.as_dict(),
            "target": self.target,
        }


@dataclass
class RunReport:
    """What a migrate / rollback / dry run did."""

    action: str
    run_id: str
    plan: Plan | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of migrate/rollback output."""
        return {
            "action": self.action,
            "run_id": self.run_id,
            "outcomes": [o.as_dict() for o in self.outcomes],
            "notes": self.notes,
            "error": self.error,
            "pending": [m.id for m in self.plan.pending] if self.plan else [],
        }


def build_plan(
    migrations: Sequence[Migration], applied: dict[str, AppliedMigration], to: str | None = None
) -> Plan:
    """Pending migrations in version order (up to `to` inclusive), drift and partial runs. Pure."""
    ordered = sorted(migrations, key=lambda m: m.version_key)
    if to is not None and not any(m.version == to for m in ordered) and to not in applied:
        raise InputError(
            f"--to {to}: no migration has this version", "run `migration-guard status` to list them"
        )
    pending = [m for m in ordered if m.version not in applied or applied[m.version].status == PARTIAL]
    if to is not None:
        pending = [m for m in pending if m.version_key <= version_key(to)]
    partial = [a for a in applied.values() if a.status in (PARTIAL, PARTIAL_DOWN)]
    return Plan(list(ordered), dict(applied), pending, compute_drift(ordered, applied), to, partial)


def read_plan(
    conn: psycopg.Connection, migrations: Sequence[Migration], settings: Settings, to: str | None = None
) -> Plan:
    """The plan against a database, read-only (no tables are created, no lock taken)."""
    return build_plan(migrations, read_history(conn, settings.history_schema), to)


@dataclass
class RunnerContext:
    """Everything a run needs: two autocommit connections (work + lock) and who is running it."""

    conn: psycopg.Connection
    lock_conn: psycopg.Connection
    settings: Settings
    #: Client machine name recorded in `applied_by` (`dbuser@host`).
    host: str = ""
    out: Callable[[str], None] = lambda line: None
    tool_version: str = __version__


class Session:
    """Runner lock + work lock held, history tables present, audit rows tagged with one run id."""

    def __init__(self, ctx: RunnerContext, action: str, target: str | None = None) -> None:
        self.ctx = ctx
        self.action = action
        self.target = target
        self.run_id = uuid.uuid4().hex
        self.schema = ctx.settings.history_schema
        self.actor = ""
        self._keys: list[tuple[psycopg.Connection, int]] = []

    def __enter__(self) -> Session:
        ctx = self.ctx
        wait = ctx.settings.runner_lock_wait_seconds
        try:
            row = ctx.conn.execute("SELECT current_user").fetchone()
            self.actor = f"{row[0] if row else '?'}@{ctx.host or 'unknown host'}"
            for conn, role, what in (
                (ctx.lock_conn, "runner", "the migration runner lock"),
                (
                    ctx.conn,
                    "work",
                    "the migration work lock (a previous runner's statement is still running)",
                ),
            ):
                key = lock_key(self.schema, role)
                acquire(conn, key, wait, what=what, out=ctx.out)
                self._keys.append((conn, key))
            ensure_tables(ctx.conn, self.schema)
        except LockBusyError as exc:
            self._release()
            self._audit_busy(exc)
            raise
        except BaseException:
            self._release()
            raise
        return self

    def _audit_busy(self, exc: LockBusyError) -> None:
        """A run refused because another holds the lock is an attempt too: record it when the
        audit table exists (creating it would race the holder's DDL)."""
        import psycopg

        from guard.db.history import audit_exists

        with contextlib.suppress(psycopg.Error, GuardError):
            if audit_exists(self.ctx.lock_conn, self.schema):
                self.audit("refused", (), exc.message)

    def __exit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        for conn, key in reversed(self._keys):
            release(conn, key)
        self._keys.clear()

    def audit(self, outcome: str, attempted: Sequence[str] = (), error: str | None = None) -> None:
        """Append an audit row on the lock connection (autocommit: it survives any rollback)."""
        import psycopg

        try:
            write_audit(
                self.ctx.lock_conn,
                self.schema,
                run_id=self.run_id,
                actor=self.actor,
                action=self.action,
                target=self.target,
                attempted=attempted,
                outcome=outcome,
                error=error,
                tool_version=self.ctx.tool_version,
            )
        except psycopg.Error as exc:
            raise DatabaseError(
                f"could not write the audit row ({outcome}): {str(exc).strip()}",
                "the database stays at a migration boundary; check the connection and run again",
            ) from None

    def refuse(self, exc: GuardError, attempted: Sequence[str] = ()) -> GuardError:
        """Audit a refusal and hand the error back to raise."""
        self.audit("refused", attempted, exc.message)
        return exc


def _watch_interval(settings: Settings) -> float:
    return min(0.25, max(0.02, parse_pg_duration(settings.lock_timeout, "lock_timeout") / 4))


def _check_drift(plan: Plan) -> None:
    drift = plan.drift
    if drift.edited:
        names = ", ".join(m.id for m, _ in drift.edited)
        raise SafetyError(
            f"applied migrations were edited since they ran: {names} (checksum differs from the history)",
            "restore the applied files and put the change in a new migration",
        )
    if drift.missing:
        names = ", ".join(a.id for a in drift.missing)
        raise SafetyError(
            f"applied migrations have no file: {names}",
            "deploy code that contains them (is this an older build?), or restore the files",
        )
    down = [a.id for a in plan.partial if a.status == PARTIAL_DOWN]
    if down:
        raise SafetyError(
            f"a rollback stopped part-way: {', '.join(down)}",
            "finish it with `migration-guard rollback` before migrating",
        )


def _contract_checks(ctx: RunnerContext, plan: Plan) -> dict[str, Any]:
    specs = {}
    now = db_now(ctx.conn)
    earlier: set[str] = set()
    for m in plan.pending:
        spec = contract_spec(m)
        if spec is not None:
            check_window(spec, plan.applied, now, ctx.settings.contract_window_hours, earlier)
            specs[m.version] = spec
        earlier.add(m.version)
    return specs


def predict_access_exclusive(migrations: Sequence[Migration], settings: Settings) -> str | None:
    """The first statement that would take an ACCESS EXCLUSIVE lock, as `id line N: text` (static)."""
    for m in migrations:
        statements, _ = _mode(m, "up", settings)
        for stmt in statements:
            w = stmt.words
            if (
                w[:2]
                in (("ALTER", "TABLE"), ("ALTER", "INDEX"), ("ALTER", "MATERIALIZED"), ("LOCK", "TABLE"))
                or w[:1] in (("TRUNCATE",), ("CLUSTER",), ("LOCK",))
                or (w[:1] == ("DROP",) and "CONCURRENTLY" not in w[:4])
                or (w[:1] == ("REINDEX",) and "CONCURRENTLY" not in w)
                or (w[:1] == ("VACUUM",) and "FULL" in w[:3])
                or (w[:3] == ("REFRESH", "MATERIALIZED", "VIEW") and "CONCURRENTLY" not in w[:4])
            ):
                return f"{m.id} line {stmt.line}: {' '.join(stmt.text.split())[:80]}"
    return None


def migrate(
    ctx: RunnerContext,
    migrations: Sequence[Migration],
    *,
    to: str | None = None,
    dry: bool = False,
    refuse_access_exclusive: bool = False,
    lint_gate: Callable[[list[Migration]], None] | None = None,
) -> RunReport:
    """Apply pending migrations (or dry-run them) behind the lint, drift and contract gates.

    `lint_gate(pending)` raises a `GuardError` to refuse. Raises `RunFailed` (with the
    report so far) when a migration fails; every refusal is audited.
    """
    import psycopg

    action = "dry-run" if dry else "migrate"
    with Session(ctx, action, to) as session:
        report = RunReport(action, session.run_id)
        try:
            plan = read_plan(ctx.conn, migrations, ctx.settings, to)
        except GuardError as exc:  # an unknown --to: a refusal after the gates, so audited
            raise session.refuse(exc) from None
        report.plan = plan
        ids = [m.id for m in plan.pending]
        try:
            if lint_gate is not None:
                lint_gate(plan.pending)
            _check_drift(plan)
            specs = _contract_checks(ctx, plan)
            if (
                dry
                and refuse_access_exclusive
                and (where := predict_access_exclusive(plan.pending, ctx.settings))
            ):
                raise SafetyError(
                    f"dry run refused: {where} takes an ACCESS EXCLUSIVE lock and the target is production",
                    "set CONFIRM_PROD_MIGRATE=YES in the process environment to dry-run on production, "
                    "or dry-run against a copy",
                )
            for m in plan.drift.out_of_order:
                report.notes.append(f"{m.id} is older than the newest applied migration (out of order)")
        except GuardError as exc:
            raise session.refuse(exc, ids) from None
        session.audit("started", ids)
        if not plan.pending:
            report.notes.append("nothing to apply: the database is up to date")
            session.audit("ok", [])
            return report
        pid = ctx.conn.info.backend_pid
        try:
            with BlockerWatch(ctx.lock_conn, pid, _watch_interval(ctx.settings)) as watch:
                if dry:
                    for m in plan.pending:
                        if m.version in specs and specs[m.version].preconditions:
                            ctx.out(f"{m.id}: preconditions are checked when it is applied, not in a dry run")
                    report.outcomes = dry_run(
                        ctx.conn,
                        plan.pending,
                        ctx.settings,
                        refuse_access_exclusive=refuse_access_exclusive,
                        watch=watch,
                    )
                else:
                    _apply_all(ctx, session, plan, specs, watch, report)
        except GuardError as exc:
            session.audit("refused", ids, exc.message)
            raise
        except MigrationFailed as failed:
            report.outcomes.append(failed.outcome)
            report.error = failed.message
            session.audit("failed", ids, failed.message)
            raise RunFailed(failed.message, failed.hint, report) from None
        except psycopg.Error as exc:
            report.error = _lost(exc)
            with contextlib.suppress(GuardError):
                session.audit("failed", ids, report.error)
            raise RunFailed(
                report.error,
                "the database is at a migration boundary; `migration-guard status` shows what is applied",
                report,
            ) from None
        failed_dry = [o for o in report.outcomes if o.status == "dry-run failed"]
        session.audit("failed" if failed_dry else "ok", ids, failed_dry[0].error if failed_dry else None)
        return report


def _lost(exc: Exception) -> str:
    from guard.db.connect import redact

    return f"database connection lost or failed: {redact(str(exc).strip())}"


def _apply_all(
    ctx: RunnerContext,
    session: Session,
    plan: Plan,
    specs: dict[str, Any],
    watch: BlockerWatch,
    report: RunReport,
) -> None:
    executor = Executor(ctx.conn, ctx.settings, ctx.host, ctx.tool_version, watch=watch, out=ctx.out)
    for m in plan.pending:
        if watch.lost:
            raise DatabaseError(
                f"the runner lock connection was lost ({watch.lost}); stopped before {m.id}",
                "the database is at a migration boundary; run again",
            )
        spec = specs.get(m.version)
        if spec is not None and spec.preconditions:
            check_preconditions(ctx.conn, spec, ctx.settings.statement_timeout)
        row = plan.applied.get(m.version)
        resume = row.statements_done if row is not None and row.status == PARTIAL else 0
        statements, reason = _mode(m, "up", ctx.settings)
        if reason is not None:
            leftovers = invalid_indexes(ctx.conn, index_names(statements))
            if leftovers:
                fix = "; ".join(f'DROP INDEX CONCURRENTLY IF EXISTS "{s}"."{i}"' for s, i in leftovers)
                raise SafetyError(
                    f"{m.id}: INVALID index left by a failed concurrent build: "
                    + ", ".join(f"{s}.{i}" for s, i in leftovers),
                    f"run `{fix};` then migrate again (the build restarts from scratch)",
                )
        ctx.out(f"applying {m.id}" + (f" (resuming at statement {resume + 1})" if resume else ""))
        outcome = executor.up(m, resume)
        report.outcomes.append(outcome)
        ctx.out(f"  applied {m.id} in {outcome.duration_ms:.0f} ms")


def rollback(
    ctx: RunnerContext,
    migrations: Sequence[Migration],
    *,
    steps: int | None = None,
    to: str | None = None,
) -> RunReport:
    """Apply down migrations in reverse version order: the last `steps` (default 1), or all above `to`."""
    import psycopg

    target = f"to {to}" if to is not None else f"steps {steps or 1}"
    with Session(ctx, "rollback", target) as session:
        report = RunReport("rollback", session.run_id)
        plan = read_plan(ctx.conn, migrations, ctx.settings)
        report.plan = plan
        files = {m.version: m for m in migrations}
        rows = sorted(plan.applied.values(), key=lambda a: version_key(a.version), reverse=True)
        if to is not None:
            chosen = [a for a in rows if version_key(a.version) > version_key(to)]
        else:
            chosen = rows[: steps if steps is not None else 1]
        ids = [a.id for a in chosen]
        try:
            _check_rollback_to(to, plan)
            todo = _rollback_targets(chosen, files)
        except GuardError as exc:
            raise session.refuse(exc, ids) from None
        session.audit("started", ids)
        executor = Executor(ctx.conn, ctx.settings, ctx.host, ctx.tool_version, out=ctx.out)
        try:
            with BlockerWatch(
                ctx.lock_conn, ctx.conn.info.backend_pid, _watch_interval(ctx.settings)
            ) as watch:
                executor.watch = watch
                for m, row in todo:
                    ctx.out(f"rolling back {m.id}")
                    resume = row.statements_done if row.status == PARTIAL_DOWN else 0
                    report.outcomes.append(executor.down(m, resume))
        except MigrationFailed as failed:
            report.outcomes.append(failed.outcome)
            report.error = failed.message
            session.audit("failed", ids, failed.message)
            raise RunFailed(failed.message, failed.hint, report) from None
        except psycopg.Error as exc:
            report.error = _lost(exc)
            with contextlib.suppress(GuardError):
                session.audit("failed", ids, report.error)
            raise RunFailed(report.error, "`migration-guard status` shows what is applied", report) from None
        if not todo:
            report.notes.append("nothing to roll back")
        session.audit("ok", ids)
        return report


def _check_rollback_to(to: str | None, plan: Plan) -> None:
    """`--to` must name a known version (or `0`: undo everything): a typo such as `2024010`
    sorts below every real version and would otherwise roll the whole database back."""
    if to is None or to == "0" or to in plan.applied or any(m.version == to for m in plan.migrations):
        return
    raise InputError(
        f"rollback --to {to}: no applied migration or migration file has this version; refusing to guess "
        f"(it would undo {sum(version_key(v) > version_key(to) for v in plan.applied)} migration(s))",
        "run `migration-guard status` to list the versions; `--to 0` undoes every migration",
    )


def _rollback_targets(
    chosen: list[AppliedMigration], files: dict[str, Migration]
) -> list[tuple[Migration, AppliedMigration]]:
    from guard.db.history import checksum_of

    todo = []
    for row in chosen:
        m = files.get(row.version)
        if m is None:
            raise SafetyError(f"cannot roll back {row.id}: its file is missing", "restore the migration file")
        if row.status == PARTIAL:
            raise SafetyError(
                f"cannot roll back {row.id}: it is only partly applied ({row.statements_done} statements)",
                "finish it with `migration-guard migrate`, or undo its statements by hand and delete its "
                "history row",
            )
        if checksum_of(m) != row.checksum:
            raise SafetyError(
                f"cannot roll back {row.id}: the file changed since it was applied",
                "restore the file as it was applied; its down migration may not match what ran",
            )
        if not (m.down_sql or "").strip():
            raise SafetyError(
                f"cannot roll back {row.id}: it has no down migration",
                "write the down migration, or undo it with a new forward migration",
            )
        assert row.status in (APPLIED, PARTIAL_DOWN)
        todo.append((m, row))
    return todo


def gate_check(
    ctx: RunnerContext,
    session: Session,
    migrations: Sequence[Migration],
    lint_gate: Callable[[list[Migration]], None] | None,
) -> Plan:
    """For `exec`: under a session, run the lint gate on pending migrations and the drift check."""
    plan = read_plan(ctx.conn, migrations, ctx.settings)
    try:
        if lint_gate is not None:
            lint_gate(plan.pending if plan.applied else list(plan.migrations))
        if plan.applied:
            _check_drift(plan)
    except GuardError as exc:
        raise session.refuse(exc, [m.id for m in plan.pending]) from None
    return plan
