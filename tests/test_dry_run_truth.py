"""Dry runs that tell the truth and never write (issue 16 #9, issue 12 #3): locks predicted before
running on production without the hard lock (fail closed), no history schema created, and per
migration the locks it needs even when an earlier pending migration holds them already, with
rows, size and statement time."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from runner_helpers import mig, runner_ctx, scalar

from guard.cli import cli
from guard.db.lockpredict import statement_locks, strongest
from guard.db.runner import migrate
from guard.errors import SafetyError
from guard.lint.locks import ACCESS_EXCLUSIVE, ORDER
from guard.parsing import split_statements

pytestmark = pytest.mark.db

USERS = mig("1", "CREATE TABLE users (id int PRIMARY KEY, name text)", "DROP TABLE users")


def test_prod_dry_run_without_lock_refuses_create_policy_before_taking_any_lock(fresh_db: str) -> None:
    """Today's slip: CREATE POLICY held ACCESS EXCLUSIVE before the pg_locks check refused it."""
    policy = mig("2", "CREATE POLICY p ON users USING (true);\nSELECT pg_sleep(3);")
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [USERS])
        # A reader holds ACCESS SHARE on users: a dry run that tried the lock would wait, then
        # time out; a refusal before running never touches it.
        with psycopg.connect(fresh_db, autocommit=True) as reader:
            reader.execute("BEGIN")
            reader.execute("SELECT * FROM users")
            with pytest.raises(
                SafetyError, match=r"2_m2 line 1: `CREATE POLICY p ON users.*ACCESS EXCLUSIVE lock on users"
            ):
                migrate(ctx, [USERS, policy], dry=True, refuse_access_exclusive=True)
            reader.execute("ROLLBACK")
        # On a table the same dry run creates, the lock blocks nobody: allowed.
        fresh = mig("2", "CREATE TABLE z (id int);\nCREATE POLICY p ON z USING (true);")
        assert (
            migrate(ctx, [USERS, fresh], dry=True, refuse_access_exclusive=True).outcomes[0].status
            == "dry-run ok"
        )


@pytest.mark.parametrize(
    "sql",
    [
        "DO $$ BEGIN EXECUTE 'LOCK users'; END $$",
        "CALL anything()",
        "DROP TABLE IF EXISTS users CASCADE",
        "ALTER EXTENSION pgcrypto UPDATE",
    ],
)
def test_prod_dry_run_without_lock_refuses_what_it_cannot_predict(fresh_db: str, sql: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [USERS])
        with pytest.raises(SafetyError, match="dry run refused"):
            migrate(ctx, [USERS, mig("2", sql)], dry=True, refuse_access_exclusive=True)


def test_dry_run_does_not_create_the_history_schema(fresh_db: str) -> None:
    with runner_ctx(fresh_db) as ctx:
        report = migrate(ctx, [USERS], dry=True)
    assert report.outcomes[0].status == "dry-run ok"
    assert scalar(fresh_db, "SELECT to_regnamespace('migration_guard')") is None
    assert scalar(fresh_db, "SELECT to_regclass('users')") is None


# Statements with an existing `users` (and `o`, `v`) to check the prediction against pg_locks.
_PREDICTED = [
    "SELECT * FROM users",
    "SELECT * FROM users FOR UPDATE",
    "INSERT INTO users VALUES (1, 'a')",
    "UPDATE users SET name = 'b'",
    "DELETE FROM users WHERE id = 1",
    "WITH d AS (DELETE FROM users RETURNING id) SELECT count(*) FROM d",
    "COMMENT ON TABLE users IS 'x'",
    "GRANT SELECT ON users TO PUBLIC",
    "CREATE INDEX users_name_idx ON users (name)",
    "CREATE TABLE x (id int REFERENCES users (id))",
    "CREATE TABLE y AS SELECT * FROM users",
    "CREATE VIEW v2 AS SELECT * FROM users",
    "CREATE OR REPLACE VIEW v AS SELECT * FROM users",
    "CREATE TRIGGER tr BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION f()",
    "CREATE STATISTICS st ON id, name FROM users",
    "CREATE POLICY p ON users USING (true)",
    "CREATE RULE r AS ON INSERT TO o DO NOTHING",
    "ALTER TABLE users ADD COLUMN note text",
    "ALTER TABLE o VALIDATE CONSTRAINT o_positive",
    "ALTER TABLE users ALTER COLUMN name SET STATISTICS 100",
    "ALTER TABLE o ADD CONSTRAINT o_fk FOREIGN KEY (id) REFERENCES users (id) NOT VALID",
    "LOCK TABLE users IN SHARE MODE",
    "TRUNCATE o",
    "DROP VIEW v",
    "DROP TABLE o",
    "DROP INDEX o_id_idx",
    "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE TYPE mood AS ENUM ('a')",
    "CREATE SCHEMA s",
]


