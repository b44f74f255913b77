"""`migration-guard verify` end to end on real Postgres: round trips, data, schema file, --since, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from conftest import SAMPLES

from guard.cli import cli
from guard.db.shadow import DATABASE_PREFIX

pytestmark = pytest.mark.db

USERS = ("CREATE TABLE users (id int PRIMARY KEY, name text);", "DROP TABLE users;")


def write(root: Path, migrations: list[tuple[str, str, str | None]]) -> Path:
    """Hasura layout: root/<version>_<name>/up.sql and down.sql (down omitted when None)."""
    folder = root / "migrations"
    for i, (name, up, down) in enumerate(migrations, start=1):
        d = folder / f"2024010{i}000000_{name}"
        d.mkdir(parents=True)
        (d / "up.sql").write_text(up + "\n")
        if down is not None:
            (d / "down.sql").write_text(down + "\n")
    return folder


def run(*args: str | Path, url: str) -> Result:
    argv = ["verify", *map(str, args), "--layout", "hasura", "--shadow", "url", "--shadow-url", url]
    return CliRunner().invoke(cli, argv, catch_exceptions=False)


def run_json(*args: str | Path, url: str) -> tuple[int, dict]:
    result = run(*args, "--format", "json", url=url)
    return result.exit_code, json.loads(result.stdout)


def messages(doc: dict, rule: str | None = None) -> list[str]:
    return [f["message"] for f in doc["findings"] if rule is None or f["rule"] == rule]


def leftover_databases(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (DATABASE_PREFIX + "%",)
        ).fetchall()
    return [r[0] for r in rows]


def test_clean_migrations_round_trip(tmp_path: Path, pg_server) -> None:
    folder = write(
        tmp_path,
        [
            ("users", *USERS),
            (
                "email",
                "ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
                "DROP INDEX CONCURRENTLY users_email_idx;\nALTER TABLE users DROP COLUMN email;",
            ),
            (
                "mood",
                "CREATE TYPE mood AS ENUM ('ok', 'sad');\nALTER TABLE users ADD COLUMN mood mood;",
                "ALTER TABLE users DROP COLUMN mood;\nDROP TYPE mood;",
            ),
        ],
    )
    code, doc = run_json(folder, url=pg_server.admin_url)
    assert code == 0, doc
    assert [m["status"] for m in doc["migrations"]] == ["ok", "ok", "ok"]
    assert doc["findings"] == []
    assert doc["summary"]["verified"] == 3
    assert set(doc["timings"]) >= {"server_start", "migrations", "snapshots", "total"}
    assert leftover_databases(pg_server.admin_url) == []


def test_down_that_leaves_a_column_behind(tmp_path: Path, pg_server) -> None:
    folder = write(
        tmp_path,
        [("users", *USERS), ("email", "ALTER TABLE users ADD COLUMN email text;", "SELECT 1;")],
    )
    code, doc = run_json(folder, url=pg_server.admin_url)
    assert code == 1
    assert messages(doc, "down-does-not-restore") == [
        "down of 20240102000000_email leaves column users.email behind"
    ]
    (reup,) = messages(doc, "reapply-up-fails")
    assert 'column "email" of relation "users" already exists' in reup
    finding = next(f for f in doc["findings"] if f["rule"] == "down-does-not-restore")
    assert finding["file"].endswith("20240102000000_email/down.sql")
    assert finding["migration"] == "20240102000000_email"


def test_down_that_drops_too_much_and_changes_a_type(tmp_path: Path, pg_server) -> None:
    folder = write(
        tmp_path,
        [
            ("users", *USERS),
            (
                "widen",
                "CREATE INDEX users_name_idx ON users (name);\nALTER TABLE users ALTER COLUMN name TYPE varchar(50);",
                "DROP INDEX users_name_idx;\nALTER TABLE users DROP COLUMN name;\nALTER TABLE users ADD COLUMN name varchar(50);",
            ),
        ],
    )
    code, doc = run_json(folder, url=pg_server.admin_url)
    assert code == 1
    assert messages(doc, "down-does-not-restore") == [
        "down of 20240102000000_widen leaves column users.name changed: "
        "type was text, is now character varying(50)"
    ]


def test_after_a_failed_round_trip_later_migrations_are_still_verified(tmp_path: Path, pg_server) -> None:
    folder = write(
        tmp_path,
        [
            ("users", *USERS),
            ("broken", "CREATE TABLE a (x int);", "SELECT 1;"),
            ("fine", "CREATE TABLE b (x int REFERENCES users (id));", "DROP TABLE b;"),
            ("broken_again", "CREATE TABLE c (x int);", "DROP TABLE a;"),
        ],
    )
    code, doc = run_json(folder, url=pg_server.admin_url)
    assert code == 1
    assert [m["status"] for m in doc["migrations"]] == ["ok", "failed", "ok", "failed"]
    assert "down of 20240104000000_broken_again leaves table c behind" in messages(doc)
    assert "down of 20240104000000_broken_again does not restore table a (it existed before up)" in messages(
        doc
    )


def test_up_that_fails_stops_and_says_where(tmp_path: Path, pg_server) -> None:
    folder = write(
        tmp_path,
        [
            ("users", *USERS),
            (
                "typo",
                "ALTER TABLE users ADD COLUMN email text;\nALTER TABLE userz ADD COLUMN x int;",
                "SELECT 1;",
            ),
            ("later", "CREATE TABLE later (x int);", "DROP TABLE later;"),
        ],
    )
    code, doc = run_json(folder, url=pg_server.admin_url)
    assert code == 1
    assert messages(doc, "up-fails") == [
        'up of 20240102000000_typo fails: line 2: relation "userz" does not exist'
    ]
    assert [m["status"] for m in doc["migrations"]] == ["ok", "failed", "not-reached"]


def test_missing_down_is_reported(tmp_path: Path, pg_server) -> None:
    folder = write(tmp_path, [("users", "CREATE TABLE users (id int);", None)])
    code, doc = run_json(folder, url=pg_server.admin_url)
    assert code == 1
    assert [f["rule"] for f in doc["findings"]] == ["down-missing"]


@pytest.mark.parametrize("down", [None, "SELECT 1;"])
def test_declared_irreversible_is_not_round_tripped(tmp_path: Path, pg_server, down: str | None) -> None:
    folder = write(
        tmp_path,
        [
            ("mood", "CREATE TYPE mood AS ENUM ('sad', 'happy');", "DROP TYPE mood;"),
            (
                "curious",
                "-- guard: irreversible reason: Postgres cannot drop an enum value\n"
                "ALTER TYPE mood ADD VALUE 'curious';",
                down,
            ),
            ("later", "CREATE TABLE later (m mood DEFAULT 'curious');", "DROP TABLE later;"),
        ],
    )
    code, doc = run_json(folder, url=pg_server.admin_url)
    assert code == 0, doc["findings"]
    assert doc["findings"] == []
    assert [m["status"] for m in doc["migrations"]] == ["ok", "ok", "ok"]
    assert (
        "20240102000000_curious: declared irreversible (Postgres cannot drop an enum value); "
        "up applied without a round trip"
    ) in doc["notices"]
    # without the directive the same migration fails verification
    up = folder / "20240102000000_curious" / "up.sql"
    up.write_text("ALTER TYPE mood ADD VALUE 'curious';\n")
    code, doc = run_json(folder, url=pg_server.admin_url)
    assert code == 1 and doc["findings"]


def test_no_transaction_directive_is_honoured(tmp_path: Path, pg_server) -> None:
    # VACUUM cannot run in a transaction block: this only passes when run statement by statement.
    folder = write(
        tmp_path,
        [
            ("users", *USERS),
            (
                "vacuum",
                "-- guard: no-transaction\nALTER TABLE users ADD COLUMN a int;\nVACUUM users;",
                "ALTER TABLE users DROP COLUMN a;",
            ),
        ],
    )
    code, doc = run_json(folder, url=pg_server.admin_url)
    assert code == 0, doc


def test_data_lost_by_a_down_is_reported(tmp_path: Path, pg_server) -> None:
    folder = write(
        tmp_path,
        [
            ("users", *USERS),
            (
                "rename",
                "ALTER TABLE users RENAME COLUMN name TO full_name;",
                "ALTER TABLE users DROP COLUMN full_name;\nALTER TABLE users ADD COLUMN name text;",
            ),
            (
                "purge",
                "CREATE TABLE archive (id int);",
                "DROP TABLE archive;\nDELETE FROM users WHERE id > 1;",
            ),
        ],
    )
    data = tmp_path / "seed.sql"
    data.write_text("INSERT INTO users VALUES (1, 'ada'), (2, 'bob'), (3, NULL);\n")
    code, doc = run_json(folder, "--data", data, "--data-after", "20240101000000", url=pg_server.admin_url)
    assert code == 1
    assert messages(doc, "down-loses-data") == [
        "up then down of 20240102000000_rename loses data in table users: "
        "values of column name differ (3 rows before and after)",
        "up then down of 20240103000000_purge loses data in table users: 3 rows before, 1 after; "
        "values of columns id, full_name differ",
    ]
    # Without data the same migrations only show what the schema says: both round-trip.
    code, doc = run_json(folder, url=pg_server.admin_url)
    assert code == 0


def test_data_file_that_cannot_load_is_exit_2(tmp_path: Path, pg_server) -> None:
    folder = write(tmp_path, [("users", *USERS)])
    data = tmp_path / "seed.sql"
    data.write_text("INSERT INTO users VALUES (1, 'ada');\n")
    result = run(folder, "--data", data, url=pg_server.admin_url)  # loads before users exists
    assert result.exit_code == 2
    assert 'relation "users" does not exist' in result.stderr
    assert "--data-after" in result.stderr
    assert leftover_databases(pg_server.admin_url) == []


def test_schema_file_round_trip_and_drift(tmp_path: Path, pg_server) -> None:
    folder = write(
        tmp_path,
        [("orders", "CREATE TABLE orders (id int PRIMARY KEY, total int NOT NULL);", "DROP TABLE orders;")],
    )
    schema = tmp_path / "schema.json"
    code, _ = run_json(folder, "--write-schema", schema, url=pg_server.admin_url)
    assert code == 0
    assert '"column public.orders.total"' in schema.read_text()
    code, doc = run_json(folder, "--schema", schema, url=pg_server.admin_url)
    assert code == 0 and doc["summary"]["schema_checked"] is True

    document = json.loads(schema.read_text())
    document["objects"]["column public.orders.note"] = {"type": "text", "nullable": True, "position": 3}
    document["parents"]["column public.orders.note"] = "table public.orders"
    document["objects"]["column public.orders.total"]["type"] = "bigint"
    schema.write_text(json.dumps(document))
    code, doc = run_json(folder, "--schema", schema, url=pg_server.admin_url)
    assert code == 1
    assert messages(doc, "schema-drift") == [
        "schema file has column orders.note, the migrations do not create it",
        "column orders.total differs: type: schema file has bigint, the migrations give integer",
    ]


def test_schema_file_as_sql(tmp_path: Path, pg_server) -> None:
    folder = write(
        tmp_path,
        [("orders", "CREATE TABLE orders (id int PRIMARY KEY, total int NOT NULL);", "DROP TABLE orders;")],
    )
    schema = tmp_path / "schema.sql"
    schema.write_text(
        "SET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n"
        "CREATE TABLE public.orders (id integer NOT NULL, total integer NOT NULL, note text);\n"
        "ALTER TABLE public.orders OWNER TO role_that_does_not_exist;\n"
        "\\restrict abc123\n"
        "ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);\n"
        "GRANT SELECT ON public.orders TO role_that_does_not_exist;\n"
    )
    code, doc = run_json(folder, "--schema", schema, url=pg_server.admin_url)
    assert code == 1
    assert messages(doc) == ["schema file has column orders.note, the migrations do not create it"]
    assert leftover_databases(pg_server.admin_url) == []


def test_since_verifies_only_new_migrations(tmp_path: Path, pg_server) -> None:
    folder = write(
        tmp_path,
        [("users", *USERS), ("old_but_broken", "CREATE TABLE a (x int);", "SELECT 1;")],
    )

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-qm", "base")
    new = folder / "20240103000000_new"
    new.mkdir()
    (new / "up.sql").write_text("ALTER TABLE users ADD COLUMN email text;\n")
    (new / "down.sql").write_text("ALTER TABLE users DROP COLUMN email;\n")
    git("add", ".")
    git("commit", "-qm", "new migration")
    code, doc = run_json(folder, "--since", "HEAD~1", url=pg_server.admin_url)
    assert code == 0, doc  # the old broken one is applied, not verified
    assert [m["status"] for m in doc["migrations"]] == ["applied", "applied", "ok"]


def test_no_server_is_exit_2(tmp_path: Path) -> None:
    folder = write(tmp_path, [("users", *USERS)])
    result = CliRunner().invoke(
        cli,
        ["verify", str(folder), "--shadow", "url", "--shadow-url", "postgresql://u:pw123@127.0.0.1:1/x"],
    )
    assert result.exit_code == 2
    assert "cannot connect" in result.stderr
    assert "pw123" not in result.stderr + result.stdout


def test_text_output_names_the_problem(tmp_path: Path, pg_server) -> None:
    folder = write(
        tmp_path, [("users", *USERS), ("email", "ALTER TABLE users ADD COLUMN email text;", "SELECT 1;")]
    )
    result = run(folder, url=pg_server.admin_url)
    assert result.exit_code == 1
    assert "FAILED   20240102000000_email" in result.stdout
    assert "leaves column users.email behind" in result.stdout
    assert "fix: drop column users.email in the down migration" in result.stdout
    assert "2 verified: 1 round-trip, 1 failed (failed)" in result.stdout


def test_embedded_provider_end_to_end(tmp_path: Path) -> None:
    folder = write(tmp_path, [("users", *USERS)])
    result = CliRunner().invoke(
        cli, ["verify", str(folder), "--layout", "hasura", "--shadow", "embedded", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["server"].startswith("embedded Postgres")
    assert doc["timings"]["server_start"] > 0


# --- the sample project (sample_migrations/unsafe is verified against its markers in test_samples.py) ---


def test_sample_app_round_trips(pg_server) -> None:
    code, doc = run_json(SAMPLES / "app", url=pg_server.admin_url)
    assert code == 0, messages(doc)
    assert doc["summary"]["ok"] == len(doc["migrations"]) > 5
