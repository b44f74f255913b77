"""Execute a migration's SQL on a connection, statement by statement, so a failure names
the statement (file line) that failed.

Whether a script can run inside one transaction is decided here, once, for the
runner and for verify alike (`needs_autocommit`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from guard.parsing import Statement, parse_sql

if TYPE_CHECKING:
    import psycopg


class StatementFailure(Exception):
    """A statement failed; carries its line and Postgres's message (no connection details).

    `completed` is how many statements of the script finished before the failure.
    """

    def __init__(self, line: int, statement: str, error: str, sqlstate: str | None, completed: int) -> None:
        super().__init__(f"line {line}: {error}")
        self.line = line
        self.statement = statement
        self.error = error
        self.sqlstate = sqlstate
        self.completed = completed

    def __str__(self) -> str:
        return f"line {self.line}: {self.error}"


def needs_autocommit(statements: list[Statement], pg_version: int = 15) -> str | None:
    """Why this script cannot run inside one transaction, or None when it can.

    Postgres refuses `CREATE/DROP INDEX CONCURRENTLY`, `REINDEX CONCURRENTLY`,
    `DETACH PARTITION ... CONCURRENTLY`, `VACUUM`, `CREATE DATABASE` and (before 12)
    `ALTER TYPE ... ADD VALUE` inside a transaction block; a file with its own
    `BEGIN`/`COMMIT` manages its transactions itself.
    """
    for stmt in statements:
        words = stmt.words
        if "CONCURRENTLY" in words[:8] or (words[:2] == ("ALTER", "TABLE") and "CONCURRENTLY" in words):
            return f"line {stmt.line}: {' '.join(words[:3])} ... CONCURRENTLY cannot run inside a transaction"
        if words[:1] == ("VACUUM",) or words[:2] in (
            ("CREATE", "DATABASE"),
            ("DROP", "DATABASE"),
            ("ALTER", "SYSTEM"),
        ):
            return f"line {stmt.line}: {' '.join(words[:2])} cannot run inside a transaction"
        if pg_version < 12 and words[:2] == ("ALTER", "TYPE") and "ADD" in words and "VALUE" in words:
            return f"line {stmt.line}: ALTER TYPE ... ADD VALUE cannot run inside a transaction before Postgres 12"
        if words[:1] in (("BEGIN",), ("COMMIT",)) or words[:2] == ("START", "TRANSACTION"):
            return f"line {stmt.line}: the file manages its own transactions (BEGIN/COMMIT)"
    return None


def run_statements(
    conn: psycopg.Connection,
    statements: list[Statement],
    *,
    on_done: Callable[[Statement], None] | None = None,
) -> None:
    """Execute statements in order on `conn` as it is (the caller owns transactions).

    Raises `StatementFailure` on the first error; `on_done` is called after each
    statement that completed (the runner records progress with it).
    """
    import psycopg

    for done, stmt in enumerate(statements):
        try:
            # No parameters: psycopg sends the text as is, so `%` in SQL is safe.
            conn.execute(stmt.text)
        except psycopg.Error as exc:
            diag = getattr(exc, "diag", None)
            message = (
                diag.message_primary if diag is not None and diag.message_primary else str(exc)
            ).strip()
            raise StatementFailure(
                stmt.line, stmt.text, message, getattr(exc, "sqlstate", None), done
            ) from None
        if on_done is not None:
            on_done(stmt)


def refuse_open_transaction(conn: psycopg.Connection, statements: list[Statement]) -> None:
    """After a script that manages its own transactions: raise `StatementFailure` if it ended inside one.

    The open transaction is rolled back first. Left open, the next script's `COMMIT` would
    commit it as part of another migration, or the end of the session would silently
    discard work already reported as applied; committing what the file never committed
    would be a guess. `completed` is the number of statements, since all of them ran.
    """
    from psycopg import pq

    if conn.closed or conn.info.transaction_status == pq.TransactionStatus.IDLE:
        return
    conn.execute("ROLLBACK")
    openers = [s for s in statements if s.words[:1] == ("BEGIN",) or s.words[:2] == ("START", "TRANSACTION")]
    opener = openers[-1] if openers else statements[-1]
    raise StatementFailure(
        opener.line,
        opener.text,
        f"the script ends inside the transaction opened on line {opener.line} (BEGIN without COMMIT); "
        "it was rolled back",
        None,
        len(statements),
    )


def run_script(
    conn: psycopg.Connection, sql: str, *, first_line: int = 1, transactional: bool = True
) -> None:
    """Run a whole script: inside one transaction when `transactional`, else statement by statement.

    `conn` must be in autocommit mode; with `transactional` the statements run
    in `conn.transaction()` and are rolled back together on failure.
    """
    statements = parse_sql(sql, first_line)
    if transactional:
        with conn.transaction():
            run_statements(conn, statements)
    else:
        run_statements(conn, statements)
