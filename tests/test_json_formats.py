"""docs/json-formats.md matches what `verify`, `status`, `plan`, `migrate` and `rollback` really print:
the same top-level keys as the section's table, and the same shape (keys at every level) as its example."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from guard.cli import cli

DOC = Path(__file__).resolve().parent.parent / "docs" / "json-formats.md"

pytestmark = pytest.mark.db


def _sections() -> dict[str, str]:
    text = DOC.read_text()
    parts = re.split(r"^## `([a-z]+)[^`]*`.*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def documented_keys(command: str) -> set[str]:
    """Top-level keys named in the first column of the section's table (`a[].b` counts as `a`)."""
    keys = set()
    for name in re.findall(r"^\| `([a-z_]+)[^`]*` \|", _sections()[command], flags=re.M):
        keys.add(name)
    if command == "plan":  # "the `status` object ... plus"
        keys |= documented_keys("status")
    return keys


def example(command: str) -> dict[str, Any]:
    """The section's JSON example."""
    block = re.search(r"```json\n(.*?)```", _sections()[command], flags=re.S)
    assert block is not None, command
    return json.loads(block.group(1))  # type: ignore[no-any-return]


def same_shape(doc: Any, real: Any, where: str = "$") -> None:
    """Keys equal at every level the example shows (lists: their first items)."""
    if isinstance(doc, dict):
        assert isinstance(real, dict), where
        assert set(doc) == set(real), f"{where}: documented {sorted(doc)}, printed {sorted(real)}"
        for key in doc:
            same_shape(doc[key], real[key], f"{where}.{key}")
    elif isinstance(doc, list) and doc and real:
        same_shape(doc[0], real[0], f"{where}[0]")


def _invoke(args: list[str], url: str | None = None) -> tuple[int, dict[str, Any]]:
    env = {"DATABASE_URL": url, "CONFIRM_PROD_MIGRATE": None, "GITHUB_ACTIONS": None} if url else {}
    result = CliRunner(env=env).invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, text in {
        "1_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        "1_users.down.sql": "DROP TABLE users;\n",
        "2_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n",
        "2_email.down.sql": "SELECT 1;\n",  # does not undo its up: verify reports it
    }.items():
        (folder / name).write_text(text)
    return folder


def test_the_tables_name_the_keys_of_the_examples() -> None:
    for command in ("verify", "down", "status", "plan", "migrate"):
        if command != "plan":
            assert documented_keys(command) == set(example(command)), command


def test_verify_json_is_documented(folder: Path, pg_server) -> None:
    code, doc = _invoke(["verify", str(folder), "--shadow", "url", "--shadow-url", pg_server.admin_url])
    assert code == 1 and doc["findings"]
    assert set(doc) == documented_keys("verify")
    same_shape(example("verify"), doc)


def test_down_json_is_documented(folder: Path, pg_server) -> None:
    (folder / "3_drop.up.sql").write_text("ALTER TABLE users DROP COLUMN email;\n")
    code, doc = _invoke(["down", str(folder), "--shadow", "url", "--shadow-url", pg_server.admin_url])
    assert code == 0 and [d["id"] for d in doc["drafts"]] == ["2_email", "3_drop"]
    assert set(doc) == documented_keys("down")
    same_shape(example("down"), doc)
    same_shape(example("down")["drafts"][0], doc["drafts"][1])


def test_status_plan_migrate_rollback_json_are_documented(folder: Path, fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bk_env_marker (id integer PRIMARY KEY CHECK (id = 1),"
            " env text NOT NULL CHECK (env IN ('dev', 'prod')))"
        )
        conn.execute("INSERT INTO bk_env_marker VALUES (1, 'dev')")
    args = [str(folder), "--env", "dev"]
    code, doc = _invoke(["migrate", *args, "--to", "1"], fresh_db)
    assert code == 0 and doc["action"] == "migrate"
    code, status = _invoke(["status", *args], fresh_db)
    assert code == 0 and set(status) == documented_keys("status") and status["pending"] == ["2_email"]
    same_shape(example("status"), status)
    code, plan = _invoke(["plan", *args], fresh_db)
    assert code == 0 and set(plan) == documented_keys("plan")
    same_shape(example("status"), {k: v for k, v in plan.items() if k in example("status")})
    code, run = _invoke(["migrate", *args], fresh_db)
    assert code == 0 and set(run) == documented_keys("migrate")
    same_shape(example("migrate"), run)
    code, back = _invoke(["rollback", *args], fresh_db)
    assert code == 0 and back["action"] == "rollback" and set(back) == documented_keys("migrate")
