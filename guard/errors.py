"""Expected failures: one exception family, turned into exit code 2 in one place (the CLI).

Every fail-closed refusal is a `GuardError`: a message that states the fact and a
hint that names the next step (the flag, setting or command to use).
"""

from __future__ import annotations


class GuardError(Exception):
    """An expected failure the user can act on; never shown with a traceback."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ConfigError(GuardError):
    """The configuration file, a flag or an environment variable is invalid."""


class InputError(GuardError):
    """A migrations path or file cannot be read or understood."""


class SafetyError(GuardError):
    """A safety gate (hard lock, environment marker) refused to proceed."""


class DatabaseError(GuardError):
    """The database could not be reached or answered with an error (message redacted)."""


class LockBusyError(GuardError):
    """Another runner holds the migration lock."""


class Interrupted(KeyboardInterrupt):
    """A signal stopped the command (SIGTERM raised like Ctrl-C); exit code 128 + `signum`."""

    def __init__(self, signum: int = 2) -> None:
        super().__init__(signum)
        self.signum = signum


def signal_name(exc: BaseException) -> str:
    """`SIGINT` for Ctrl-C, else the name of the signal an `Interrupted` carries."""
    import signal

    return signal.Signals(getattr(exc, "signum", signal.SIGINT)).name
