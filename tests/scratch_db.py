"""One scratch database per test module on the machine's server, emptied before each test.

Registered by conftest.py: a test asks for `scratch_conn`, and each case starts from an empty
database, which is cheaper than creating one per case on a loaded server.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from guard.parsing import split_statements


@pytest.fixture(scope="module")
def scratch_database(local_pg) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """One database for the module; each test starts from an empty one (`scratch_conn`)."""
    name, url = local_pg.create_database()
    try:
        yield url
    finally:
        local_pg.drop_database(name)


@pytest.fixture
def scratch_conn(scratch_database: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the module's database, emptied of every schema first."""
    with psycopg.connect(scratch_database, autocommit=True) as c:
        for (schema,) in c.execute(
            "SELECT quote_ident(nspname) FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'"
        ).fetchall():
            c.execute(f"DROP SCHEMA {schema} CASCADE")
        c.execute("DROP EXTENSION IF EXISTS citext")
        c.execute("CREATE SCHEMA public")
        yield c


def run(conn: psycopg.Connection, sql: str) -> None:
    """Run every statement of `sql`."""
    for st in split_statements(sql)[0]:
        conn.execute(st.text)
