"""The production hard lock: nothing changes a production database unless a person said so, now.

The lock is `CONFIRM_PROD_MIGRATE=YES` in the real process environment of this
run: exactly `YES` (not `yes`, ` YES`, `YES\\n`, `1`, `true`), and never from a
dotenv file, because a lock saved in a file is always open. `DATABASE_URL` must
be set too, so production is never reached through a libpq default.

Pure: it takes the process environment and the value a dotenv file tried to set.
"""

from __future__ import annotations

from collections.abc import Mapping

from guard.errors import SafetyError

LOCK_VAR = "CONFIRM_PROD_MIGRATE"
LOCK_VALUE = "YES"
PROD = "prod"


def _shown(value: str) -> str:
    # repr() makes whitespace and newlines visible, which is usually the whole mistake.
    return repr(value) if len(value) <= 20 else repr(value[:20] + "...")


def require_hard_lock(
    process_environ: Mapping[str, str],
    *,
    database_url_set: bool,
    dotenv_value: str | None = None,
    action: str = "change a production database",
) -> None:
    """Raise `SafetyError` unless the hard lock is open in `process_environ` and a database URL is set.

    `dotenv_value` is what `.env`/`.env.local` tried to set for the lock; it is
    never accepted, only named in the refusal so the user knows why.
    """
    value = process_environ.get(LOCK_VAR)
    fix = f"run it as `{LOCK_VAR}={LOCK_VALUE} <command>` in the shell or CI step that deploys"
    if value is None:
        if dotenv_value is not None:
            raise SafetyError(
                f"production hard lock is closed: {LOCK_VAR} is set only in a dotenv file "
                f"(.env/.env.local), and a lock saved in a file is no lock; refusing to {action}",
                f"remove {LOCK_VAR} from the dotenv file and {fix}",
            )
        raise SafetyError(
            f"production hard lock is closed: {LOCK_VAR} is not set in the process environment; "
            f"refusing to {action}",
            fix,
        )
    if value != LOCK_VALUE:
        raise SafetyError(
            f"production hard lock is closed: {LOCK_VAR} is {_shown(value)}, "
            f"not exactly {LOCK_VALUE!r}; refusing to {action}",
            f"the value must be exactly {LOCK_VALUE} (upper case, no spaces or newline); {fix}",
        )
    if not database_url_set:
        raise SafetyError(
            f"production hard lock: DATABASE_URL is not set; refusing to {action} through a default connection",
            "set DATABASE_URL to the production database explicitly",
        )
