"""The migration runner: a pure plan, then migrate / rollback / dry run under the runner lock.

Flow of `migrate` once the CLI has passed the hard lock and the marker check:
take the runner lock (its own connection, session-level) and the work lock (the
executing connection) -> create the history tables if needed -> read history ->
plan -> lint gate -> drift check -> contract window checks -> apply each pending
migration in order (contract preconditions checked right before it). Every
attempt, refusal and outcome is written to the append-only audit table. Each
migration is reported on `ctx.out` as it runs (a dry run: its outcome's headline
once it was tried).

The lint gate and the contract window bind in the environments their settings name
(`lint_gate_envs`, `contract_window_envs`; prod by default), judged by `ctx.env`.
Where a contract must wait, the migrations before it are applied and the run stops
there with `RunReport.wait` set: not a failure, the CLI gives it its own exit code.

Library code only: it is handed two open autocommit connections and never reads
the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from guard.db.apply import Executor
from guard.db.apply import statements_and_mode as _mode
from guard.db.contract import ContractSpec, ContractWait, check_preconditions, db_now
from guard.db.dryrun import dry_run, refuse_unpredicted_locks
from guard.db.execgate import gate_check
from guard.db.history import APPLIED, PARTIAL, PARTIAL_DOWN, AppliedMigration, rekey_history
from guard.db.indexes import leftovers_for
from guard.db.lintgate import LintRefusal, run_lint_gate
from guard.db.locks import BlockerWatch, parse_pg_duration
from guard.db.plan import Plan, build_plan, check_drift, check_duplicates, contract_checks, read_plan
from guard.db.runreport import LockLost, RunFailed, RunReport, failures_audited
from guard.db.session import RunnerContext, Session
from guard.db.txplan import check_all
from guard.errors import GuardError, InputError, SafetyError
from guard.lint.protected import refuse_touches
from guard.model import Migration, version_key

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.parsing import Statement

#: Names other modules and tests import from here.
__all__ = [
    "LintRefusal",
    "LockLost",
    "Plan",
    "RunFailed",
    "RunReport",
    "RunnerContext",
    "Session",
    "build_plan",
    "gate_check",
    "migrate",
    "read_plan",
    "rollback",
    "run_lint_gate",
]


def _watch_interval(settings: Settings) -> float:
    return min(0.25, max(0.02, parse_pg_duration(settings.lock_timeout, "lock_timeout") / 4))


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
    action = "dry-run" if dry else "migrate"
    with Session(ctx, action, to, read_only=dry) as session:
        report = RunReport(action, session.run_id)
        try:
            plan = read_plan(ctx.conn, migrations, ctx.settings, to)
        except GuardError as exc:  # an unknown --to: a refusal after the gates, so audited
            raise session.refuse(exc) from None
        report.plan = plan
        ids = [m.id for m in plan.pending]
        try:
            check_duplicates(migrations)
            check_all(plan.pending, ctx.settings)  # transaction control, preconditions
            refuse_touches(plan.pending, ctx.settings)
            if warning := run_lint_gate(lint_gate, plan.pending, ctx.settings, ctx.env):
                ctx.out(warning)
                report.notes.append(warning)
            check_drift(plan)
            gate = contract_checks(
                plan,
                db_now(ctx.conn),
                ctx.settings.contract_window_hours,
                window_binds=ctx.env in ctx.settings.contract_window_envs,
            )
            todo = gate.runnable(plan.pending)
            if dry and refuse_access_exclusive:
                refuse_unpredicted_locks(ctx.conn, todo, ctx.settings)
            for m in plan.drift.out_of_order:
                report.notes.append(f"{m.id} is older than the newest applied migration (out of order)")
        except GuardError as exc:
            raise session.refuse(exc, ids) from None
        ids = [m.id for m in todo]
        session.audit("started", ids)
        if not dry:
            rekey_history(ctx.conn, ctx.settings.history_schema, plan.rekeyed)
        if not plan.pending:
            report.notes.append("nothing to apply: the database is up to date")
            session.audit("ok", [])
            return report
        pid = ctx.conn.info.backend_pid
        # A lost connection outside a non-transactional migration (those say where they stopped
        # themselves) leaves the database at a migration boundary, unless one was left partial before.
        lost_hint = (
            "the database is at a migration boundary; `migration-guard status` shows what is applied"
            if not plan.partial
            else f"history marks {', '.join(a.id for a in plan.partial)} partly applied; "
            "`migration-guard status` shows how far, and `migrate` resumes it"
        )
        with failures_audited(session, ids, report, lost_hint, dry=dry):
            try:
                with BlockerWatch(ctx.lock_conn, pid, _watch_interval(ctx.settings)) as watch:
                    if dry:
                        for m in todo:
                            if m.key in gate.specs and gate.specs[m.key].preconditions:
                                ctx.out(
                                    f"{m.id}: preconditions are checked when it is applied, not in a dry run"
                                )
                        report.outcomes = dry_run(
                            ctx.conn,
                            todo,
                            ctx.settings,
                            refuse_access_exclusive=refuse_access_exclusive,
                            watch=watch,
                            on_outcome=lambda o: ctx.out(o.headline()),  # each as it is tried
                        )
                    else:
                        _apply_all(ctx, todo, plan, gate.specs, watch, report)
            except GuardError as exc:
                session.audit("failed" if isinstance(exc, LockLost) else "refused", ids, exc.message)
                raise
        failed_dry = [o for o in report.outcomes if o.status == "dry-run failed"]
        if gate.wait is not None:
            report.wait = _waited(ctx, migrations, gate.wait, dry)
        if failed_dry or report.wait is None:
            session.audit("failed" if failed_dry else "ok", ids, failed_dry[0].error if failed_dry else None)
        else:
            session.audit("waiting", ids, report.wait.message())
        return report


def _waited(
    ctx: RunnerContext, migrations: Sequence[Migration], wait: ContractWait, dry: bool
) -> ContractWait:
    """The wait as it stands after the run: an expand applied in this run now has its own
    `applied_at`, so the window's opening is exact rather than estimated."""
    if wait.expand_row is not None or dry:
        return wait
    after = read_plan(ctx.conn, migrations, ctx.settings)
    gate = contract_checks(after, db_now(ctx.conn), wait.window_hours)
    return gate.wait if gate.wait is not None else wait


