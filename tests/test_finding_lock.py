"""A finding's JSON `lock` has one shape: a bare Postgres lock mode or null (docs/json-schema.md).

Rules document their lock in prose (`SHARE (blocks writes; reads continue); ACCESS EXCLUSIVE
on the index`); a finding carries only the mode. Checked over every rule's bad example and
over the JSON of real migrations from the corpus.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS
from test_rule_registry import WALKED, example_settings

from guard.cli import cli
from guard.lint.engine import lint_migration
from guard.lint.locks import ORDER, describe, finding_lock, leading_mode
from guard.model import Migration

MODES = {*ORDER, None}
SCHEMA = Path(__file__).resolve().parent.parent / "guard" / "schemas" / "lint-report.json"
BIONIC = "bionic-gpt__bionic-gpt/crates/db/migrations"
OPENMETER = "openmeterio__openmeter/tools/migrate/migrations"


def test_a_described_lock_becomes_its_mode() -> None:
    assert finding_lock(None, describe("SHARE ROW EXCLUSIVE") + " for a foreign key") == "SHARE ROW EXCLUSIVE"
    assert finding_lock(None, describe("SHARE") + "; ACCESS EXCLUSIVE on the index") == "SHARE"
    assert finding_lock("ACCESS EXCLUSIVE", describe("SHARE")) == "ACCESS EXCLUSIVE"
    assert finding_lock(None, None) is None
    assert leading_mode("SHARED memory") is None  # a word that starts like a mode is not one
    assert leading_mode("whatever the statement takes") is None


def test_the_schema_allows_exactly_the_modes() -> None:
    lock = json.loads(SCHEMA.read_text())["properties"]["findings"]["items"]["properties"]["lock"]
    assert set(lock["enum"]) == MODES


@pytest.mark.parametrize("rule", WALKED, ids=lambda r: r.id)
def test_every_rule_reports_a_bare_mode(rule) -> None:  # type: ignore[no-untyped-def]
    sql = rule.bad
    assert sql, rule.id
    expand = Migration(
        version="20240101090000",
        name="expand",
        layout="hasura",
        up_path=Path("m/20240101090000_expand/up.sql"),
        up_sql="CREATE TABLE example (id bigint PRIMARY KEY);",
    )
    m = Migration(
        version="20240102000000",
        name="example",
        layout="hasura",
        up_path=Path("m/20240102000000_example/up.sql"),
        up_sql=sql,
        down_path=Path("m/20240102000000_example/down.sql"),
        down_sql="SELECT 1;",
    )
    findings = lint_migration(m, example_settings(sql), [expand, m])
    assert {f.lock for f in findings} <= MODES, [(f.rule, f.lock) for f in findings]
    own = [f for f in findings if f.rule == rule.id]
    if rule.lock and own:
        # The rule documents a lock, so its finding names one (the hit's, else the documented mode).
        assert all(f.lock in ORDER for f in own), [(f.rule, f.lock) for f in own]


@pytest.mark.skipif(not CORPUS.exists(), reason="corpus not present (../shared/corpus)")
def test_real_json_output_has_only_bare_modes(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    locks: list[str | None] = []
    for relative in (BIONIC, OPENMETER):
        source = CORPUS / relative
        if not source.exists():
            pytest.skip(f"{relative} not in this corpus checkout")
        folder = tmp_path / relative.split("/")[0]
        shutil.copytree(source, folder)
        out = CliRunner().invoke(cli, ["lint", str(folder), "--format", "json", "--no-cache"])
        assert out.exit_code in (0, 1), out.output
        doc = json.loads(out.output)
        jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
        locks += [f["lock"] for f in doc["findings"]]
    assert set(locks) <= MODES
    assert {lock for lock in locks if lock} >= {"ACCESS EXCLUSIVE"}  # the corpus does take locks
