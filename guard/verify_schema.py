"""The committed schema file of `verify --schema` / `--write-schema`: load it (a JSON document
written by `--write-schema`, or a SQL dump loaded into a throwaway database of its own),
compare it with what the migrations produce, and write it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from guard.errors import InputError

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.db.shadow import ShadowServer
    from guard.db.snapshot import Snapshot
    from guard.verify import VerifyResult


def read_text(path: Path, flag: str) -> str:
    """The UTF-8 text of a file a flag names, or an `InputError` naming the flag."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{flag} {path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{flag} {path}: not UTF-8 text") from None


def check_schema_file(result: VerifyResult, server: ShadowServer, settings: Settings, path: Path) -> None:
    """Compare the migrations' final schema with the committed schema file, object by object."""
    from guard.paths import display_path
    from guard.verify_findings import schema_drift

    expected = load_expected_schema(server, settings, path)
    assert result.final_schema is not None
    result.findings.extend(schema_drift(expected, result.final_schema, display_path(path)))
    result.schema_checked = True


def load_expected_schema(server: ShadowServer, settings: Settings, path: Path) -> Snapshot:
    """The schema the file describes: a JSON document, or a SQL dump loaded into its own database."""
    from guard.db.snapshot import Snapshot

    text = read_text(path, "--schema")
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


def write_schema_file(result: VerifyResult, path: Path) -> None:
    if not result.complete or result.final_schema is None:
        result.notices.append(f"--write-schema {path}: not written, not every migration could be applied")
        return
    try:
        path.write_text(result.final_schema.to_text(), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--write-schema {path}: cannot write: {exc.strerror}") from None
    result.notices.append(f"wrote the migrations' schema to {path} ({len(result.final_schema)} objects)")
