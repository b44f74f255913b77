"""`down --write` on copies of real projects of the shared corpus: the Hasura project (stubs and
no-op downs) and the trigger.dev Prisma project (no downs at all), each on a prefix of its
history to keep the suite fast (`scripts/bench_down.py` runs the whole Prisma project). The
written drafts must parse with sqlglot and be accepted by `verify`; the only drafts `verify` may
still fail are those declared irreversible for enum values (`verify` reads the directive in a
later change). Skipped when ../shared/corpus is absent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS

from guard.cli import cli
from guard.down.text import IRREVERSIBLE
from guard.layouts import discover
from guard.parsing import split_statements

pytestmark = pytest.mark.db

HASURA = CORPUS / "Mission-Prerna__nl-hasura-migrations" / "migrations" / "default"
PRISMA = CORPUS / "triggerdotdev__trigger.dev" / "internal-packages" / "database" / "prisma" / "migrations"


def copy_prefix(source: Path, dest: Path, count: int) -> Path:
    if not source.is_dir():
        pytest.skip(f"{source} is absent (shared corpus not available)")
    dest.mkdir()
    for entry in sorted(p for p in source.iterdir() if p.is_dir() and p.name[:1].isdigit())[:count]:
        shutil.copytree(entry, dest / entry.name)
    return dest


def run_json(*args: str, url: str) -> tuple[int, dict]:
    argv = [*args, "--format", "json", "--shadow", "url", "--shadow-url", url]
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize(("source", "count", "layout"), [(HASURA, 30, "hasura"), (PRISMA, 40, "prisma")])
def test_drafts_for_a_real_project_are_accepted_by_verify(
    tmp_path: Path, pg_server, source: Path, count: int, layout: str
) -> None:
    folder = copy_prefix(source, tmp_path / "migrations", count)
    before = {m.id: m.down_sql for m in discover(folder).migrations}
    code, doc = run_json("down", str(folder), "--write", url=pg_server.admin_url)
    drafts = {d["id"]: d for d in doc["drafts"]}
    assert code == 0, [d["reason"] for d in drafts.values() if d["status"] == "refused"]
    assert doc["summary"]["written"] == len(drafts) > 0
    found = {m.id: m for m in discover(folder).migrations}
    assert found.keys() == before.keys()
    for mid, m in found.items():
        if mid not in drafts:
            assert m.down_sql == before[mid], f"{mid}: a real down was changed"
            continue
        assert m.down_sql == drafts[mid]["sql"]
        for st in split_statements(m.down_sql)[0]:
            assert st.ast is not None, f"{mid}: line {st.line}: {st.parse_error}"
        assert (IRREVERSIBLE in m.down_sql) == bool(drafts[mid]["irreversible"])
    code, verified = run_json("verify", str(folder), url=pg_server.admin_url)
    failing = {f["migration"] for f in verified["findings"]} & drafts.keys()
    enum_kept = {mid for mid, d in drafts.items() if d["status"] == "irreversible"}
    assert failing <= enum_kept, [f for f in verified["findings"] if f["migration"] in failing - enum_kept]
    if layout == "hasura":
        # The init migration's empty down became a catalog draft that drops the whole schema.
        assert drafts["1678775808546_init"]["method"] == "catalog"
        assert drafts["1678775808546_init"]["status"] == "verified"
        assert any(d["method"] == "inversion" and not d["irreversible"] for d in drafts.values())
        assert any(d["irreversible"] for d in drafts.values())  # the UPDATE-only data migrations
    else:
        assert len(drafts) == count
        assert enum_kept, "the prefix has enum values added with ALTER TYPE ... ADD VALUE"
