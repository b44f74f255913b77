"""The environment marker on a real Postgres: table shape, reading, fail-closed verification, init."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from guard.config import Settings
from guard.db.connect import connect
from guard.db.marker import init_marker, read_marker, verify_marker
from guard.errors import SafetyError

pytestmark = pytest.mark.db

SETTINGS = Settings()
TARGET = "host=h port=5432 dbname=d user=u"


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    with connect(fresh_db) as c:
        yield c


def _make_table(conn: psycopg.Connection, rows: list[tuple[object, object]]) -> None:
    """A hand-made marker table without the constraints, to hold what `init` would never write."""
    conn.execute("CREATE TABLE bk_env_marker (id integer, env text)")
    for row in rows:
        conn.execute("INSERT INTO bk_env_marker VALUES (%s, %s)", row)


def test_init_creates_a_self_enforcing_table(any_db: str) -> None:
    with connect(any_db) as conn:
        assert init_marker(conn, SETTINGS, "dev").action == "created"
        assert read_marker(conn, SETTINGS).env == "dev"
        for bad in (
            "INSERT INTO bk_env_marker (id, env) VALUES (2, 'dev')",  # CHECK (id = 1) / PK
            "INSERT INTO bk_env_marker (id, env) VALUES (1, 'dev')",  # primary key
            "UPDATE bk_env_marker SET env = 'staging'",  # CHECK (env IN (...))
            "UPDATE bk_env_marker SET env = NULL",
        ):  # NOT NULL
            with pytest.raises(psycopg.errors.IntegrityError):
                conn.execute(bad)
        assert read_marker(conn, SETTINGS).env == "dev"


def test_init_is_idempotent_and_changes_need_force(conn: psycopg.Connection) -> None:
    init_marker(conn, SETTINGS, "dev")
    again = init_marker(conn, SETTINGS, "dev")
    assert again.action == "unchanged"
    with pytest.raises(SafetyError, match=r"already says 'dev'; refusing to change it to 'prod'") as err:
        init_marker(conn, SETTINGS, "prod", prod_unlocked=True)
    assert "--force" in (err.value.hint or "")
    assert read_marker(conn, SETTINGS).env == "dev"


def test_init_prod_needs_the_hard_lock(conn: psycopg.Connection) -> None:
    with pytest.raises(SafetyError, match="without the production hard lock"):
        init_marker(conn, SETTINGS, "prod")
    # Refused inside the transaction: not even the table was left behind.
    assert read_marker(conn, SETTINGS).problem == "the table does not exist"
    assert init_marker(conn, SETTINGS, "prod", prod_unlocked=True).action == "created"


def test_changing_a_prod_marker_needs_force_and_the_hard_lock(conn: psycopg.Connection) -> None:
    init_marker(conn, SETTINGS, "prod", prod_unlocked=True)
    with pytest.raises(SafetyError, match="without the production hard lock"):
        init_marker(conn, SETTINGS, "dev", allow_change=True)
    assert read_marker(conn, SETTINGS).env == "prod"
    changed = init_marker(conn, SETTINGS, "dev", allow_change=True, prod_unlocked=True)
    assert (changed.action, changed.previous) == ("changed", "prod")
    assert read_marker(conn, SETTINGS).env == "dev"


def test_init_refuses_unknown_env(conn: psycopg.Connection) -> None:
    with pytest.raises(SafetyError, match="not one of the configured environments"):
        init_marker(conn, SETTINGS, "staging")


def test_verify_accepts_a_match(any_db: str) -> None:
    with connect(any_db) as conn:
        init_marker(conn, SETTINGS, "dev")
        assert verify_marker(conn, SETTINGS, "dev", "--env flag", TARGET).env == "dev"


NOT_INIT = "the table `migration-guard marker init` creates"


@pytest.mark.parametrize(
    ("setup", "found"),
    [
        (None, "the table does not exist"),
        ("DELETE FROM bk_env_marker", "the table has no row"),
        (
            "ALTER TABLE bk_env_marker DROP CONSTRAINT bk_env_marker_env_check;"
            " UPDATE bk_env_marker SET env = 'staging';"
            " ALTER TABLE bk_env_marker ADD CHECK (env IN ('dev', 'prod', 'staging'))",
            "env is 'staging', not one of the configured environments (dev, prod)",
        ),
        ([(1, "dev"), (1, "prod")], f"env is not NOT NULL as in {NOT_INIT}"),
        ([(7, "dev")], NOT_INIT),
    ],
)
def test_verify_fails_closed(conn: psycopg.Connection, setup: list | str | None, found: str) -> None:
    if isinstance(setup, str):
        init_marker(conn, SETTINGS, "dev")
        conn.execute(setup)  # type: ignore[arg-type]
    elif setup is not None:
        _make_table(conn, setup)
    with pytest.raises(SafetyError) as err:
        verify_marker(conn, SETTINGS, "dev", "NODE_ENV unset (default dev)", TARGET)
    message = err.value.message
    assert found in message
    assert "expected env 'dev' (from NODE_ENV unset (default dev))" in message and TARGET in message
    assert err.value.hint


def test_missing_marker_hint_names_the_init_command(conn: psycopg.Connection) -> None:
    with pytest.raises(SafetyError) as err:
        verify_marker(conn, SETTINGS, "prod", "--env flag", TARGET)
    assert "migration-guard marker init --env prod --allow-prod" in (err.value.hint or "")


def test_verify_mismatch(any_db: str) -> None:
    with connect(any_db) as conn:
        init_marker(conn, SETTINGS, "dev")
        with pytest.raises(
            SafetyError, match=r"mismatch: public.bk_env_marker says 'dev'; expected env 'prod'"
        ):
            verify_marker(conn, SETTINGS, "prod", "VERCEL_ENV=production (process environment)", TARGET)


def test_configured_schema_and_table(conn: psycopg.Connection) -> None:
    conn.execute('CREATE SCHEMA "Ops"')
    settings = replace(SETTINGS, marker_schema="Ops", marker_table="Env Marker")
    init_marker(conn, settings, "dev")
    assert verify_marker(conn, settings, "dev", "x", TARGET).table == "Ops.Env Marker"
    # The default name is still absent: the settings really are used.
    assert read_marker(conn, SETTINGS).problem == "the table does not exist"


def test_permission_error_fails_closed(fresh_db: str) -> None:
    role = "noperm_" + uuid.uuid4().hex[:8]
    with connect(fresh_db) as admin:
        init_marker(admin, SETTINGS, "dev")
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
    params = conninfo_to_dict(fresh_db)
    params["user"] = role
    params.pop("password", None)
    try:
        with (
            connect(make_conninfo(**params)) as conn,
            pytest.raises(SafetyError, match="permission denied") as err,
        ):
            verify_marker(conn, SETTINGS, "dev", "x", TARGET)
        assert "grant SELECT on public.bk_env_marker" in (err.value.hint or "")
    finally:
        with connect(fresh_db) as admin:
            admin.execute(f'DROP ROLE "{role}"')


def test_locked_marker_table_times_out_and_fails_closed(fresh_db: str) -> None:
    with connect(fresh_db) as setup:
        init_marker(setup, SETTINGS, "dev")
    with connect(fresh_db, autocommit=False) as locker, connect(fresh_db) as conn:
        locker.execute("LOCK TABLE bk_env_marker IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(SafetyError, match=r"timed out after lock_timeout=2s"):
            verify_marker(conn, SETTINGS, "dev", "x", TARGET)
        locker.rollback()
        # Once the lock is gone the same connection passes: the refusal left no aborted transaction.
        assert verify_marker(conn, SETTINGS, "dev", "x", TARGET).env == "dev"


@pytest.mark.parametrize(
    ("impostor", "found"),
    [
        ("CREATE VIEW bk_env_marker AS SELECT 1 AS id, 'dev'::text AS env", f"it is a view, not {NOT_INIT}"),
        (
            "CREATE MATERIALIZED VIEW bk_env_marker AS SELECT 1 AS id, 'dev'::text AS env",
            "it is a materialized view",
        ),
        (
            "CREATE TABLE bk_env_marker (id int PRIMARY KEY, env text NOT NULL);"
            " INSERT INTO bk_env_marker VALUES (1, 'dev')",
            "it lacks the CHECK (id = 1) constraint",
        ),
        (
            "CREATE TABLE bk_env_marker (id int PRIMARY KEY CHECK (id = 1), env text NOT NULL);"
            " INSERT INTO bk_env_marker VALUES (1, 'dev')",
            "it lacks the CHECK constraint on env",
        ),
        (
            "CREATE TABLE bk_env_marker (id bigint PRIMARY KEY CHECK (id = 1), env text NOT NULL"
            " CHECK (env IN ('dev', 'prod'))); INSERT INTO bk_env_marker VALUES (1, 'dev')",
            "it lacks the columns id integer and env text",
        ),
        (
            "CREATE TABLE bk_env_marker (id int PRIMARY KEY, env text NOT NULL CHECK (env IN ('dev', 'prod')));"
            " INSERT INTO bk_env_marker VALUES (1, 'dev');"
            " ALTER TABLE bk_env_marker ADD CHECK (id = 1) NOT VALID",
            "it lacks the CHECK (id = 1) constraint",
        ),
        (
            "CREATE TABLE bk_env_marker (id integer PRIMARY KEY CHECK (id = 1),"
            " env text NOT NULL CHECK (env IN ('dev', 'prod')));"
            " CREATE TABLE marker_child () INHERITS (bk_env_marker); INSERT INTO marker_child VALUES (1, 'dev')",
            "other tables inherit from it",
        ),
    ],
)
def test_only_the_table_init_creates_is_a_marker(conn: psycopg.Connection, impostor: str, found: str) -> None:
    conn.execute(impostor)  # type: ignore[arg-type]
    with pytest.raises(SafetyError) as err:
        verify_marker(conn, SETTINGS, "dev", "--env flag", TARGET)
    assert found in err.value.message and "public.bk_env_marker" in err.value.message
    assert "rename or drop public.bk_env_marker" in (err.value.hint or "")
    with pytest.raises(SafetyError, match=r"cannot initialise marker table public\.bk_env_marker"):
        init_marker(conn, SETTINGS, "dev")  # CREATE TABLE IF NOT EXISTS would have skipped it


def test_a_marker_in_another_schema_on_search_path_is_not_the_marker(fresh_db: str) -> None:
    with connect(fresh_db) as conn:
        conn.execute("CREATE SCHEMA shadow")
        shadow = replace(SETTINGS, marker_schema="shadow")
        init_marker(conn, shadow, "dev")
        dbname = conn.info.dbname
        conn.execute(f'ALTER DATABASE "{dbname}" SET search_path = shadow, public')  # type: ignore[arg-type]
    with connect(fresh_db) as conn:
        assert conn.execute("SELECT env FROM bk_env_marker").fetchone() == ("dev",)  # what search_path finds
        with pytest.raises(SafetyError, match="the table does not exist"):
            verify_marker(conn, SETTINGS, "dev", "--env flag", TARGET)
        init_marker(conn, SETTINGS, "prod", prod_unlocked=True)
        assert verify_marker(conn, SETTINGS, "prod", "--env flag", TARGET).env == "prod"
        assert conn.execute("SELECT env FROM bk_env_marker").fetchone() == ("dev",)


def test_demoting_prod_prints_the_banner_and_is_audited(
    fresh_db: str, tmp_path: object, clean_env: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from guard.cli import cli
    from guard.db.history import ensure_tables, read_audit
    from guard.db.marker import MARKER_ACTION

    clean_env.chdir(str(tmp_path))

    def run(*args: str, lock: bool) -> tuple[int, str]:
        env = {"DATABASE_URL": fresh_db, **({"CONFIRM_PROD_MIGRATE": "YES"} if lock else {})}
        result = CliRunner().invoke(cli, ["marker", "init", *args], env=env, catch_exceptions=False)
        return result.exit_code, result.stderr

    assert run("--env", "prod", "--allow-prod", lock=True)[0] == 0
    with connect(fresh_db) as conn:
        assert conn.execute("SELECT to_regnamespace('migration_guard')").fetchone() == (None,)
        ensure_tables(conn, "migration_guard")  # a database the runner has used
    code, err = run("--env", "dev", "--force", lock=False)
    assert code == 2 and "without the production hard lock" in err
    assert "changing a production marker to 'dev'" in err and "production target: host=" in err
    code, err = run("--env", "dev", "--force", lock=True)
    assert code == 0 and "changing a production marker to 'dev'" in err and "production target:" in err
    with connect(fresh_db) as conn:
        assert read_marker(conn, SETTINGS).env == "dev"
        rows = [(e.action, e.target, e.outcome) for e in reversed(read_audit(conn, "migration_guard"))]
    assert rows == [
        (MARKER_ACTION, "prod -> dev", "refused"),
        (MARKER_ACTION, "prod -> dev", "started"),
        (MARKER_ACTION, "prod -> dev", "ok"),
    ]


def test_demoting_prod_is_audited_even_where_no_trail_exists(fresh_db: str) -> None:
    from guard.db.history import read_audit
    from guard.db.marker import init_marker_audited
    from guard.db.session import RunnerContext

    with connect(fresh_db) as conn, connect(fresh_db) as lock_conn:
        init_marker(conn, SETTINGS, "prod", prod_unlocked=True)
        ctx = RunnerContext(conn, lock_conn, SETTINGS, host="h")
        before = read_marker(conn, SETTINGS)
        init_marker_audited(ctx, "dev", before, allow_change=True, prod_unlocked=True)
        entries = [(e.target, e.outcome) for e in reversed(read_audit(conn, "migration_guard"))]
    assert entries == [("prod -> dev", "started"), ("prod -> dev", "ok")]
