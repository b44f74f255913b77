"""`migration-guard doctor`: check the local setup before it causes an accident.

Findings: a `.env` holding something that looks like a secret (a DATABASE_URL
with a password, a key or token); the hard lock saved in a dotenv file;
`.env.local` not ignored by git (warning) or committed (error); a database that
cannot be reached, or whose marker does not match. Values are never printed,
only the names of the variables that hold them.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from guard.config import Settings
from guard.db.hardlock import LOCK_VAR
from guard.errors import GuardError

if TYPE_CHECKING:
    from guard.gates import Runtime

OK, INFO, WARNING, ERROR = "ok", "info", "warning", "error"

# Names that hold secrets by convention (AWS_SECRET_ACCESS_KEY, STRIPE_API_KEY, GITHUB_TOKEN, ...).
_SECRET_NAME = re.compile(
    r"(SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_?KEY|_KEY$|^KEY$)", re.I
)
# Values that are secrets whatever the variable is called.
_SECRET_VALUE = re.compile(
    r"^(sk_live_|rk_live_|sk-[A-Za-z0-9]{20,}|ghp_|gho_|github_pat_|xox[abpr]-|AKIA[0-9A-Z]{16}|-----BEGIN)"
)
# Names that are not secrets even though they match the pattern above.
_NOT_SECRET = re.compile(r"(PUBLIC|PUBLISHABLE|_ID$|_URL$|_ENDPOINT$)", re.I)


@dataclass(frozen=True)
class Check:
    """One doctor result: level ok|info|warning|error, a topic, a message and what to do."""

    level: str
    topic: str
    message: str
    hint: str | None = None


GitRunner = Callable[[list[str], Path], int]


def _run_git(args: list[str], cwd: Path) -> int:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return 128
    return done.returncode


def check_dotenv(dotenv: Mapping[str, Mapping[str, str]]) -> list[Check]:
    """Secrets in `.env` (meant to be committed) and the hard lock in any dotenv file."""
    from guard.db.connect import password_of

    checks: list[Check] = []
    env_file = dotenv.get(".env", {})
    secrets = []
    for key, value in env_file.items():
        if not value:
            continue
        if key == "DATABASE_URL" or key.endswith(("_URL", "_DSN")):
            if ("://" in value or "=" in value) and password_of(value):
                secrets.append(f"{key} (connection string with a password)")
            continue
        if (_SECRET_NAME.search(key) and not _NOT_SECRET.search(key)) or _SECRET_VALUE.match(value):
            secrets.append(key)
    if secrets:
        checks.append(
            Check(
                WARNING,
                ".env",
                ".env holds what looks like a secret: " + ", ".join(secrets),
                "move secrets to .env.local (git-ignored) or your secret store; keep .env for shared, harmless defaults",
            )
        )
    elif ".env" in dotenv:
        checks.append(Check(OK, ".env", ".env holds no secret-looking value"))
    for name, values in dotenv.items():
        if LOCK_VAR in values:
            checks.append(
                Check(
                    ERROR,
                    name,
                    f"{name} sets {LOCK_VAR}; the hard lock ignores dotenv files, and a lock saved in a file is no lock",
                    f"remove {LOCK_VAR} from {name}; set it only on the command that deploys",
                )
            )
    return checks


def check_git(folder: Path, git: GitRunner = _run_git) -> list[Check]:
    """`.env.local` must be ignored by git and never committed."""
    if git(["rev-parse", "--show-toplevel"], folder) != 0:
        return [Check(INFO, "git", f"{folder} is not in a git repository; git checks skipped")]
    checks: list[Check] = []
    if git(["ls-files", "--error-unmatch", "--", ".env.local"], folder) == 0:
        checks.append(
            Check(
                ERROR,
                ".env.local",
                ".env.local is committed to git: local secrets are in the repository history",
                "git rm --cached .env.local, add it to .gitignore, and rotate every secret it held",
            )
        )
    if git(["check-ignore", "-q", "--no-index", "--", ".env.local"], folder) != 0:
        checks.append(
            Check(
                WARNING,
                ".env.local",
                ".env.local is not ignored by git",
                "add `.env.local` (or `.env*.local`) to .gitignore",
            )
        )
    elif not checks:
        checks.append(Check(OK, ".env.local", ".env.local is ignored by git"))
    return checks


def check_database(settings: Settings, runtime: Runtime, connect_timeout: float = 5) -> list[Check]:
    """Reachability of DATABASE_URL and its marker against the expected environment (read only)."""
    from guard.db.connect import connect, describe_connection
    from guard.db.hardlock import PROD
    from guard.db.marker import read_marker
    from guard.gates import check_prod_settings

    if runtime.expected_env == PROD:
        try:
            check_prod_settings(runtime)
        except GuardError as exc:
            return [Check(ERROR, "database", exc.message, exc.hint)]
    if not runtime.database_url:
        return [Check(INFO, "database", "DATABASE_URL is not set; database checks skipped")]
    try:
        conn = connect(runtime.database_url, connect_timeout=connect_timeout)
    except GuardError as exc:
        return [Check(ERROR, "database", exc.message, exc.hint)]
    target = describe_connection(conn)
    checks = [Check(OK, "database", f"reachable: {target} (DATABASE_URL from {runtime.database_url_source})")]
    try:
        reading = read_marker(conn, settings)
    except GuardError as exc:
        checks.append(Check(ERROR, "marker", exc.message, exc.hint))
        return checks
    finally:
        conn.close()
    expected = f"expected {runtime.expected_env!r} from {runtime.expected_source}"
    if reading.problem is not None:
        checks.append(
            Check(
                WARNING,
                "marker",
                f"{reading.table}: {reading.problem}; {expected}",
                f"migration-guard marker init --env {runtime.expected_env}",
            )
        )
    elif reading.env != runtime.expected_env:
        checks.append(
            Check(
                WARNING,
                "marker",
                f"{reading.table} says {reading.env!r}; {expected}",
                "every gated command will refuse this database: check DATABASE_URL or pass --env",
            )
        )
    else:
        checks.append(Check(OK, "marker", f"{reading.table} says {reading.env!r}, as {expected}"))
    return checks


def run_doctor(
    settings: Settings,
    environ: Mapping[str, str],
    folder: Path,
    *,
    check_db: bool = True,
    env_flag: str | None = None,
    git: GitRunner = _run_git,
) -> list[Check]:
    """Every doctor check for the project in `folder` with the process environment `environ`."""
    from guard.environment import read_dotenv_files
    from guard.gates import resolve_runtime

    checks: list[Check] = []
    try:
        dotenv = read_dotenv_files(folder)
    except GuardError as exc:
        return [Check(ERROR, "dotenv", exc.message, exc.hint)]
    if not dotenv:
        checks.append(Check(INFO, "dotenv", f"no .env or .env.local in {folder}"))
    checks += check_dotenv(dotenv)
    checks += check_git(folder, git)
    try:
        runtime = resolve_runtime(settings, environ, folder, env_flag=env_flag)
    except GuardError as exc:
        checks.append(Check(ERROR, "environment", exc.message, exc.hint))
        return checks
    checks.append(
        Check(
            INFO,
            "environment",
            f"expected environment {runtime.expected_env!r} from {runtime.expected_source}",
        )
    )
    if check_db:
        checks += check_database(settings, runtime)
    return checks


def exit_code(checks: list[Check]) -> int:
    """1 when any check is a warning or an error, else 0."""
    return 1 if any(c.level in (WARNING, ERROR) for c in checks) else 0
