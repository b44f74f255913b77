"""The `verify` command: options -> throwaway Postgres -> `guard.verify` -> report -> exit code.

Exit 0 when every migration round-trips (and the schema file matches), 1 when one
does not, 2 when verification could not run (no server, bad flags, unreadable files).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any

import click

from guard.cli.common import (
    config_options,
    database_command,
    path_argument,
    resolve_migrations_dir,
    settings_for,
)
from guard.errors import ConfigError, InputError

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.db.shadow import ShadowServer
    from guard.db.snapshot import Snapshot
    from guard.model import Migration
    from guard.verify import VerifyResult

FORMATS = ("text", "json", "github", "sarif")


@click.command()
@path_argument
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Output format."
)
@config_options
@click.option(
    "--shadow",
    type=click.Choice(["embedded", "docker", "url"]),
    default=None,
    help="Where the throwaway Postgres runs (default: embedded when pgserver is installed).",
)
@click.option(
    "--shadow-url",
    envvar="MIGRATION_GUARD_SHADOW_URL",
    default=None,
    help="Server for --shadow url (env MIGRATION_GUARD_SHADOW_URL); a database is created and dropped on it.",
)
@click.option("--image", default=None, help="Docker image for --shadow docker (default postgres:15).")
@click.option(
    "--since", "since", default=None, metavar="REF", help="Verify only migrations added since this git ref."
)
@click.option(
    "--data",
    "data_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="SQL that loads representative rows; table contents are then compared too.",
)
@click.option(
    "--data-after",
    default=None,
    metavar="VERSION",
    help="Load --data after this migration (default: before the first verified one).",
)
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Committed schema file (.json from --write-schema, or a .sql dump) the migrations must produce.",
)
@click.option(
    "--write-schema",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the migrations' normalized schema to this .json file.",
)
@click.option("--pg-version", type=int, default=None, help="Target Postgres major version (default 15).")
@database_command
def verify(
    path: Path | None,
    fmt: str,
    config_file: Path | None,
    layout: str | None,
    shadow: str | None,
    shadow_url: str | None,
    image: str | None,
    since: str | None,
    data_file: Path | None,
    data_after: str | None,
    schema_file: Path | None,
    write_schema: Path | None,
    pg_version: int | None,
) -> None:
    """Prove each down migration undoes its up on a throwaway Postgres.

    For each migration: snapshot, up, snapshot, down (schema and data must
    equal the first snapshot), up again (must equal the second). PATH is the
    migrations folder. Exit 0 when all round-trip, 1 when one does not, 2 when
    verification could not run.
    """
    from guard.db.shadow import default_provider, start_server, throwaway_database
    from guard.layouts import discover
    from guard.verify import VerifyOptions, verify_migrations

    settings = settings_for(
        path,
        config_file,
        layout=(layout, "--layout"),
        shadow=(shadow, "--shadow"),
        shadow_image=(image, "--image"),
        schema_file=(str(schema_file) if schema_file else None, "--schema"),
        pg_version=(pg_version, "--pg-version"),
    )
    provider = settings.shadow
    if settings.source_of("shadow") == "default":
        provider = "url" if shadow_url else default_provider()
    if write_schema is not None and write_schema.suffix.lower() == ".sql":
        raise ConfigError(
            "--write-schema writes the normalized JSON schema, not SQL", "use a .json file name"
        )
    folder = resolve_migrations_dir(path, settings)
    discovery = discover(folder, settings.layout, exclude=settings.exclude)
    migrations = list(discovery.migrations)
    if not migrations:
        raise InputError(f"{folder}: no migrations found", "pass the folder that holds your migrations")
    only = _new_since(folder, since, migrations) if since else None
    data_sql = _read_text(data_file, "--data") if data_file else None
    expected_path = settings.schema_file
    started = time.perf_counter()
    with (
        _terminate_as_interrupt(),
        start_server(provider, url=shadow_url, image=settings.shadow_image) as server,
    ):
        setup = time.perf_counter()
        with throwaway_database(server, settings) as db:
            setup = time.perf_counter() - setup
            options = VerifyOptions(
                only=only,
                data_sql=data_sql,
                data_name=str(data_file),
                data_after=data_after,
                progress=_progress if sys.stderr.isatty() and fmt == "text" else None,
            )
            result = verify_migrations(db, migrations, settings, options)
            result.timings.setup = setup
        _clear_progress()
        if expected_path is not None and result.complete:
            _check_schema(result, server, settings, expected_path)
    for f in discovery.findings:
        result.notices.append(f"{f.file}:{f.line}: {f.message}")
    if since:
        result.notices.append(f"--since {since}: verifying {len(only or ())} new migration(s)")
    if write_schema is not None:
        _write_schema(result, write_schema)
    elapsed = time.perf_counter() - started
    _render(result, fmt, sys.stdout, elapsed, discovery.layout)
    sys.exit(result.exit_code)


def _read_text(path: Path, flag: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{flag} {path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{flag} {path}: not UTF-8 text") from None


def _new_since(folder: Path, ref: str, migrations: list[Migration]) -> frozenset[str]:
    """Ids of migrations whose up file did not exist at the merge base of REF and HEAD."""
    from guard.gitutil import GitMissing, ensure_merge_base, list_files, repo_root

    try:
        root = repo_root(folder)
        base = ensure_merge_base(root, ref).merge_base
    except GitMissing as exc:
        raise InputError(f"--since needs git: {exc}", "run inside the repository, or drop --since") from None
    abs_folder = folder.resolve()
    rel = abs_folder.relative_to(root.resolve()).as_posix()
    at_base = list_files(root, base, "" if rel == "." else rel)
    out = set()
    for m in migrations:
        try:
            key = m.up_path.resolve().relative_to(abs_folder).as_posix()
        except ValueError:
            key = m.up_path.as_posix()
        if key not in at_base:
            out.add(m.id)
    return frozenset(out)


def _check_schema(result: VerifyResult, server: ShadowServer, settings: Settings, path: Path) -> None:
    """Compare the migrations' final schema with the committed schema file, object by object."""
    from guard.lint.engine import display_path
    from guard.verify_findings import schema_drift

    expected = _load_expected(server, settings, path)
    assert result.final_schema is not None
    result.findings.extend(schema_drift(expected, result.final_schema, display_path(path)))
    result.schema_checked = True


