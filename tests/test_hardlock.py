"""The production hard lock: exactly YES, from the real process environment only, before connecting."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from guard.config import Settings
from guard.db.hardlock import require_hard_lock
from guard.errors import SafetyError
from guard.gates import Runtime, check_hard_lock, open_gated_connection, resolve_runtime


@pytest.mark.parametrize("value", ["yes", " YES", "YES ", "YES\n", "1", "true", "Yes", "", "Y", "YES YES"])
def test_anything_but_exact_yes_is_refused(value: str) -> None:
    with pytest.raises(SafetyError, match="not exactly 'YES'") as err:
        require_hard_lock({"CONFIRM_PROD_MIGRATE": value}, database_url_set=True)
    assert repr(value[:20]) in err.value.message  # the bad value is shown so the typo is visible


def test_unset_is_refused() -> None:
    with pytest.raises(SafetyError, match="not set in the process environment") as err:
        require_hard_lock({}, database_url_set=True)
    assert "CONFIRM_PROD_MIGRATE=YES" in (err.value.hint or "")


def test_value_only_in_dotenv_is_refused_with_the_reason() -> None:
    with pytest.raises(
        SafetyError, match=r"set only in a dotenv file.*a lock saved in a file is no lock"
    ) as err:
        require_hard_lock({}, database_url_set=True, dotenv_value="YES")
    assert "remove CONFIRM_PROD_MIGRATE from the dotenv file" in (err.value.hint or "")


def test_database_url_required() -> None:
    with pytest.raises(SafetyError, match="DATABASE_URL is not set"):
        require_hard_lock({"CONFIRM_PROD_MIGRATE": "YES"}, database_url_set=False)


def test_exact_yes_with_url_passes() -> None:
    require_hard_lock({"CONFIRM_PROD_MIGRATE": "YES"}, database_url_set=True)


def test_process_yes_wins_even_when_dotenv_disagrees(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CONFIRM_PROD_MIGRATE=no\n")
    runtime = resolve_runtime(
        Settings(),
        {"CONFIRM_PROD_MIGRATE": "YES", "DATABASE_URL": "postgresql://u@h/d"},
        tmp_path,
        env_flag="prod",
    )
    check_hard_lock(runtime)


@pytest.mark.parametrize("filename", [".env", ".env.local"])
def test_dotenv_lock_through_resolve_runtime_is_refused(tmp_path: Path, filename: str) -> None:
    (tmp_path / filename).write_text("CONFIRM_PROD_MIGRATE=YES\nDATABASE_URL=postgresql://u@h/d\n")
    runtime = resolve_runtime(Settings(), {}, tmp_path, env_flag="prod")
    with pytest.raises(SafetyError, match="set only in a dotenv file"):
        check_hard_lock(runtime)


class _Listener:
    """A TCP port that counts connection attempts (to prove the lock refuses before connecting)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[_Listener]:
    lst = _Listener()
    try:
        yield lst
    finally:
        lst.close()


@pytest.mark.parametrize("confirm", [None, "yes", "YES\n"])
def test_refuses_before_connecting(listener: _Listener, confirm: str | None) -> None:
    runtime = Runtime(
        database_url=f"postgresql://deploy:pw@127.0.0.1:{listener.port}/app",
        database_url_source="process environment",
        expected_env="prod",
        expected_source="--env flag",
        confirm_prod=confirm,
        confirm_prod_in_dotenv=None,
    )
    lines: list[str] = []
    with pytest.raises(SafetyError, match="production hard lock is closed"):
        open_gated_connection(Settings(), runtime, mutating=True, out=lines.append)
    assert listener.accepted == 0
    assert lines == []  # nothing about the target either: the lock is the very first thing


def test_read_only_prod_command_skips_the_lock_but_still_connects(listener: _Listener) -> None:
    from guard.errors import DatabaseError

    runtime = Runtime(
        database_url=f"postgresql://deploy:pw@127.0.0.1:{listener.port}/app",
        database_url_source="process environment",
        expected_env="prod",
        expected_source="--env flag",
        confirm_prod=None,
        confirm_prod_in_dotenv=None,
    )
    lines: list[str] = []
    with pytest.raises(DatabaseError) as err:
        open_gated_connection(Settings(), runtime, mutating=False, out=lines.append)
    assert listener.accepted >= 1
    # The target is named in the error; the banner waits for a connection that says what it reached.
    assert (
        f"cannot connect to host=127.0.0.1 port={listener.port} dbname=app user=deploy" in err.value.message
    )
    assert lines == []