def _apply_all(
    ctx: RunnerContext,
    todo: Sequence[Migration],
    plan: Plan,
    specs: dict[str, ContractSpec],
    watch: BlockerWatch,
    report: RunReport,
) -> None:
    executor = Executor(ctx.conn, ctx.settings, ctx.host, ctx.tool_version, watch=watch, out=ctx.out)
    for m in todo:
        if watch.lost:
            raise LockLost(
                f"lost the runner lock: its connection closed ({' '.join(watch.lost.split())}); "
                f"stopped before {m.id}, "
                f"after {len(report.outcomes)} of {len(todo)} migration(s) applied",
                "nothing of the remaining migrations ran; another runner may have started since: "
                "check `migration-guard status`, then run again",
            )
        spec = specs.get(m.key)
        if spec is not None and spec.preconditions:
            check_preconditions(ctx.conn, spec, ctx.settings.statement_timeout)
        row = plan.applied.get(m.key)
        partial = row is not None and row.status == PARTIAL
        resume = row.statements_done if row is not None and partial else 0
        statements, _reason = _mode(m, "up", ctx.settings)
        _refuse_leftovers(ctx, m, statements[resume:])
        ctx.out(f"applying {m.id}" + (f" (resuming at statement {resume + 1})" if resume else ""))
        outcome = executor.up(m, resume, row.statement_running if row is not None and partial else None)
        report.outcomes.append(outcome)
        ctx.out(f"  applied {m.id} in {outcome.duration_ms:.0f} ms")
    if watch.lost:
        report.notes.append(f"the runner lock connection was lost during the run ({watch.lost})")


def _refuse_leftovers(ctx: RunnerContext, m: Migration, statements: list[Statement]) -> None:
    """Refuse before `m` runs when a `CREATE INDEX` of it would trip over an INVALID index
    (a failed concurrent build): by name it fails or is skipped, unnamed it silently adds `..._idx1`."""
    leftovers = leftovers_for(ctx.conn, statements)
    if not leftovers:
        return
    described = "; ".join(f"{x.schema}.{x.name} on {x.table} (for line {stmt.line})" for stmt, x in leftovers)
    fix = " ".join(dict.fromkeys(x.drop_sql for _, x in leftovers))
    raise SafetyError(
        f"{m.id}: INVALID index left by a failed or interrupted index build: {described}",
        f"run `{fix}` then migrate again (the build restarts from scratch)",
    )


