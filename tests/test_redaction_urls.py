"""No fragment of a password reaches stdout, stderr, JSON or a table the tool writes, whatever the
connection string looks like (issue 16 #4): unencoded `/`, space, `@`, `#`, `?`, `:` in the password,
key=value strings, query parameters, PG* variables, IPv6 hosts, every database command."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from click.testing import CliRunner
from pg_password import password_role
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from guard.cli import COMMANDS, cli
from guard.db.dsn import check_syntax, secrets_of
from guard.db.redact import redact
from guard.errors import ConfigError

PW = "Zq7xKv9Wp2Lm"
HOST = "127.0.0.1:5432"  # a real address: nothing here waits on DNS


def _fragments(*passwords: str) -> set[str]:
    """Every 4-character piece of the passwords, and of their letters and digits alone."""
    found: set[str] = set()
    for pw in (*passwords, PW):
        for text in (pw, "".join(ch for ch in pw if ch.isalnum())):
            found |= {text[i : i + 4] for i in range(len(text) - 3)}
    return found


#: label -> (DATABASE_URL, the password as its author wrote it, extra environment)
FORMS: dict[str, tuple[str, str, dict[str, str]]] = {
    "slash": (f"postgresql://leaky:Zq7xKv/9Wp2Lm@{HOST}/postgres", "Zq7xKv/9Wp2Lm", {}),
    "leading slash": (f"postgresql://leaky:/{PW}@{HOST}/postgres", "/" + PW, {}),
    "trailing slash": (f"postgresql://leaky:{PW}/@{HOST}/postgres", PW + "/", {}),
    "space": (f"postgresql://leaky:Zq7xKv 9Wp2Lm@{HOST}/postgres", "Zq7xKv 9Wp2Lm", {}),
    "slash and space": (f"postgresql://leaky:Zq7x/Kv 9Wp2Lm@{HOST}/postgres", "Zq7x/Kv 9Wp2Lm", {}),
    "at": (f"postgresql://leaky:Zq7xKv@9Wp2Lm@{HOST}/postgres", "Zq7xKv@9Wp2Lm", {}),
    "hash": (f"postgresql://leaky:Zq7xKv#9Wp2Lm@{HOST}/postgres", "Zq7xKv#9Wp2Lm", {}),
    "question mark": (f"postgresql://leaky:Zq7xKv?9Wp2Lm@{HOST}/postgres", "Zq7xKv?9Wp2Lm", {}),
    "question mark and slash": (f"postgresql://leaky:Zq7x?Kv/9Wp2Lm@{HOST}/postgres", "Zq7x?Kv/9Wp2Lm", {}),
    "colon": (f"postgresql://leaky:Zq7xKv:9Wp2Lm@{HOST}/postgres", "Zq7xKv:9Wp2Lm", {}),
    "bad percent": (f"postgresql://leaky:Zq7xKv%zz9Wp2Lm@{HOST}/postgres", "Zq7xKv%zz9Wp2Lm", {}),
    "encoded": (
        f"postgresql://leaky:{quote('Zq7x/Kv 9W@p2#Lm', safe='')}@{HOST}/postgres",
        "Zq7x/Kv 9W@p2#Lm",
        {},
    ),
    "newline": (f"postgresql://leaky:Zq7xKv\n9Wp2Lm@{HOST}/postgres", "Zq7xKv\n9Wp2Lm", {}),
    "tab": (f"postgresql://leaky:Zq7xKv\t9Wp2Lm@{HOST}/postgres", "Zq7xKv\t9Wp2Lm", {}),
    "bad port": ("postgresql://leaky:Zq7x:Kv9Wp2Lm@127.0.0.1:5x/postgres", "Zq7x:Kv9Wp2Lm", {}),
    "key=value": (f"host=127.0.0.1 user=leaky password={PW} dbname=postgres", PW, {}),
    "key=value quoted space": (
        "host=127.0.0.1 user=leaky password='Zq7xKv 9Wp2Lm' dbname=postgres",
        "Zq7xKv 9Wp2Lm",
        {},
    ),
    "key=value unterminated": (
        "host=127.0.0.1 user=leaky password='Zq7xKv 9Wp2Lm dbname=postgres",
        "Zq7xKv 9Wp2Lm",
        {},
    ),
    "key=value missing =": (f"host=127.0.0.1 user=leaky password {PW} dbname=postgres", PW, {}),
    "query password": (f"postgresql://{HOST}/postgres?user=leaky&password={PW}", PW, {}),
    "query password, bad parameter": (
        f"postgresql://{HOST}/postgres?user=leaky&password={PW}&schema=public",
        PW,
        {},
    ),
    "ipv6": (f"postgresql://leaky:{PW}@[::1]:5432/postgres", PW, {}),
    "ipv6 unclosed": ("postgresql://leaky:Zq7x/Kv9Wp2Lm@[::1/postgres", "Zq7x/Kv9Wp2Lm", {}),
    "multi-host": (f"postgresql://leaky:Zq7x/Kv9Wp2Lm@{HOST},127.0.0.1:1/postgres", "Zq7x/Kv9Wp2Lm", {}),
    "jdbc": (f"jdbc:postgresql://leaky:{PW}@{HOST}/postgres", PW, {}),
    "empty url with PG variables": (
        "postgresql://",
        PW,
        {"PGHOST": "127.0.0.1", "PGUSER": "leaky", "PGPASSWORD": PW, "PGDATABASE": "postgres"},
    ),
}


def _commands(folder: Path, url: str) -> dict[str, list[str]]:
    mig = str(folder)
    found = {
        "safety": ["safety"],
        "safety json": ["safety", "--format", "json"],
        "safety prod": ["safety", "--env", "prod"],
        "status": ["status", mig],
        "status json": ["status", mig, "--format", "json"],
        "plan": ["plan", mig],
        "migrate": ["migrate", mig],
        "migrate dry run": ["migrate", mig, "--dry-run"],
        "rollback": ["rollback", mig],
        "exec": ["exec", "--migrations", mig, "--", sys.executable, "-c", "pass"],
        "marker show": ["marker", "show"],
        "marker init": ["marker", "init", "--env", "dev"],
        "doctor": ["doctor"],
        "doctor json": ["doctor", "--format", "json"],
        "verify --shadow-url": ["verify", mig, "--shadow", "url", "--shadow-url", url],
    }
    if "adopt" in COMMANDS:
        found["adopt"] = ["adopt", mig]
    return found


@pytest.fixture
def folder(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> Iterator[Path]:
    clean_env.delenv("PGPASSWORD", raising=False)
    clean_env.delenv("MIGRATION_GUARD_SHADOW_URL", raising=False)
    clean_env.chdir(tmp_path)
    mig = tmp_path / "migrations"
    mig.mkdir()
    (mig / "20240101000000_a.up.sql").write_text("CREATE TABLE a (id int);\n")
    (mig / "20240101000000_a.down.sql").write_text("DROP TABLE a;\n")
    yield mig


@pytest.mark.parametrize("label", list(FORMS))
def test_no_fragment_of_the_password_in_any_command(label: str, folder: Path) -> None:
    url, password, extra = FORMS[label]
    fragments = _fragments(password)
    env = {"DATABASE_URL": url, "CONFIRM_PROD_MIGRATE": "YES", **extra}
    for name, args in _commands(folder, url).items():
        result = CliRunner().invoke(cli, args, env=env)
        everything = result.stdout + result.stderr
        leaked = sorted(f for f in fragments if f in everything)
        assert not leaked, (label, name, leaked, everything)
        assert "Traceback" not in everything, (label, name, everything)
        assert result.exception is None or isinstance(result.exception, SystemExit), (label, name, everything)
        assert result.exit_code == (1 if name.startswith("doctor") else 2), (label, name, everything)


@pytest.mark.parametrize(
    "label",
    [
        "slash",
        "leading slash",
        "slash and space",
        "space",
        "at",
        "bad percent",
        "newline",
        "ipv6 unclosed",
        "jdbc",
    ],
)
def test_malformed_urls_get_our_own_message(label: str) -> None:
    url, password, _ = FORMS[label]
    with pytest.raises(ConfigError) as err:
        check_syntax(url)
    text = str(err.value)
    assert "DATABASE_URL is not a valid connection" in text
    assert "percent-encode special characters in the password" in text
    assert not [f for f in _fragments(password) if f in text]


def test_redact_masks_every_fragment_of_a_misparsed_password() -> None:
    url = f"postgresql://leaky:Zq7xKv/9Wp2Lm@{HOST}/postgres"
    # What libpq says of it: the password's head taken as the port, its tail as part of the database.
    libpq = 'invalid integer value "Zq7xKv" for connection option "port"; database "9Wp2Lm@127.0.0.1"'
    shown = redact(libpq, url)
    assert "Zq7x" not in shown and "9Wp2" not in shown and "***" in shown
    assert "leaky:Zq7xKv/9Wp2Lm" in secrets_of(url) and "Zq7xKv/9Wp2Lm" in secrets_of(url)


# --- a successful connection with a password full of special characters: nothing stored leaks --------

SPECIAL = "Zq7x/Kv 9W@p2#Lm?Rt:Yb%Hn'"


@pytest.fixture
def special_db(pg_server) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """URL (percent-encoded password `SPECIAL`) of a fresh database owned by a password role."""
    with password_role(pg_server, SPECIAL, createdb=True) as (url, role):
        name, _ = pg_server.create_database()
        with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(name), sql.Identifier(role))
            )
        try:
            yield url.replace("/postgres?", f"/{name}?")
        finally:
            pg_server.drop_database(name)


def _every_stored_text(url: str) -> str:
    """Every row of every table in the database, as text (history, audit, marker, the migrations' own)."""
    out: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in tables:
            rows = conn.execute(
                sql.SQL("SELECT t::text FROM {}.{} t").format(sql.Identifier(schema), sql.Identifier(table))
            ).fetchall()
            out += [f"{schema}.{table}: {r[0]}" for r in rows]
    assert any("audit" in line for line in out), out  # the run did write its audit rows
    return "\n".join(out)


@pytest.mark.db
def test_nothing_written_or_printed_holds_the_password(special_db: str, folder: Path) -> None:
    params = conninfo_to_dict(special_db)
    assert params["password"] == SPECIAL
    env = {"DATABASE_URL": special_db}
    # `exec` wraps a stand-in for golang-migrate (the folder's layout): its history table must be here.
    with psycopg.connect(special_db, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)"
        )
    runs = [
        ["marker", "init", "--env", "dev"],
        ["safety"],
        ["migrate", str(folder), "--dry-run"],
        ["migrate", str(folder)],
        ["status", str(folder), "--format", "json"],
        [
            "exec",
            "--migrations",
            str(folder),
            "--",
            sys.executable,
            "-c",
            "pass",
            special_db,
            "--database-url",
            special_db,
            f"--password={SPECIAL}",
            f"PGPASSWORD={SPECIAL}",
            f"host=h password={quote(SPECIAL)}",
        ],
        ["rollback", str(folder)],
        ["marker", "show"],
        ["doctor"],
        ["verify", str(folder), "--shadow", "url", "--shadow-url", special_db],
    ]
    fragments = _fragments(SPECIAL, quote(SPECIAL, safe=""))
    printed = []
    for args in runs:
        result = CliRunner().invoke(cli, args, env=env)
        printed.append(result.stdout + result.stderr)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, printed[-1])
        assert result.exit_code in (0, 1) or args[0] == "verify", (args, printed[-1])
    everything = "\n".join(printed) + _every_stored_text(special_db)
    with psycopg.connect(special_db) as conn:
        row = conn.execute(
            "SELECT target FROM migration_guard.audit WHERE action = 'exec' LIMIT 1"
        ).fetchone()
    assert row is not None and "--password=***" in row[0] and "PGPASSWORD=***" in row[0], row
    assert "--database-url 'postgresql://" in row[0], row  # the command stays readable
    assert "running:" in everything
    leaked = sorted(f for f in fragments if f in everything)
    assert not leaked, (leaked, everything)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["psql", "postgresql://leaky:S3cretPassw0rd@db:5432/app", "-c", "select 1"],
            "psql 'postgresql://leaky:***@db:5432/app' -c 'select 1'",
        ),
        (
            ["dbmate", "--url", "postgres://u:p%2Fw0rd@db/app", "up"],
            "dbmate --url 'postgres://u:***@db/app' up",
        ),
        (
            [
                "hasura",
                "migrate",
                "apply",
                "--database-url",
                "postgresql://u:S3cret/x@db/app",
                "--admin-secret",
                "h4s",
            ],
            "hasura migrate apply --database-url 'postgresql://u:***@db/app' --admin-secret ***",
        ),
        (["pg_dump", "--password=S3cret", "app"], "pg_dump --password=*** app"),
        (["env", "PGPASSWORD=S3cret", "API_TOKEN=abc", "psql"], "env PGPASSWORD=*** API_TOKEN=*** psql"),
        (["psql", "host=db password='S3 cret' dbname=app"], "psql 'host=db password=*** dbname=app'"),
        (["psql", "--no-password", "-d", "app"], "psql --no-password -d app"),
    ],
)
def test_redact_command(argv: list[str], expected: str) -> None:
    from guard.db.redact import redact_command

    assert redact_command(argv) == expected


def test_redact_command_masks_the_known_password_anywhere() -> None:
    from guard.db.redact import redact_command

    url = f"postgresql://leaky:{quote('Zq7x/Kv 9W', safe='')}@db/app"
    shown = redact_command(["tool", "Zq7x/Kv 9W", "--url", url, "x-Kv 9W-y"], url)
    assert not [f for f in _fragments("Zq7x/Kv 9W") if f in shown], shown
