"""The runner's lint gate, bound by environment: findings at the fail level in the migrations
about to run refuse the run where `lint_gate_envs` names the environment the runner protects
(prod by default) and are a warning elsewhere, so a developer can still build a dev database.

The CI gate (`lint --base`) is where findings block a merge; this gate is the last line in front
of the database the application serves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from guard.errors import GuardError

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.model import Migration


class LintRefusal(GuardError):
    """Pending migrations have lint findings at the fail level (exit 1, like `lint`).

    `count` is how many; where the lint gate does not bind they become a warning.
    """

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, count: int = 0) -> None:
        super().__init__(message, hint)
        self.count = count


def run_lint_gate(
    lint_gate: Callable[[list[Migration]], None] | None,
    pending: list[Migration],
    settings: Settings,
    env: str,
) -> str | None:
    """Run the lint gate: it refuses (`LintRefusal`) where `lint_gate_envs` names `env`, the
    environment the runner protects; elsewhere (dev by default) its findings, already printed,
    come back as a warning line and the run goes on."""
    if lint_gate is None:
        return None
    try:
        lint_gate(pending)
    except LintRefusal as exc:
        envs = settings.lint_gate_envs
        if env in envs:
            raise
        return (
            f"warning: lint found {exc.count or 'some'} problem(s) at the fail level in the migrations "
            f"about to run; the lint gate refuses only in {', '.join(envs) or 'no environment'} "
            f"(lint_gate_envs) and this is {env}: going on"
        )
    return None
