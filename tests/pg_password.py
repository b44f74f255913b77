"""A login role with a real password on the embedded server (scram for that role only), for redaction tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict


@contextmanager
def password_role(pg_server, password: str, *, createdb: bool = False) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(url with the right password, role) on the embedded server, with scram auth for that role only.

    The embedded server trusts local connections; a pg_hba line for this one role
    (first match wins) makes its password real without changing anyone else's access.
    The password is percent-encoded in the URL, so any character may be in it.
    """
    role = "pw_" + uuid.uuid4().hex[:8]
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute("SET password_encryption = 'scram-sha-256'")
        literal = password.replace("'", "''")
        admin.execute(f"CREATE ROLE \"{role}\" LOGIN {'CREATEDB' if createdb else ''} PASSWORD '{literal}'")
        hba_row = admin.execute("SHOW hba_file").fetchone()
        assert hba_row is not None
        hba = Path(hba_row[0])
        original = hba.read_text()
        hba.write_text(f"local all {role} scram-sha-256\n" + original)
        admin.execute("SELECT pg_reload_conf()")
    params = conninfo_to_dict(pg_server.admin_url)
    socket_dir = params["host"]
    url = f"postgresql://{role}:{quote(password, safe='')}@/postgres?host={socket_dir}"
    wrong = f"postgresql://{role}:wrong-{quote(password, safe='')}@/postgres?host={socket_dir}"
    # pg_reload_conf only signals the postmaster: wait until the new rule is in force.
    deadline = time.monotonic() + 10
    while True:
        try:
            psycopg.connect(wrong, connect_timeout=2).close()
        except psycopg.OperationalError as exc:
            if "password authentication failed" in str(exc):
                break
        if time.monotonic() > deadline:
            pytest.skip("could not enable password authentication on the embedded server")
        time.sleep(0.05)
    try:
        yield url, role
    finally:
        hba.write_text(original)
        with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
            admin.execute("SELECT pg_reload_conf()")
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
