"""The two connections a runner command works with: the gated work connection and a plain one
for the runner lock (and the audit rows), to the same target, both closed afterwards."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.db.session import RunnerContext
    from guard.gates import Runtime


@contextmanager
def runner_context(
    settings: Settings, runtime: Runtime, *, mutating: bool, out: Callable[[str], None]
) -> Iterator[RunnerContext]:
    """Pass the gates (hard lock when `mutating` on prod, marker), then yield a `RunnerContext`
    whose `reconnect` opens a fresh connection for audit rows when the lock connection is lost."""
    from guard.db.connect import connect
    from guard.db.session import RunnerContext
    from guard.gates import open_gated_connection

    conn = open_gated_connection(settings, runtime, mutating=mutating, out=out)
    try:
        assert runtime.database_url is not None  # the gates refused otherwise
        url = runtime.database_url
        lock_conn = connect(url, application_name="migration-guard lock")
        try:
            yield RunnerContext(
                conn,
                lock_conn,
                settings,
                host=socket.gethostname(),
                out=out,
                env=runtime.expected_env,
                reconnect=lambda: connect(url, application_name="migration-guard audit"),
            )
        finally:
            lock_conn.close()
    finally:
        conn.close()
