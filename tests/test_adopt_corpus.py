"""Adopting the whole history of each shared-corpus project from its own tool's table, filled the way
that tool writes it after applying every migration. Nothing is run: only the history is recorded.
Skipped when ../shared/corpus is absent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tool_tables as tt
from conftest import CORPUS
from test_adopt import history, invoke, marked

from guard.db.history import checksum_of
from guard.layouts import discover
from guard.model import Migration

pytestmark = pytest.mark.db

PROJECTS = {
    "hasura": "Mission-Prerna__nl-hasura-migrations/migrations",
    "dbmate": "bionic-gpt__bionic-gpt/crates/db/migrations",
    "golang-migrate": "openmeterio__openmeter/tools/migrate/migrations",
    "prisma": "triggerdotdev__trigger.dev/internal-packages/database/prisma/migrations",
}


def _fill(tool: str, url: str, migrations: list[Migration]) -> None:
    """Write the tool's history for every migration, as the tool does after applying them all."""
    if tool == "hasura":
        tt.hasura_catalog(url, {m.version: False for m in migrations})
    elif tool == "dbmate":
        tt.dbmate(url, [m.version for m in migrations])
    elif tool == "golang-migrate":
        tt.golang_migrate(url, max(int(m.version) for m in migrations))
    else:
        tt.prisma(url, [(m.up_path.parent.name, m.up_path.read_bytes(), True, False) for m in migrations])


@pytest.mark.parametrize("tool", sorted(PROJECTS))
def test_adopts_a_real_projects_whole_history(
    tool: str, fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = CORPUS / PROJECTS[tool]
    if not source.is_dir():
        pytest.skip(f"{source} is absent (shared corpus not available)")
    folder = tmp_path / "migrations" / source.name
    shutil.copytree(source, folder)
    url = marked(fresh_db)
    migrations = discover(folder).migrations
    _fill(tool, url, migrations)
    code, out, err = invoke(
        ["adopt", str(folder), "--dry-run", "--format", "json"], url, monkeypatch, tmp_path
    )
    assert code == 0, err
    preview = json.loads(out)
    code, out, err = invoke(["adopt", str(folder), "--format", "json"], url, monkeypatch, tmp_path)
    assert code == 0, err
    report = json.loads(out)
    assert (preview["recorded"], preview["already_recorded"]) == (
        report["recorded"],
        report["already_recorded"],
    )
    assert report["tool"] == tool and report["warnings"] == []
    rows = history(url)
    # One row per migration under its `Migration.key`: trigger.dev's two 20260630120000 folders are two.
    assert sorted(r[0] for r in rows) == sorted(m.key for m in migrations)
    assert len(report["recorded"]) == len(migrations) and report["already_recorded"] == []
    by_key = {m.key: m for m in migrations}
    assert [r[2] for r in rows] == [checksum_of(by_key[r[0]]) for r in rows]  # the files as they are now
