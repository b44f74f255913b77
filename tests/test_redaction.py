"""The password never reaches stdout or stderr, whatever fails (real servers, password auth included)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from pg_password import password_role

from guard.cli import cli
from guard.db.connect import connect, describe_target, redact
from guard.errors import DatabaseError

SECRET = "Sup3r-S3cret_pw"


@pytest.mark.parametrize(
    ("text", "url", "expected"),
    [
        ("postgresql://deploy:hunter22@db:5432/app", None, "postgresql://deploy:***@db:5432/app"),
        ("postgres://u:p%40ss@h/d failed", None, "postgres://u:***@h/d failed"),
        ("host=db password=hunter22 dbname=app", None, "host=db password=*** dbname=app"),
        ("host=db password='hunter 22' dbname=app", None, "host=db password=*** dbname=app"),
        ("PGPASSWORD=hunter22 psql", None, "PGPASSWORD=*** psql"),
        (
            "postgresql://h/d?user=u&password=hunter22&sslmode=require",
            None,
            "postgresql://h/d?user=u&password=***&sslmode=require",
        ),
        # With the URL known, its password is masked even when quoted alone, raw or percent-encoded.
        (
            "role says p@ss:word and p%40ss%3Aword",
            "postgresql://u:p%40ss%3Aword@h/d",
            "role says *** and ***",
        ),
        # The whole URL becomes the target description.
        (
            "connecting to postgresql://u:pw12@db:6432/app now",
            "postgresql://u:pw12@db:6432/app",
            "connecting to host=db port=6432 dbname=app user=u now",
        ),
        ("nothing secret here", None, "nothing secret here"),
        ("", "postgresql://u:pw@h/d", ""),
    ],
)
def test_redact(text: str, url: str | None, expected: str) -> None:
    assert redact(text, url) == expected


def test_describe_target_never_shows_password() -> None:
    assert describe_target(f"postgresql://deploy:{SECRET}@db.example.com/app") == (
        "host=db.example.com port=(default) dbname=app user=deploy"
    )
    assert describe_target(f"host=db port=6432 dbname=app user=deploy password={SECRET}") == (
        "host=db port=6432 dbname=app user=deploy"
    )
    assert SECRET not in describe_target(f"garbage {SECRET}")


@pytest.fixture(scope="session")
def password_server(pg_server) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(url with the right password, role): a role whose password is `SECRET`."""
    with password_role(pg_server, SECRET) as found:
        yield found


@pytest.mark.db
def test_right_password_connects(password_server: tuple[str, str]) -> None:
    url, role = password_server
    with connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)


@pytest.mark.db
def test_bad_password_library_error_is_redacted(password_server: tuple[str, str]) -> None:
    url, _ = password_server
    bad = url.replace(SECRET, "Wr0ng-" + SECRET)
    with pytest.raises(DatabaseError) as err:
        connect(bad)
    assert "authentication failed" in err.value.message
    assert SECRET not in str(err.value) and "Wr0ng" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__  # psycopg's error is not chained


def _marked(url: str, env: str) -> None:
    from guard.config import Settings
    from guard.db.marker import init_marker

    with connect(url) as conn:
        init_marker(conn, Settings(), env, prod_unlocked=True)


@pytest.mark.db
def test_password_never_printed(
    password_server: tuple[str, str],
    pg_server,
    tmp_path: Path,
    clean_env: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    url, role = password_server
    clean_env.chdir(tmp_path)
    name, admin_db = pg_server.create_database()
    try:
        with psycopg.connect(admin_db, autocommit=True) as admin:
            admin.execute(f'GRANT ALL ON SCHEMA public TO "{role}"')
        good = url.replace("/postgres?", f"/{name}?")
        _marked(good, "dev")
        cases = {
            "bad password": (
                ["safety"],
                {"DATABASE_URL": url.replace(SECRET, SECRET + "x")},
                "authentication failed",
            ),
            "unreachable host": (
                ["safety"],
                {"DATABASE_URL": f"postgresql://{role}:{SECRET}@127.0.0.1:1/app"},
                "unreachable",
            ),
            "unknown host": (
                ["safety"],
                {"DATABASE_URL": f"postgresql://{role}:{SECRET}@nonexistent.invalid/app"},
                "does not resolve",
            ),
            "missing database": (
                ["safety"],
                {"DATABASE_URL": url.replace("/postgres?", "/no_such_db?")},
                "does not exist",
            ),
            "marker mismatch": (
                ["safety", "--env", "prod"],
                {"DATABASE_URL": good, "CONFIRM_PROD_MIGRATE": "YES"},
                "mismatch",
            ),
            "hard lock": (["safety", "--env", "prod"], {"DATABASE_URL": good}, "hard lock is closed"),
            "bad url": (
                ["safety"],
                {"DATABASE_URL": f"postgresql://{role}:{SECRET}@h/d?schema=x"},
                "invalid",
            ),
            "via flag": (
                ["safety", "--database-url", url.replace(SECRET, SECRET + "x")],
                {},
                "authentication failed",
            ),
            "marker show": (
                ["marker", "show"],
                {"DATABASE_URL": url.replace("/postgres?", "/no_such_db?")},
                "does not exist",
            ),
            "doctor": (
                ["doctor"],
                {"DATABASE_URL": url.replace(SECRET, SECRET + "x")},
                "authentication failed",
            ),
            "accepted": (["safety"], {"DATABASE_URL": good}, "as expected"),
        }
        for label, (args, env, expected) in cases.items():
            result = CliRunner().invoke(cli, args, env=env)
            everything = result.stdout + result.stderr
            assert expected in everything, (label, everything)
            assert SECRET not in everything, label
            assert "Traceback" not in everything, label
            assert result.exit_code == (0 if label == "accepted" else 1 if label == "doctor" else 2), (
                label,
                everything,
            )
    finally:
        pg_server.drop_database(name)


@pytest.mark.db
def test_connect_timeout_is_redacted() -> None:
    """A server that accepts TCP but never answers: the connect timeout fires, and says so."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    try:
        start = time.monotonic()
        with pytest.raises(DatabaseError) as err:
            connect(f"postgresql://u:{SECRET}@127.0.0.1:{port}/app?sslmode=disable", connect_timeout=2)
        assert time.monotonic() - start < 10
    finally:
        sock.close()
    assert "timed out" in err.value.message
    assert SECRET not in str(err.value)
