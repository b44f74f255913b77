"""CI output of `verify` and `migrate` (also `--dry-run`): one line per migration, written as it
happens (a real subprocess reading a pipe, as a CI log does), with the time it took; `verify` under
GitHub Actions adds annotations and a job summary. Real runs on the embedded server."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from guard.cli import cli

pytestmark = pytest.mark.db

SLOW = "SELECT pg_sleep(0.6);\n"


def _hasura(root: Path, migrations: list[tuple[str, str, str]]) -> Path:
    folder = root / "migrations"
    for i, (name, up, down) in enumerate(migrations, start=1):
        d = folder / f"2024010{i}000000_{name}"
        d.mkdir(parents=True)
        (d / "up.sql").write_text(up)
        (d / "down.sql").write_text(down)
    return folder


def _timed_lines(args: list[str], cwd: Path, env: dict[str, str]) -> list[tuple[float, str]]:
    """Run the CLI with stdout on a pipe; each line with the time it arrived (seconds from start)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "guard", *args],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    lines = [(time.perf_counter() - started, line.rstrip("\n")) for line in proc.stdout]
    assert proc.wait(timeout=120) == 0, lines
    return lines


def test_verify_prints_each_migration_as_it_is_verified(tmp_path: Path, pg_server) -> None:
    folder = _hasura(
        tmp_path,
        [
            ("users", "CREATE TABLE users (id bigint PRIMARY KEY);\n", "DROP TABLE users;\n"),
            (
                "slow",
                SLOW + "ALTER TABLE users ADD COLUMN email text;\n",
                "ALTER TABLE users DROP COLUMN email;\n",
            ),
        ],
    )
    args = [
        "verify",
        str(folder),
        "--layout",
        "hasura",
        "--shadow",
        "url",
        "--shadow-url",
        pg_server.admin_url,
    ]
    lines = _timed_lines(args, tmp_path, {"GITHUB_ACTIONS": ""})
    text = [line for _, line in lines]
    assert text[0].startswith("verify on ")
    assert re.fullmatch(r"  ok       20240101000000_users  \d+\.\d\ds", text[1]), text
    assert re.fullmatch(r"  ok       20240102000000_slow  \d+\.\d\ds", text[2]), text
    assert float(text[2].split()[-1][:-1]) >= 1.2  # its up ran twice (round trip), 0.6 s each
    assert text[-1].startswith("2 verified: 2 round-trip, 0 failed (passed)")
    assert len(text) == 4  # each migration once: the closing report does not repeat them
    # The first migration's line reached the pipe while the slow one was still running.
    first, end = lines[1][0], lines[-1][0]
    assert end - first >= 1.0, lines