@pytest.mark.parametrize("sql", _PREDICTED)
def test_prediction_is_never_weaker_than_what_postgres_takes(fresh_db: str, sql: str) -> None:
    """Fail closed: the predicted strongest lock is at least the strongest observed on an existing relation."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE users (id int PRIMARY KEY, name text); CREATE TABLE o (id int);"
            " CREATE VIEW v AS SELECT * FROM users; CREATE INDEX o_id_idx ON o (id);"
            " ALTER TABLE o ADD CONSTRAINT o_positive CHECK (id > 0) NOT VALID;"
            " CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$"
        )
        existing = {r[0] for r in conn.execute("SELECT oid::bigint FROM pg_class").fetchall()}
        [stmt] = split_statements(sql)[0]
        predicted = statement_locks(stmt)
        assert predicted is not None, sql
        conn.execute("BEGIN")
        conn.execute(sql)  # type: ignore[arg-type]
        rows = conn.execute(
            "SELECT l.relation::bigint, l.mode FROM pg_locks l WHERE l.pid = pg_backend_pid()"
            " AND l.locktype = 'relation' AND l.relation IN (SELECT oid FROM pg_class WHERE relnamespace ="
            " 'public'::regnamespace)"
        ).fetchall()
        conn.execute("ROLLBACK")
    from guard.db.locks import mode_name

    observed = [mode_name(mode) for oid, mode in rows if oid in existing]
    strongest_observed = max(observed, key=ORDER.index, default=None)
    guess = strongest(predicted)
    if strongest_observed is not None:
        assert guess is not None and ORDER.index(guess) >= ORDER.index(strongest_observed), (sql, observed)
    if ACCESS_EXCLUSIVE in observed:
        names = {name for mode, name in predicted if mode == ACCESS_EXCLUSIVE}
        assert (names and None not in names) or names == {None}, sql


def test_each_migration_reports_the_locks_it_needs_even_when_already_held(fresh_db: str) -> None:
    add = mig("2", "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT ''")
    set_not_null = mig(
        "3",
        "UPDATE users SET name = '' WHERE name IS NULL;\nALTER TABLE users ALTER COLUMN name SET NOT NULL",
    )
    with runner_ctx(fresh_db) as ctx:
        migrate(ctx, [USERS])
        ctx.conn.execute("INSERT INTO users SELECT g, 'n' FROM generate_series(1, 5000) g")
        ctx.conn.execute("ANALYZE users")
        report = migrate(ctx, [USERS, add, set_not_null], dry=True)
        alone = migrate(ctx, [USERS, set_not_null], dry=True)
    first, second = report.outcomes
    assert [(u.mode, u.relation, u.already_held) for u in first.locks] == [
        ("ACCESS EXCLUSIVE", "public.users", False)
    ]
    # pg_locks shows nothing new for 3 (2 holds ACCESS EXCLUSIVE already); it needs it all the same.
    assert [(u.mode, u.relation) for u in second.locks] == [("ACCESS EXCLUSIVE", "public.users")]
    assert second.locks[0].already_held and second.locks[0].line == 2
    assert [(u.mode, u.relation) for u in alone.outcomes[0].locks] == [("ACCESS EXCLUSIVE", "public.users")]
    use = first.locks[0]
    assert use.rows == 5000 and use.size_bytes is not None and use.size_bytes > 100_000
    assert use.statement_ms > 0 and use.line == 1
    assert scalar(fresh_db, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'plan'") == 0


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _cli(args: list[str], url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lock: bool = False):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    for var in ("CONFIRM_PROD_MIGRATE", "NODE_ENV", "VERCEL_ENV"):
        monkeypatch.delenv(var, raising=False)
    if lock:
        monkeypatch.setenv("CONFIRM_PROD_MIGRATE", "YES")
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_dry_run_measures_what_lint_flags_on_dev_and_refuses_on_prod(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bk_env_marker (id integer PRIMARY KEY CHECK (id = 1),"
            " env text NOT NULL CHECK (env IN ('dev', 'prod')))"
        )
        conn.execute("INSERT INTO bk_env_marker VALUES (1, %s)", (env,))
        conn.execute("CREATE TABLE users (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO users SELECT g, 'n' FROM generate_series(1, 1000) g; ANALYZE users")
    folder = _folder(
        tmp_path,
        {
            "1_idx.up.sql": "CREATE INDEX users_name_idx ON users (name);\n",
            "1_idx.down.sql": "DROP INDEX users_name_idx;\n",
        },
    )
    args = [
        "migrate",
        str(folder),
        "--layout",
        "golang-migrate",
        "--env",
        env,
        "--dry-run",
        "--format",
        "json",
    ]
    result = _cli(args, fresh_db, tmp_path, monkeypatch, lock=env == "prod")
    assert "require-concurrent-index" in result.stderr
    if env == "prod":
        assert result.exit_code == 1 and "nothing was applied" in result.stderr
        return
    assert result.exit_code == 0, result.output
    assert "going on" in result.stderr
    [outcome] = json.loads(result.stdout)["outcomes"]
    [lock] = outcome["locks"]
    assert {k: lock[k] for k in ("mode", "relation", "line", "already_held", "rows")} == {
        "mode": "SHARE",
        "relation": "public.users",
        "line": 1,
        "already_held": False,
        "rows": 1000,
    }
    assert lock["size_bytes"] > 0 and lock["statement_ms"] >= 0
    text = _cli(args[:-2], fresh_db, tmp_path, monkeypatch)
    assert "lock SHARE on public.users (~1,000 rows," in text.stdout and "by line 1" in text.stdout
    assert scalar(fresh_db, "SELECT to_regclass('users_name_idx')") is None
