"""The README's adoption walkthrough, run as a user would on two real projects.

A shared-corpus project (Hasura; golang-migrate) is copied into a temporary git repository;
`baseline` records its history's findings; a fresh production database is built from the
whole history through the deploy path (hard lock, prod marker, `migrate --env prod`); then a
new unsafe migration is blocked by `lint` and by the runner's lint gate (it binds in prod),
and a new safe one is applied. The Hasura project is taken up to its TimescaleDB migration,
which a server without that extension cannot run (the runner says so with exit 2; see
tests/test_fresh_history.py). Skipped when ../shared/corpus is absent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from conftest import CORPUS

from guard.cli import cli
from guard.model import version_key

pytestmark = [
    pytest.mark.db,
    pytest.mark.slow,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present"),
]

#: layout -> (corpus folder, first version this server cannot run, or None)
PROJECTS = {
    "hasura": ("Mission-Prerna__nl-hasura-migrations/migrations/default", "1696046171403"),
    "golang-migrate": ("openmeterio__openmeter/tools/migrate/migrations", None),
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _project(tmp_path: Path, rel: str, stop_before: str | None) -> Path:
    repo = tmp_path / "app"
    folder = repo / "db" / "migrations"
    shutil.copytree(CORPUS / rel, folder)
    for path in (folder, *folder.rglob("*")):  # the corpus is read-only; the copy needs its own modes
        path.chmod(0o755 if path.is_dir() else 0o644)
    if stop_before is not None:
        for path in list(folder.iterdir()):
            if version_key(path.name.split("_", 1)[0].split(".", 1)[0]) >= version_key(stop_before):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "history")
    return folder


def _add(folder: Path, layout: str, version: str, name: str, up: str, down: str) -> None:
    if layout == "hasura":
        (folder / f"{version}_{name}").mkdir()
        (folder / f"{version}_{name}" / "up.sql").write_text(up)
        (folder / f"{version}_{name}" / "down.sql").write_text(down)
    else:
        (folder / f"{version}_{name}.up.sql").write_text(up)
        (folder / f"{version}_{name}.down.sql").write_text(down)


def _remove(folder: Path, version: str) -> None:
    for path in folder.glob(f"{version}_*"):
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def _run(monkeypatch: pytest.MonkeyPatch, url: str, *args: str, prod: bool = True) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("NODE_ENV", "production" if prod else "development")
    monkeypatch.delenv("VERCEL_ENV", raising=False)
    if prod:
        monkeypatch.setenv("CONFIRM_PROD_MIGRATE", "YES")
    else:
        monkeypatch.delenv("CONFIRM_PROD_MIGRATE", raising=False)
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _applied(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version FROM migration_guard.history WHERE status = 'applied'").fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("layout", sorted(PROJECTS))
def test_adoption_walkthrough(
    layout: str, tmp_path: Path, local_fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rel, stop_before = PROJECTS[layout]
    folder = _project(tmp_path, rel, stop_before)
    monkeypatch.chdir(folder.parent.parent)
    url = local_fresh_db

    # 1. Accept the history's findings; lint then passes on the unchanged project.
    code, out, err = _run(monkeypatch, url, "baseline", "db/migrations", "--format", "json", prod=False)
    assert code == 0, out + err
    assert (folder.parent.parent / "migration-guard-baseline.json").is_file()
    code, out, err = _run(monkeypatch, url, "lint", "db/migrations", "--no-cache", prod=False)
    assert code == 0, out + err
    assert "baselined" in out

    # 2. A fresh production database from the whole history, through the deploy path.
    code, out, err = _run(monkeypatch, url, "marker", "init", "--env", "prod", "--allow-prod")
    assert code == 0, out + err
    code, out, err = _run(monkeypatch, url, "migrate", "db/migrations", "--env", "prod")
    assert code == 0, out + err
    history = _applied(url)
    on_disk = {p.name.split("_", 1)[0] for p in folder.iterdir() if not p.name.endswith(".down.sql")}
    assert history == on_disk and len(history) > 250

    # 3. A new unsafe migration: lint blocks it, and so does the runner's gate in prod.
    table = "billing_profiles" if layout == "golang-migrate" else "school_list"
    _add(
        folder,
        layout,
        "29990101000000",
        "walk_index",
        f"CREATE INDEX walk_idx ON {table} (id);\n",
        "DROP INDEX walk_idx;\n",
    )
    code, out, err = _run(
        monkeypatch, url, "lint", "db/migrations", "--base", "main", "--no-cache", prod=False
    )
    assert code == 1 and "require-concurrent-index" in out + err, out + err
    code, out, err = _run(monkeypatch, url, "migrate", "db/migrations", "--env", "prod")
    assert code == 1 and "require-concurrent-index" in out + err, out + err
    assert _applied(url) == history  # nothing was applied

    # 4. Written the safe way instead, it passes both and is applied.
    _remove(folder, "29990101000000")
    _add(
        folder,
        layout,
        "29990101000001",
        "walk_note",
        f"-- guard: no-transaction\nCREATE INDEX CONCURRENTLY walk_idx ON {table} (id);\n",
        "-- guard: no-transaction\nDROP INDEX CONCURRENTLY walk_idx;\n",
    )
    code, out, err = _run(
        monkeypatch, url, "lint", "db/migrations", "--base", "main", "--no-cache", prod=False
    )
    assert code == 0, out + err
    code, out, err = _run(monkeypatch, url, "migrate", "db/migrations", "--env", "prod", "--format", "json")
    assert code == 0, out + err
    assert _applied(url) == history | {"29990101000001"}
    assert json.loads(out)["outcomes"][0]["status"] == "applied"