def test_verify_under_github_actions_annotates_and_writes_a_job_summary(
    tmp_path: Path, pg_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hasura(
        tmp_path,
        [
            ("users", "CREATE TABLE users (id bigint PRIMARY KEY);\n", "DROP TABLE users;\n"),
            ("email", "ALTER TABLE users ADD COLUMN email text;\n", "SELECT 1;\n"),
        ],
    )
    summary = tmp_path / "summary.md"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    base = [
        "verify",
        "migrations",
        "--layout",
        "hasura",
        "--shadow",
        "url",
        "--shadow-url",
        pg_server.admin_url,
    ]
    result = CliRunner().invoke(cli, base, catch_exceptions=False)
    assert result.exit_code == 1
    down, reapply = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert down == (
        "::error file=migrations/20240102000000_email/down.sql,line=1,"
        "title=migration-guard down-does-not-restore::down of 20240102000000_email leaves column "
        "users.email behind%0Afix: drop column users.email in the down migration"
    )
    assert reapply.startswith("::error file=migrations/20240102000000_email/up.sql,line=1,")
    assert 'column "email" of relation "users" already exists%0Afix: ' in reapply
    md = summary.read_text()
    assert md.startswith("## migration-guard verify: ❌ failed\n")
    assert "2 verified · 1 round-trip · 1 failed · on " in md
    assert "| ❌ | `down-does-not-restore` | `migrations/20240102000000_email/down.sql:1` |" in md
    # JSON on stdout stays parseable: the annotations go to stderr.
    result = CliRunner().invoke(cli, [*base, "--format", "json"], catch_exceptions=False)
    assert json.loads(result.stdout)["summary"]["failed"] == 1
    assert "::error file=migrations/20240102000000_email/down.sql" in result.stderr
    assert re.search(r"^verify: ok 20240101000000_users \d+\.\d\ds$", result.stderr, flags=re.M)  # progress
    assert (
        md.count("## migration-guard verify") == 1
        and summary.read_text().count("## migration-guard verify") == 2
    )


def _marked(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bk_env_marker (id integer PRIMARY KEY CHECK (id = 1),"
            " env text NOT NULL CHECK (env IN ('dev', 'prod')))"
        )
        conn.execute("INSERT INTO bk_env_marker VALUES (1, 'dev')")
    return url


def test_migrate_prints_each_migration_once_as_it_is_applied(tmp_path: Path, fresh_db: str) -> None:
    url = _marked(fresh_db)
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, text in {
        "1_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        "1_users.down.sql": "DROP TABLE users;\n",
        "2_slow.up.sql": SLOW + SLOW + "ALTER TABLE users ADD COLUMN email text;\n",
        "2_slow.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
    }.items():
        (folder / name).write_text(text)
    env = {"DATABASE_URL": url, "CONFIRM_PROD_MIGRATE": "", "GITHUB_ACTIONS": ""}
    lines = _timed_lines(["migrate", str(folder), "--env", "dev"], tmp_path, env)
    text = [line for _, line in lines]
    assert text[0] == "applying 1_users"
    assert re.fullmatch(r"  applied 1_users in \d+ ms", text[1]), text
    assert text[2] == "applying 2_slow"
    assert re.fullmatch(r"  applied 2_slow in \d+ ms", text[3]) and int(text[3].split()[-2]) >= 1200
    assert re.fullmatch(r"2 applied in \d+\.\ds", text[4]) and len(text) == 5, text
    # "applying 2_slow" reached the pipe before the slow migration finished.
    assert lines[-1][0] - lines[2][0] >= 1.0, lines
    result = CliRunner(env={"DATABASE_URL": url}).invoke(cli, ["rollback", str(folder), "--env", "dev"])
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0] == "rolling back 2_slow" and re.fullmatch(r"  rolled back 2_slow in \d+ ms", out[1])
    assert re.fullmatch(r"1 rolled back in \d+\.\ds", out[2]) and len(out) == 3, out


def _lines_as_they_come(proc: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """Each stdout line of `proc` as the pipe delivers it (None at the end), read on a thread."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _waiting_for_advisory_lock(conn: psycopg.Connection, key: int) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s AND objsubid = 1",
        (key,),
    ).fetchone()
    return bool(row and row[0])


def test_migrate_dry_run_prints_each_migration_as_it_is_tried(tmp_path: Path, fresh_db: str) -> None:
    # The second migration waits for an advisory lock this test holds: the first migration's line
    # must reach the pipe while the second is still waiting, i.e. before it could have finished.
    url = _marked(fresh_db)
    key = 4242015
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, text in {
        "1_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
        "1_users.down.sql": "DROP TABLE users;\n",
        "2_wait.up.sql": f"SELECT pg_advisory_xact_lock({key});\nALTER TABLE users ADD COLUMN email text;\n",
        "2_wait.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
    }.items():
        (folder / name).write_text(text)
    (tmp_path / "migration-guard.toml").write_text('lock_timeout = "10min"\n')  # the wait must not time out
    holder = psycopg.connect(url, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", (key,))
    proc = subprocess.Popen(
        [sys.executable, "-m", "guard", "migrate", str(folder), "--env", "dev", "--dry-run"],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": url, "CONFIRM_PROD_MIGRATE": "", "GITHUB_ACTIONS": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines = _lines_as_they_come(proc)
        first = lines.get(timeout=120)
        assert first is not None and re.fullmatch(r"dry-run ok       1_users  \d+ ms", first), first
        deadline = time.monotonic() + 120  # a hang guard on a loaded machine, not a measurement
        while not _waiting_for_advisory_lock(holder, key):
            assert proc.poll() is None and time.monotonic() < deadline, "the second migration never waited"
            time.sleep(0.05)
        assert lines.empty()  # nothing else was printed while 2_wait waits
        holder.execute("SELECT pg_advisory_unlock(%s)", (key,))
        rest = []
        while (line := lines.get(timeout=120)) is not None:
            rest.append(line)
        assert proc.wait(timeout=120) == 0, rest
    finally:
        holder.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert re.fullmatch(r"dry-run ok       2_wait  \d+ ms", rest[0]), rest
    # The closing report repeats no migration: the count and the total time, nothing more.
    assert re.fullmatch(r"2 dry-run ok in \d+\.\ds", rest[1]) and len(rest) == 2, rest
    with psycopg.connect(url) as conn:  # a dry run: nothing stayed
        assert conn.execute("SELECT to_regclass('users')").fetchone() == (None,)
