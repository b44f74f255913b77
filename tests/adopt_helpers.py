"""Three migrations (users, email, phone) as each tool lays them out, each tool's history saying the
first two are applied, and the database and CLI helpers of the `adopt` tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import tool_tables as tt
from click.testing import CliRunner

from guard.cli import cli
from guard.config import Settings
from guard.db.marker import init_marker
from guard.model import version_key

USERS = "CREATE TABLE users (id bigint PRIMARY KEY);\n"
EMAIL = "ALTER TABLE users ADD COLUMN email text;\n"
PHONE = "ALTER TABLE users ADD COLUMN phone text;\n"
SQL = [USERS, EMAIL, PHONE]


def _dbmate(sql: str, down: str) -> str:
    return f"-- migrate:up\n{sql}\n-- migrate:down\n{down}"


#: Per tool: the files of three migrations (users, email, phone), keyed by path.
FILES: dict[str, dict[str, str]] = {
    "hasura": {
        "default/1700000000000_users/up.sql": USERS,
        "default/1700000000000_users/down.sql": "DROP TABLE users;\n",
        "default/1700000000001_email/up.sql": EMAIL,
        "default/1700000000001_email/down.sql": "ALTER TABLE users DROP COLUMN email;\n",
        "default/1700000000002_phone/up.sql": PHONE,
        "default/1700000000002_phone/down.sql": "ALTER TABLE users DROP COLUMN phone;\n",
    },
    "prisma": {
        "20240101000000_users/migration.sql": USERS,
        "20240102000000_email/migration.sql": EMAIL,
        "20240103000000_phone/migration.sql": PHONE,
    },
    "dbmate": {
        "20240101000000_users.sql": _dbmate(USERS, "DROP TABLE users;\n"),
        "20240102000000_email.sql": _dbmate(EMAIL, "ALTER TABLE users DROP COLUMN email;\n"),
        "20240103000000_phone.sql": _dbmate(PHONE, "ALTER TABLE users DROP COLUMN phone;\n"),
    },
    "golang-migrate": {
        "0001_users.up.sql": USERS,
        "0001_users.down.sql": "DROP TABLE users;\n",
        "0002_email.up.sql": EMAIL,
        "0002_email.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
        "0003_phone.up.sql": PHONE,
        "0003_phone.down.sql": "ALTER TABLE users DROP COLUMN phone;\n",
    },
    "flyway": {
        "V1__users.sql": USERS,
        "V1_1__email.sql": EMAIL,
        "V2__phone.sql": PHONE,
    },
    "drizzle": {
        "0000_users.sql": USERS,
        "0001_email.sql": EMAIL,
        "0002_phone.sql": PHONE,
        "meta/_journal.json": json.dumps(
            {
                "version": "7",
                "dialect": "postgresql",
                "entries": [
                    {
                        "idx": i,
                        "version": "7",
                        "when": 1700000000000 + i * 1000,
                        "tag": tag,
                        "breakpoints": True,
                    }
                    for i, tag in enumerate(["0000_users", "0001_email", "0002_phone"])
                ],
            }
        ),
    },
}
FILES["hasura-legacy"] = FILES["hasura"]


#: Per tool: write its history saying the first two migrations are applied, as the tool does.
TWO_APPLIED: dict[str, Callable[[str], None]] = {
    "hasura": lambda url: tt.hasura_catalog(url, {"1700000000000": False, "1700000000001": False}),
    "hasura-legacy": lambda url: tt.hasura_legacy(url, {"1700000000000": False, "1700000000001": False}),
    "prisma": lambda url: tt.prisma(
        url,
        [
            ("20240101000000_users", USERS.encode(), True, False),
            ("20240102000000_email", EMAIL.encode(), True, False),
        ],
    ),
    "dbmate": lambda url: tt.dbmate(url, ["20240101000000", "20240102000000"]),
    "golang-migrate": lambda url: tt.golang_migrate(url, 2),
    "flyway": lambda url: tt.flyway(
        url, [("1", "SQL", "V1__users.sql", True), ("1.1", "SQL", "V1_1__email.sql", True)]
    ),
    "drizzle": lambda url: tt.drizzle(
        url, [(USERS.encode(), 1700000000000), (EMAIL.encode(), 1700000001000)]
    ),
}


def marked(url: str, env: str = "dev") -> str:
    """Give the database its environment marker, as `marker init` creates it."""
    with psycopg.connect(url, autocommit=True) as conn:
        init_marker(conn, Settings(), env, prod_unlocked=True)
    return url


def write(folder: Path, files: dict[str, str]) -> Path:
    """Write the files under `folder`."""
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def invoke(
    args: list[str], url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[int, str, str]:
    """Run the CLI with DATABASE_URL set and no environment hints (dev)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    for var in ("CONFIRM_PROD_MIGRATE", "NODE_ENV", "VERCEL_ENV"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def history(url: str) -> list[tuple[str, str, str]]:
    """(key, applied_via, checksum) of our history rows in version order (the key is the version,
    or a Prisma folder name)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT version, applied_via, checksum FROM migration_guard.history").fetchall()
    return sorted(rows, key=lambda r: version_key(r[0]))


def audit(url: str) -> list[tuple[str, str]]:
    """(action, outcome) of every audit row."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT action, outcome FROM migration_guard.audit ORDER BY id").fetchall()


def has_schema(url: str) -> bool:
    """True when our history schema exists."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT to_regnamespace('migration_guard') IS NOT NULL").fetchone()
    return bool(row and row[0])