def _load_expected(server: ShadowServer, settings: Settings, path: Path) -> Snapshot:
    """The schema the file describes: a JSON document, or a SQL dump loaded into its own database."""
    from guard.db.snapshot import Snapshot

    text = _read_text(path, "--schema")
    if path.suffix.lower() != ".sql":
        try:
            return Snapshot.from_document(json.loads(text))
        except ValueError as exc:
            raise InputError(
                f"--schema {path}: not a schema file written by --write-schema ({exc})",
                "regenerate it with `migration-guard verify --write-schema FILE`, or pass a .sql dump",
            ) from None
    return _snapshot_of_sql(server, settings, text, path)


def _snapshot_of_sql(server: ShadowServer, settings: Settings, text: str, path: Path) -> Snapshot:
    from guard.db.connect import connect
    from guard.db.execute import StatementFailure, run_statements
    from guard.db.shadow import APPLICATION_NAME, throwaway_database
    from guard.db.snapshot import take_snapshot
    from guard.parsing import split_statements

    # pg_dump output carries psql meta-commands (\restrict, \connect) the server cannot run.
    sql = "\n".join("" if line.startswith("\\") else line for line in text.splitlines())
    with (
        throwaway_database(server, settings) as db,
        connect(db.url, application_name=APPLICATION_NAME) as conn,
    ):
        statements = [st for st in split_statements(sql)[0] if not _dump_noise(st.words)]
        try:
            run_statements(conn, statements)
        except StatementFailure as exc:
            raise InputError(f"--schema {path}: line {exc.line}: {exc.error}") from None
        # A dump sets search_path to ''; reset so definitions print as they do for migrations.
        conn.execute("RESET ALL")
        return take_snapshot(
            conn,
            exclude_schemas=(settings.history_schema,),
            marker_table=f"{settings.marker_schema}.{settings.marker_table}",
        )


