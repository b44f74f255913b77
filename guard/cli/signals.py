"""Signals for long database commands: SIGTERM (a cancelled CI job, `kill`) is raised like Ctrl-C,
so `finally` blocks run (connections closed, locks released, throwaway databases dropped), psycopg
cancels the running statement, and the command exits 128 + the signal number (130, 143), never 1.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from guard.errors import Interrupted


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises `Interrupted` (a `KeyboardInterrupt`) in the main thread."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
