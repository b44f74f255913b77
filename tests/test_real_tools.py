"""`exec` and `adopt` with the real tools: the `dbmate` binary (the npm package ships it), installed
by npm into pytest's cache folder (`.pytest_cache`, git-ignored; the system temp folder when the
cache plugin is off) once and reused by later sessions, and `drizzle-kit migrate` from
tests/drizzle_kit. Skipped, with the reason, where npm or the registry is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from runner_helpers import as_url
from test_adopt import history, invoke, marked, write

pytestmark = pytest.mark.db

#: Pinned versions; every install step the dbmate tests need is here (drizzle-kit comes from
#: tests/drizzle_kit, installed by scripts/install-drizzle-kit on first use).
NPM_PACKAGES = {"dbmate": ["dbmate@2.36.0"]}


def _npm_tool(request: pytest.FixtureRequest, name: str) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"npm is not installed; the real {name} test needs it")
    cache = getattr(request.config, "cache", None)  # None under `-p no:cacheprovider`
    if cache is not None:
        prefix = cache.mkdir(f"npm-tools-{name}")
    else:
        prefix = Path(tempfile.gettempdir()) / f"migration-guard-npm-tools-{name}"
        prefix.mkdir(exist_ok=True)
    binary = prefix / "node_modules" / ".bin" / name
    if not binary.exists():
        try:
            done = subprocess.run(
                [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", *NPM_PACKAGES[name]],
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"npm install {' '.join(NPM_PACKAGES[name])} timed out (registry unreachable?)")
        if done.returncode != 0 or not binary.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"npm install {' '.join(NPM_PACKAGES[name])} failed (registry unavailable?): {last}")
    probe = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"{name} installed but does not run here: {probe.stderr.strip()[-200:]}")
    return binary


@pytest.fixture(scope="session")
def dbmate_bin(request: pytest.FixtureRequest) -> Path:
    """The real dbmate binary."""
    return _npm_tool(request, "dbmate")


def _dbmate_file(sql: str, down: str) -> str:
    return f"-- migrate:up\n{sql}\n-- migrate:down\n{down}"


DBMATE_FILES = {
    "20240101000000_users.sql": _dbmate_file(
        "CREATE TABLE users (id bigint PRIMARY KEY);\n", "DROP TABLE users;\n"
    ),
    "20240102000000_email.sql": _dbmate_file(
        "ALTER TABLE users ADD COLUMN email text;\n", "ALTER TABLE users DROP COLUMN email;\n"
    ),
}


def test_exec_real_dbmate_is_recorded_and_pending_comes_from_its_table(
    dbmate_bin: Path, local_fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = as_url(marked(local_fresh_db), sslmode="disable")  # lib/pq, which dbmate uses, defaults to TLS
    folder = write(tmp_path / "db" / "migrations", DBMATE_FILES)
    dbmate = [str(dbmate_bin), "--no-dump-schema", "--migrations-dir", str(folder), "up"]
    code, _, err = invoke(["exec", "--migrations", str(folder), "--", *dbmate], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert [(v, via) for v, via, _ in history(url)] == [
        ("20240101000000", "dbmate"),
        ("20240102000000", "dbmate"),
    ]
    write(
        folder,
        {
            "20240103000000_phone.sql": _dbmate_file(
                "ALTER TABLE users ADD COLUMN phone text;\n", "ALTER TABLE users DROP COLUMN phone;\n"
            )
        },
    )
    code, _, err = invoke(["exec", "--migrations", str(folder), "--", *dbmate], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert "wrapped tool: 20240103000000_phone" in err  # only what dbmate applied this time
    code, out, _ = invoke(["status", str(folder)], url, monkeypatch, tmp_path)
    assert "3 applied, 0 partial, 0 pending, 0 drift" in out


def test_adopt_a_database_real_dbmate_migrated(
    dbmate_bin: Path, local_fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = as_url(marked(local_fresh_db), sslmode="disable")
    folder = write(tmp_path / "db" / "migrations", DBMATE_FILES)
    subprocess.run(
        [str(dbmate_bin), "--no-dump-schema", "--migrations-dir", str(folder), "up"],
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
        timeout=120,
    )
    code, out, err = invoke(["adopt", str(folder)], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert "2 recorded from schema_migrations (dbmate)" in out


def _drizzle_project(root: Path) -> Path:
    files = {
        "0000_users.sql": 'CREATE TABLE "users" ("id" integer PRIMARY KEY);\n--> statement-breakpoint\n'
        'CREATE INDEX "users_id" ON "users" ("id");\n',
        "0001_email.sql": 'ALTER TABLE "users" ADD COLUMN "email" text;\n',
    }
    journal = {
        "version": "7",
        "dialect": "postgresql",
        "entries": [
            {"idx": i, "version": "7", "when": 1717000000000 + i, "tag": name[:-4], "breakpoints": True}
            for i, name in enumerate(files)
        ],
    }
    folder = write(root / "drizzle", {**files, "meta/_journal.json": json.dumps(journal)})
    (root / "migration-guard.toml").write_text("require_down = false\n")  # Drizzle keeps no downs
    (root / "drizzle.config.js").write_text(
        "module.exports = { dialect: 'postgresql', out: "
        + json.dumps(str(folder))
        + ", dbCredentials: { url: process.env.DATABASE_URL } };\n"
    )
    return folder


def test_exec_real_drizzle_kit_migrate_is_recorded(
    drizzle_kit: Path, local_fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = as_url(marked(local_fresh_db))
    folder = _drizzle_project(tmp_path)
    kit = [str(drizzle_kit), "migrate", "--config", str(tmp_path / "drizzle.config.js")]
    code, _, err = invoke(["exec", "--migrations", str(folder), "--", *kit], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert [(v, via) for v, via, _ in history(url)] == [("0000", "drizzle"), ("0001", "drizzle")]
    code, out, _ = invoke(["status", str(folder)], url, monkeypatch, tmp_path)
    assert "2 applied, 0 partial, 0 pending, 0 drift" in out


def test_adopt_a_database_real_drizzle_kit_migrated(
    drizzle_kit: Path, local_fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = as_url(marked(local_fresh_db))
    folder = _drizzle_project(tmp_path)
    subprocess.run(
        [str(drizzle_kit), "migrate", "--config", str(tmp_path / "drizzle.config.js")],
        env={**os.environ, "DATABASE_URL": url},
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=120,
    )
    code, out, err = invoke(["adopt", str(folder)], url, monkeypatch, tmp_path)
    assert code == 0, err
    assert "2 recorded from drizzle.__drizzle_migrations (drizzle)" in out and "0 warning" in out