def _dump_noise(words: tuple[str, ...]) -> bool:
    """Dump statements about roles and privileges: not schema, and the roles may not exist here."""
    if words[:1] in (("GRANT",), ("REVOKE",)) or words[:3] == ("ALTER", "DEFAULT", "PRIVILEGES"):
        return True
    return words[:1] == ("ALTER",) and words[-3:-1] == ("OWNER", "TO")


def _write_schema(result: VerifyResult, path: Path) -> None:
    if not result.complete or result.final_schema is None:
        result.notices.append(f"--write-schema {path}: not written, not every migration could be applied")
        return
    try:
        path.write_text(result.final_schema.to_text(), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--write-schema {path}: cannot write: {exc.strerror}") from None
    result.notices.append(f"wrote the migrations' schema to {path} ({len(result.final_schema)} objects)")


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (a cancelled CI job) like Ctrl-C, so `finally` blocks drop the database."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _progress(done: int, total: int, migration: str, step: str) -> None:
    click.echo(f"\r\033[K[{done}/{total}] {step} {migration} ({total - done} left)", err=True, nl=False)


def _clear_progress() -> None:
    if sys.stderr.isatty():
        click.echo("\r\033[K", err=True, nl=False)


def _render(result: VerifyResult, fmt: str, stream: IO[str], elapsed: float, layout: str) -> None:
    if fmt == "json":
        json.dump(as_document(result, elapsed), stream, indent=2)
        stream.write("\n")
    elif fmt == "text":
        render_text(result, stream, elapsed)
    else:
        from guard.lint.engine import LintResult
        from guard.report import render

        lint_result = LintResult(
            findings=list(result.findings),
            migrations=len(result.outcomes),
            layout=layout,
            notices=list(result.notices),
        )
        try:
            render(lint_result, fmt, stream)
        except ImportError:
            raise ConfigError(f"--format {fmt} is not available in this build", "use text or json") from None


def as_document(result: VerifyResult, elapsed: float) -> dict[str, Any]:
    """The JSON output of `verify`."""
    from guard import __version__

    return {
        "schema_version": 1,
        "tool": {"name": "migration-guard", "version": __version__, "command": "verify"},
        "server": result.server,
        "migrations": [
            {"id": o.id, "status": o.status, "seconds": round(o.seconds, 4)} for o in result.outcomes
        ],
        "findings": [f.as_dict() for f in result.findings],
        "notices": list(result.notices),
        "summary": result.summary(),
        "timings": {**result.timings.as_dict(), "total": round(elapsed, 3)},
    }


def render_text(result: VerifyResult, stream: IO[str], elapsed: float) -> None:
    """One line per migration, its problems and fixes under it, then the summary and timings."""
    by_migration: dict[str | None, list[Any]] = {}
    for f in result.findings:
        by_migration.setdefault(f.migration, []).append(f)
    stream.write(f"verify on {result.server}\n")
    for o in result.outcomes:
        label = {"ok": "ok", "failed": "FAILED", "applied": "applied", "not-reached": "skipped"}[o.status]
        stream.write(f"  {label:8} {o.id}\n")
        for f in by_migration.get(o.id, []):
            stream.write(f"      {f.file}:{f.line}  {f.rule}  {f.message}\n")
            if f.fix:
                stream.write(f"          fix: {f.fix}\n")
    drift = by_migration.get(None, [])
    if result.schema_checked:
        stream.write(f"schema file: {'matches' if not drift else f'{len(drift)} difference(s)'}\n")
        for f in drift:
            stream.write(f"      {f.file}  {f.rule}  {f.message}\n")
    for notice in result.notices:
        stream.write(f"note: {notice}\n")
    s, t = result.summary(), result.timings
    verdict = "failed" if result.exit_code else "passed"
    stream.write(
        f"{s['verified']} verified: {s['ok']} round-trip, {s['failed']} failed"
        + (f", {s['applied_only']} applied first" if s["applied_only"] else "")
        + (f", {s['not_reached']} not reached" if s["not_reached"] else "")
        + f" ({verdict}) in {elapsed:.1f}s"
        + f" [server start {t.server_start:.1f}s, migrations {t.migrations:.1f}s,"
        + f" snapshots {t.snapshots:.1f}s"
        + (f", data {t.data:.1f}s" if t.data else "")
        + "]\n"
    )
