"""Helpers shared by the runner tests: build migrations in memory and a runner context on a real database."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from guard.config import Settings
from guard.db.runner import RunnerContext
from guard.model import Migration

#: Short timeouts so lock tests stay fast.
FAST = dataclasses.replace(
    Settings(),
    lock_timeout="200ms",
    lock_retries=2,
    lock_retry_backoff_seconds=0.05,
    runner_lock_wait_seconds=1,
)


def mig(
    version: str,
    up: str,
    down: str | None = None,
    name: str = "",
    transaction: bool | None = None,
    layout: str = "plain",
) -> Migration:
    """An in-memory migration (no file on disk: the runner only needs the SQL)."""
    name = name or f"m{version}"
    return Migration(
        version=version,
        name=name,
        layout=layout,
        up_path=Path(f"{version}_{name}.up.sql"),
        up_sql=up,
        down_path=Path(f"{version}_{name}.down.sql") if down is not None else None,
        down_sql=down,
        transaction=transaction,
    )


@contextmanager
def runner_ctx(
    url: str, settings: Settings = FAST, lines: list[str] | None = None, env: str = "prod"
) -> Iterator[RunnerContext]:
    """A RunnerContext with two autocommit connections to `url`, closed afterwards; `env` is the
    environment the runner protects (prod: the gates bind, as they do by default)."""
    conn = psycopg.connect(url, autocommit=True, application_name="guard-test-runner")
    lock_conn = psycopg.connect(url, autocommit=True, application_name="guard-test-lock")
    sink = lines if lines is not None else []
    try:
        yield RunnerContext(
            conn,
            lock_conn,
            settings,
            host="testhost",
            out=sink.append,
            env=env,
            reconnect=lambda: psycopg.connect(url, autocommit=True, application_name="guard-test-audit"),
        )
    finally:
        conn.close()
        lock_conn.close()


def scalar(url: str, query: str) -> object:
    """One value from a fresh connection."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None


def history_versions(url: str, schema: str = "migration_guard") -> list[str]:
    """Applied versions in the history table, in version order."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(f"SELECT version FROM {schema}.history ORDER BY version").fetchall()  # type: ignore[arg-type]
        return [r[0] for r in rows]


def as_url(conninfo: str, **query: str) -> str:
    """The `postgres://` URL form of a conninfo string (dbmate and drizzle-kit read URLs only)."""
    from psycopg.conninfo import conninfo_to_dict

    p = conninfo_to_dict(conninfo)
    extra = "&".join(f"{k}={v}" for k, v in query.items())
    return f"postgres://{p['user']}@{p['host']}:{p.get('port', 5432)}/{p['dbname']}" + (
        f"?{extra}" if extra else ""
    )
