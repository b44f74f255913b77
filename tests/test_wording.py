"""The wording fixes of issue 15: what each command says matches what it did (real runs, real Postgres)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from rules_helpers import lint_sql

from guard.cli import cli
from guard.config import Settings
from guard.lint.engine import lint_path
from guard.report import render

ROOT = Path(__file__).resolve().parent.parent

MIGRATIONS = {
    "1_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
    "1_users.down.sql": "DROP TABLE users;\n",
    "2_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    "2_email.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
}
DROP = {
    "3_drop.up.sql": "ALTER TABLE users DROP COLUMN email;\n",
    "3_drop.down.sql": "ALTER TABLE users ADD COLUMN email text;\n",
}


def _marked(url: str, env: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bk_env_marker (id integer PRIMARY KEY CHECK (id = 1),"
            " env text NOT NULL CHECK (env IN ('dev', 'prod')))"
        )
        conn.execute("INSERT INTO bk_env_marker VALUES (1, %s)", (env,))
    return url


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _invoke(args: list[str], monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[int, str, str]:
    for var in ("CONFIRM_PROD_MIGRATE", "NODE_ENV", "VERCEL_ENV", "GITHUB_ACTIONS", "DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# --- FORCE_COLOR / NO_COLOR --------------------------------------------------------------------


def test_force_color_colours_a_pipe_and_no_color_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "migrations" / "20240101000000_drop"
    folder.mkdir(parents=True)
    (folder / "up.sql").write_text("DROP TABLE a;\n")
    (folder / "down.sql").write_text("CREATE TABLE a (id int);\n")
    result = lint_path(tmp_path / "migrations", Settings())

    def rendered() -> str:
        stream = io.StringIO()  # not a terminal
        render(result, "text", stream)
        return stream.getvalue()

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert "\033[" not in rendered()
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\033[31m" in rendered()
    monkeypatch.setenv("FORCE_COLOR", "")  # empty means unset (force-color.org)
    assert "\033[" not in rendered()
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in rendered()


# --- a self-referencing foreign key --------------------------------------------------------------


def test_self_referencing_foreign_key_names_its_table_once() -> None:
    sql = 'ALTER TABLE "TaskRun" ADD CONSTRAINT "TaskRun_parent_fkey" FOREIGN KEY ("parentId") REFERENCES "TaskRun"(id);'
    [f] = [f for f in lint_sql(sql) if f.rule == "require-not-valid-constraint"]
    assert f.message.endswith('on "TaskRun"'), f.message
    assert '"TaskRun" and "TaskRun"' not in f.message
    [g] = [
        f
        for f in lint_sql("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);")
        if f.rule == "require-not-valid-constraint"
    ]
    assert g.message.endswith("on orders and users"), g.message


# --- the runner's lint gate and `plan` ------------------------------------------------------------


@pytest.mark.db
def test_lint_gate_counts_the_pending_migrations_it_checked(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _marked(fresh_db, "prod")
    folder = _write(tmp_path / "migrations", MIGRATIONS)
    monkeypatch.chdir(tmp_path)
    prod = {"DATABASE_URL": url, "CONFIRM_PROD_MIGRATE": "YES"}
    code, _, err = _invoke(["migrate", str(folder), "--env", "prod"], monkeypatch, **prod)
    assert code == 0, err
    _write(folder, DROP)
    code, _, err = _invoke(["migrate", str(folder), "--env", "prod"], monkeypatch, **prod)
    assert code == 1, err
    assert "1 pending migrations checked: 1 errors" in err
    assert "3 migrations checked" not in err
    assert "in the 1 pending migration(s) about to run" in err and "nothing was applied" in err


@pytest.mark.db
def test_plan_does_not_say_nothing_was_applied(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _marked(fresh_db, "prod")
    folder = _write(tmp_path / "migrations", {**MIGRATIONS, **DROP})
    monkeypatch.chdir(tmp_path)
    code, out, err = _invoke(["plan", str(folder), "--env", "prod"], monkeypatch, DATABASE_URL=url)
    assert code == 1, err
    assert (
        "note     lint found 1 problem(s) at or above error in the 3 pending migration(s) about to run" in out
    )
    assert "applied" not in out.replace("0 applied", "")


# --- `safety` on production without the hard lock --------------------------------------------------


def test_safety_refusal_says_it_changed_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _invoke(
        ["safety", "--env", "prod"], monkeypatch, DATABASE_URL="postgresql://u@db.invalid:5432/app"
    )
    assert code == 2
    assert "production hard lock is closed" in err
    assert "refusing to change a production database" not in err
    assert "`migrate` on this production database would be refused (this check changed nothing)" in err


# --- shell completion ------------------------------------------------------------------------------


def test_shell_completion_is_documented_and_works() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text()
    assert "_MIGRATION_GUARD_COMPLETE=bash_source migration-guard" in doc
    exe = Path(sys.executable).parent / "migration-guard"
    env = {
        **os.environ,
        "_MIGRATION_GUARD_COMPLETE": "bash_complete",
        "COMP_WORDS": "migration-guard veri",
        "COMP_CWORD": "1",
    }
    out = subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.split() == ["plain,verify"]
    for shell in ("bash", "zsh", "fish"):
        assert f"_MIGRATION_GUARD_COMPLETE={shell}_source" in doc
