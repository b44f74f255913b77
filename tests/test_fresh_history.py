"""A fresh dev database built from the whole history of each shared-corpus project.

Each project is copied to a temporary folder, `baseline` records the findings its history
has, and `migrate` runs on an empty database of the machine's Postgres with the gates a
developer has (NODE_ENV=development, a dev marker). The baseline gets it past the lint gate;
what stops it after that is the project's own or the server's, and is asserted exactly.
Skipped when ../shared/corpus (or GUARD_TEST_CORPUS) is absent. Every project is built on every
run (the Hasura and trigger.dev histories, several hundred migrations each, take about 7 s each):
left opt-in, the trigger.dev build went stale unnoticed when the history was keyed by Prisma's
folder names.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from conftest import CORPUS

from guard.cli import cli
from guard.layouts import discover

pytestmark = [
    pytest.mark.db,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present"),
]

HASURA = "Mission-Prerna__nl-hasura-migrations/migrations"
OPENMETER = "openmeterio__openmeter/tools/migrate/migrations"
BIONIC = "bionic-gpt__bionic-gpt/crates/db/migrations"
TRIGGER = "triggerdotdev__trigger.dev/internal-packages/database/prisma/migrations"


def _copy(tmp_path: Path, rel: str) -> Path:
    folder = tmp_path / "project" / "migrations"
    shutil.copytree(CORPUS / rel, folder)
    for path in (folder, *folder.rglob("*")):  # the corpus is read-only; the copy needs its own modes
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def _cli(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("NODE_ENV", "development")
    for var in ("VERCEL_ENV", "CONFIRM_PROD_MIGRATE"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _fresh_build(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, rel: str
) -> tuple[Path, int, str, set[str]]:
    """Copy, baseline, mark dev, migrate: (folder, exit code, stderr, versions in the history)."""
    folder = _copy(tmp_path, rel)
    monkeypatch.chdir(folder.parent)
    code, out, err = _cli(monkeypatch, url, "baseline", "migrations", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["findings"] > 0
    assert _cli(monkeypatch, url, "marker", "init", "--env", "dev")[0] == 0
    code, _, err = _cli(monkeypatch, url, "migrate", "migrations")
    assert "lint found" not in err  # the baseline accepted the history's findings
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version FROM migration_guard.history WHERE status = 'applied'").fetchall()
    return folder, code, err, {r[0] for r in rows}


def _history_keys(folder: Path) -> list[str]:
    """The migrations' keys in the history, in order: the version, or Prisma's folder name."""
    return [m.key for m in discover(folder).migrations]


@pytest.mark.slow
def test_openmeter_builds_whole(tmp_path: Path, local_fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, code, err, applied = _fresh_build(tmp_path, local_fresh_db, monkeypatch, OPENMETER)
    assert code == 0, err
    assert applied == set(_history_keys(folder))


@pytest.mark.slow
def test_trigger_dev_builds_whole(
    tmp_path: Path, local_fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, code, err, applied = _fresh_build(tmp_path, local_fresh_db, monkeypatch, TRIGGER)
    assert code == 0, err
    assert applied == set(_history_keys(folder))


@pytest.mark.slow
def test_hasura_stops_where_timescaledb_is_assumed(
    tmp_path: Path, local_fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project calls TimescaleDB's create_hypertable, but no migration creates the extension:
    its databases had it already. Everything before that migration applies; on a server without
    TimescaleDB the stop is an environment refusal naming it."""
    with psycopg.connect(local_fresh_db) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
    folder, code, err, applied = _fresh_build(tmp_path, local_fresh_db, monkeypatch, HASURA)
    versions = _history_keys(folder)
    stop = versions.index("1696046171403")
    assert code == 2
    assert (
        "1696046171403_create_assessments_hypertable (up) "
        + ('needs the Postgres extension "timescaledb"' if row == (0,) else "failed at line 1")
    ) in err
    assert (
        "function create_hypertable(unknown, unknown, chunk_time_interval => interval) does not exist" in err
    )
    assert applied == set(versions[:stop])


def test_bionic_gpt_stops_at_dbmate_s_own_table(
    tmp_path: Path, local_fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first migration grants on `schema_migrations`, the table dbmate creates before it runs
    any migration: under another runner it does not exist, so nothing applies."""
    _, code, err, applied = _fresh_build(tmp_path, local_fresh_db, monkeypatch, BIONIC)
    assert code == 2
    assert 'initial_setup (up) failed at line 60: relation "schema_migrations" does not exist' in err
    assert applied == set()


def test_bionic_gpt_needs_pgvector(
    tmp_path: Path, local_fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With dbmate's table present (as dbmate leaves it), the history runs until it needs `vector`:
    on a server without pgvector that is an environment refusal naming the extension."""
    with psycopg.connect(local_fresh_db, autocommit=True) as conn:
        # dbmate's own DDL (amacneil/dbmate pkg/driver/postgres/postgres.go, CreateMigrationsTable).
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) PRIMARY KEY)")
        has_vector = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()
    if has_vector != (0,):
        pytest.skip("this server has pgvector: the refusal cannot happen here")
    folder, code, err, applied = _fresh_build(tmp_path, local_fresh_db, monkeypatch, BIONIC)
    versions = _history_keys(folder)
    stop = versions.index("20230807080530")
    assert code == 2
    assert '20230807080530_documents_and_datasets (up) needs the Postgres extension "vector"' in err
    assert "apt install postgresql-" in err and "pgvector" in err
    assert applied == set(versions[:stop])