def rollback(
    ctx: RunnerContext,
    migrations: Sequence[Migration],
    *,
    steps: int | None = None,
    to: str | None = None,
) -> RunReport:
    """Apply down migrations in reverse version order: the last `steps` (default 1), or all above `to`."""
    target = f"to {to}" if to is not None else f"steps {steps or 1}"
    with Session(ctx, "rollback", target) as session:
        report = RunReport("rollback", session.run_id)
        plan = read_plan(ctx.conn, migrations, ctx.settings)
        report.plan = plan
        files = {m.key: m for m in migrations}
        rows = sorted(plan.applied.values(), key=_row_order, reverse=True)
        if to is not None:
            keep = _rollback_limit(to, plan)
            chosen = [a for a in rows if _row_order(a) > keep]
        else:
            chosen = rows[: steps if steps is not None else 1]
        ids = [a.id for a in chosen]
        try:
            check_duplicates(migrations)
            _check_rollback_to(to, plan)
            todo = _rollback_targets(chosen, files)
            check_all([m for m, _ in todo], ctx.settings, "down")
            refuse_touches([m for m, _ in todo], ctx.settings, "down")
        except GuardError as exc:
            raise session.refuse(exc, ids) from None
        rekey_history(ctx.conn, ctx.settings.history_schema, plan.rekeyed)
        session.audit("started", ids)
        executor = Executor(ctx.conn, ctx.settings, ctx.host, ctx.tool_version, out=ctx.out)
        with (
            failures_audited(session, ids, report, "`migration-guard status` shows what is applied"),
            BlockerWatch(ctx.lock_conn, ctx.conn.info.backend_pid, _watch_interval(ctx.settings)) as watch,
        ):
            executor.watch = watch
            for m, row in todo:
                ctx.out(f"rolling back {m.id}")
                resume = row.statements_done if row.status == PARTIAL_DOWN else 0
                running = row.statement_running if row.status == PARTIAL_DOWN else None
                report.outcomes.append(executor.down(m, resume, running))
                ctx.out(f"  rolled back {m.id} in {report.outcomes[-1].duration_ms:.0f} ms")
        if not todo:
            report.notes.append("nothing to roll back")
        session.audit("ok", ids)
        return report


def _row_order(row: AppliedMigration) -> tuple[tuple[int, ...], str]:
    return (version_key(row.version), row.name)


def _rollback_limit(to: str, plan: Plan) -> tuple[tuple[int, ...], str]:
    """What `--to` keeps: a version keeps every migration of it; a Prisma folder name keeps up to that folder."""
    row = plan.applied.get(to)
    if row is not None and row.history_key != row.version:
        return _row_order(row)
    named = next((m for m in plan.migrations if to in (m.key, m.id) and to != m.version), None)
    if named is not None:
        return (named.version_key, named.name)
    return (version_key(to), "\U0010ffff")


def _check_rollback_to(to: str | None, plan: Plan) -> None:
    """`--to` must name a known version or key (or `0`: undo everything): a typo such as `2024010`
    sorts below every real version and would otherwise roll the whole database back."""
    if (
        to is None
        or to == "0"
        or to in plan.applied
        or any(to in (m.version, m.key) for m in plan.migrations)
    ):
        return
    raise InputError(
        f"rollback --to {to}: no applied migration or migration file has this version; refusing to guess "
        f"(it would undo {sum(version_key(a.version) > version_key(to) for a in plan.applied.values())} "
        "migration(s))",
        "run `migration-guard status` to list the versions; `--to 0` undoes every migration",
    )


def _rollback_targets(
    chosen: list[AppliedMigration], files: dict[str, Migration]
) -> list[tuple[Migration, AppliedMigration]]:
    from guard.db.history import checksum_of

    todo = []
    for row in chosen:
        m = files.get(row.history_key)
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
