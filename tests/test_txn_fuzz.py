"""Fuzz (issue 16, "Done when"): transaction-control spellings, with comments and strings around
them, fed to lint, migrate and dry run on real Postgres. A dry run never leaves a trace, and a
failed migration never leaves part of itself: the catalog, the rows and the history are compared
before and after every run.

Seeded and bounded (`derandomize=True`): `GUARD_FUZZ_EXAMPLES` raises the count for a long run.
"""

from __future__ import annotations

import os

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_helpers import lint_sql
from runner_helpers import mig, runner_ctx

from guard.db.runner import migrate
from guard.errors import GuardError

pytestmark = pytest.mark.db

EXAMPLES = int(os.environ.get("GUARD_FUZZ_EXAMPLES", "30"))
#: Set to count violations without stopping at the first (to measure a build, e.g. main's).
COUNT_ONLY = os.environ.get("GUARD_FUZZ_COUNT_ONLY") == "1"

_CONTROL = [
    "BEGIN",
    "BEGIN WORK",
    "BEGIN TRANSACTION",
    "BEGIN ISOLATION LEVEL SERIALIZABLE",
    "BEGIN READ ONLY",
    "START TRANSACTION",
    "START TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "COMMIT",
    "COMMIT WORK",
    "COMMIT TRANSACTION",
    "COMMIT AND CHAIN",
    "COMMIT AND NO CHAIN",
    "END",
    "END WORK",
    "END TRANSACTION",
    "END AND CHAIN",
    "ROLLBACK",
    "ROLLBACK WORK",
    "ROLLBACK AND CHAIN",
    "ABORT",
    "ABORT TRANSACTION",
    "SAVEPOINT s1",
    "RELEASE SAVEPOINT s1",
    "RELEASE s1",
    "ROLLBACK TO SAVEPOINT s1",
    "ROLLBACK TO s1",
    "PREPARE TRANSACTION 'fz'",
    "COMMIT PREPARED 'fz'",
    "ROLLBACK PREPARED 'fz'",
    "DO $$ BEGIN COMMIT; END $$",
    "DO $$ BEGIN ROLLBACK; END $$",
    "CALL fz_commits()",
]
_WORK = [
    "CREATE TABLE fz_{n} (id int)",
    "INSERT INTO users VALUES ({n}, 'x')",
    "ALTER TABLE users ADD COLUMN c{n} int",
    "UPDATE users SET name = 'y' WHERE id = {n}",
    "SELECT 'COMMIT; END; ROLLBACK'",
    "SELECT $q$ BEGIN; ABORT; $q$",
    "SELECT 1 /* END; */",
    "SELECT 1/0",
]
_AROUND = ["", "/* c */ ", "-- c\n", "/* ; END; */ ", "\n\t"]


def _case(word: str, style: int) -> str:
    return (word, word.lower(), word.title())[style]


@st.composite
def migrations(draw: st.DrawFn) -> str:
    parts = []
    for n in range(draw(st.integers(min_value=1, max_value=6))):
        if draw(st.booleans()):
            text = _case(draw(st.sampled_from(_CONTROL)), draw(st.integers(0, 2)))
        else:
            text = draw(st.sampled_from(_WORK)).format(n=n)
        before = draw(st.sampled_from(_AROUND))
        after = draw(st.sampled_from(["", " -- tail", " /* tail */"]))
        parts.append(f"{before}{text}{after}\n;")
    return "\n".join(parts)


def _state(conn: psycopg.Connection) -> tuple[object, ...]:
    """Everything a migration or dry run could leave behind."""
    rels = conn.execute(
        "SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname) FROM pg_class"
        " WHERE relnamespace = 'public'::regnamespace"
    ).fetchone()
    cols = conn.execute(
        "SELECT string_agg(attrelid::regclass::text || '.' || attname, ',' ORDER BY 1) FROM pg_attribute"
        " WHERE attnum > 0 AND NOT attisdropped AND attrelid IN"
        " (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r')"
    ).fetchone()
    rows = conn.execute("SELECT count(*), string_agg(name, ',' ORDER BY id) FROM users").fetchone()
    history = conn.execute(
        "SELECT CASE WHEN to_regclass('migration_guard.history') IS NULL THEN NULL ELSE"
        " (xpath('/row/h/text()', query_to_xml('SELECT string_agg(version || status, '','') AS h"
        " FROM migration_guard.history', false, true, '')))[1]::text END"
    ).fetchone()
    prepared = conn.execute("SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'fz'").fetchone()
    return (rels, cols, rows, history, prepared)


BASE = mig(
    "1",
    "CREATE TABLE users (id int PRIMARY KEY, name text);\nINSERT INTO users VALUES (0, 'base');\n"
    "CREATE PROCEDURE fz_commits() LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE fz_p (id int); COMMIT; END $$",
)

#: Totals of the run, printed at the end (the issue's closing note gives them).
STATS = {"examples": 0, "applied": 0, "refused": 0, "failed": 0, "dry_ok": 0, "violations": 0}


def test_transaction_control_fuzz(local_fresh_db: str) -> None:
    url = local_fresh_db
    with runner_ctx(url) as ctx:
        migrate(ctx, [BASE])
        baseline = _state(ctx.conn)

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(up=migrations())
        def run(up: str) -> None:
            STATS["examples"] += 1
            if _state(ctx.conn) != baseline:  # only after a violation counted with COUNT_ONLY
                _reset(ctx.conn)
            lint_sql(up)  # never crashes
            m = mig("2", up)
            for refuse_ae in (False, True):
                before = _state(ctx.conn)
                try:
                    report = migrate(ctx, [BASE, m], dry=True, refuse_access_exclusive=refuse_ae)
                    STATS["dry_ok"] += report.outcomes[0].status == "dry-run ok"
                except GuardError:
                    pass
                after = _state(ctx.conn)
                if after != before:
                    STATS["violations"] += 1
                    if COUNT_ONLY:
                        return
                assert after == before, f"dry run left a trace:\n{up}\n{before}\n{after}"
            try:
                migrate(ctx, [BASE, m])
            except GuardError as exc:
                STATS["refused" if "refused" in exc.message else "failed"] += 1
                after = _state(ctx.conn)
                if after != before:
                    STATS["violations"] += 1
                    if COUNT_ONLY:
                        return
                assert after == before, f"failed migration left part of itself:\n{up}\n{exc}\n{after}"
                return
            STATS["applied"] += 1
            history = _state(ctx.conn)[3]
            assert history is not None and "2applied" in str(history), up
            _reset(ctx.conn)
            assert _state(ctx.conn) == baseline

        run()
    print(f"\nfuzz: {STATS}")


def _reset(conn: psycopg.Connection) -> None:
    """Back to the baseline after a migration that applied."""
    rows = conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
        " AND relname LIKE 'fz%'"
    ).fetchall()
    for (name,) in rows:
        conn.execute(f'DROP TABLE "{name}"')  # type: ignore[arg-type]
    cols = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0"
        " AND NOT attisdropped AND attname NOT IN ('id', 'name')"
    ).fetchall()
    for (col,) in cols:
        conn.execute(f'ALTER TABLE users DROP COLUMN "{col}"')  # type: ignore[arg-type]
    conn.execute("DELETE FROM users WHERE id <> 0")
    conn.execute("UPDATE users SET name = 'base'")
    conn.execute("DELETE FROM migration_guard.history WHERE version = '2'")
