"""The gates of `exec`, which hands the migrations to another tool instead of applying them:
the lint gate on what is pending, the drift check, and (when the pending list comes from the
wrapped tool's own history) the contract windows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from guard.db.contract import ContractRefusal, db_now
from guard.db.lintgate import run_lint_gate
from guard.db.plan import Plan, check_drift, contract_checks, read_plan
from guard.db.session import RunnerContext, Session
from guard.errors import GuardError
from guard.lint.protected import refuse_touches
from guard.model import Migration
from guard.timefmt import utc


def gate_check(
    ctx: RunnerContext,
    session: Session,
    migrations: Sequence[Migration],
    lint_gate: Callable[[list[Migration]], None] | None,
    pending: Sequence[Migration] | None = None,
) -> Plan:
    """For `exec`: under a session, run the lint gate on pending migrations and the drift check.

    `pending`: what the wrapped tool has not applied yet (read from its own history); then the
    lint gate and the contract windows judge exactly those, as `migrate` would.
    """
    plan = read_plan(ctx.conn, migrations, ctx.settings)
    if pending is not None:
        plan.pending = list(pending)
    try:
        checked = plan.pending if plan.applied or pending is not None else list(plan.migrations)
        refuse_touches(checked, ctx.settings)
        if warning := run_lint_gate(lint_gate, checked, ctx.settings, ctx.env):
            ctx.out(warning)
        if plan.applied:
            check_drift(plan)
        if pending is not None:
            _contract_window_open(ctx, plan)
    except GuardError as exc:
        raise session.refuse(exc, [m.id for m in plan.pending]) from None
    return plan


def _contract_window_open(ctx: RunnerContext, plan: Plan) -> None:
    """For `exec`: the wrapped tool applies every pending migration at once, so a contract whose
    window has not opened cannot wait behind the others as it does under `migrate`: refuse."""
    gate = contract_checks(
        plan,
        db_now(ctx.conn),
        ctx.settings.contract_window_hours,
        window_binds=ctx.env in ctx.settings.contract_window_envs,
    )
    if gate.wait is not None:
        raise ContractRefusal(
            gate.wait.message() + "; the wrapped tool would apply it now",
            f"ship the migrations before the contract first, and the contract after {utc(gate.wait.opens)}",
        )
