"""The developer's `plan`: what `migrate` would do to this database, judged by the same gates,
without changing anything or taking the runner lock.

Every refusal is collected rather than raised, so one look shows them all; the exit code is
the one `migrate` would end with (0 proceed, 1 lint refuses, 2 refused, 3 a contract waits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from guard.db.audit_guard import plan_note
from guard.db.contract import ContractRefusal, ContractWait, check_precondition_shape, db_now
from guard.db.hardlock import PROD
from guard.db.lintgate import LintRefusal, run_lint_gate
from guard.db.plan import Plan, check_drift, contract_checks, read_plan
from guard.db.txplan import prepare
from guard.errors import SafetyError
from guard.lint.protected import refuse_touches

if TYPE_CHECKING:
    import psycopg

    from guard.config import Settings
    from guard.model import Migration


@dataclass
class Preview:
    """The plan, the notes explaining what `migrate` would do, and the exit code it would give."""

    plan: Plan
    notes: list[str] = field(default_factory=list)
    exit_code: int = 0
    wait: ContractWait | None = None

    def extra(self) -> dict[str, Any]:
        """The JSON fields `plan` adds to the plan itself."""
        return {
            "notes": self.notes,
            "exit_code": self.exit_code,
            "waiting": self.wait.as_dict() if self.wait is not None else None,
        }


def preview(
    conn: psycopg.Connection,
    migrations: Sequence[Migration],
    settings: Settings,
    env: str,
    lint_gate: Callable[[list[Migration]], None] | None,
    to: str | None = None,
) -> Preview:
    """Judge the pending migrations (up to `to`) as `migrate` would in environment `env`."""
    out = Preview(read_plan(conn, migrations, settings, to))
    pending = out.plan.pending
    try:
        if warning := run_lint_gate(lint_gate, pending, settings, env):
            out.notes.append(warning)
    except LintRefusal as exc:
        out.notes.append(exc.message)
        out.exit_code = 1
    binds = env in settings.contract_window_envs
    refusals: list[ContractRefusal] = []
    gate = contract_checks(
        out.plan, db_now(conn), settings.contract_window_hours, window_binds=binds, refusals=refusals
    )
    state = "is open" if binds else f"does not bind in {env} (contract_window_envs)"
    out.notes += [
        f"{s.migration.id}: contract window for {s.expand} {state}" for s in gate.specs.values() if s.expand
    ]
    if gate.wait is not None:
        out.wait = gate.wait
        out.notes.append(gate.wait.message())
        out.exit_code = out.exit_code or ContractWait.exit_code
    out.notes += [f"refused: {exc.message}" for exc in refusals]
    if refusals:
        out.exit_code = 2
    for spec in gate.specs.values():
        try:
            check_precondition_shape(spec)
        except ContractRefusal as exc:
            out.notes.append(f"refused: {exc.message}")
            out.exit_code = 2
    for m in pending:
        try:
            prepare(m, "up", settings)  # transaction control `migrate` refuses before running
        except SafetyError as exc:
            out.notes.append(f"refused: {exc.message}")
            out.exit_code = 2
    try:
        check_drift(out.plan)  # the same refusal `migrate` would give
    except SafetyError as exc:
        out.notes.append(f"refused: {exc.message}")
        out.exit_code = 2
    try:
        refuse_touches(pending, settings)  # migrations that write the tool's schema or the marker
    except SafetyError as exc:
        out.notes.append(f"refused: {exc.message}")
        out.exit_code = 2
    trail = plan_note(conn, settings.history_schema, strict=env == PROD)
    if trail is not None:  # a tampered audit trail: refused on prod, re-armed elsewhere
        out.notes.append(trail[0])
        out.exit_code = 2 if trail[1] else out.exit_code
    return out
