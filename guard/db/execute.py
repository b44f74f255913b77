"""Execute a migration's SQL on a connection, statement by statement, so a failure names
the statement (file line) that failed.

Whether a script can run inside one transaction is decided once, for the runner and
for verify alike (`guard.db.txplan`, `guard.txcontrol.needs_autocommit`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from guard.parsing import Statement
from guard.txcontrol import needs_autocommit as needs_autocommit  # re-exported

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


class TransactionEnded(Exception):
    """A statement ended the transaction the caller runs it in (a bug of the transaction plan:
    `guard.db.txplan` should have refused the file); never silent."""

    def __init__(self, line: int, statement: str, completed: int) -> None:
        text = " ".join(statement.split())[:80]
        super().__init__(f"line {line}: `{text}` ended the runner's transaction")
        self.line = line
        self.statement = statement
        self.completed = completed


def run_statements(
    conn: psycopg.Connection,
    statements: list[Statement],
    *,
    on_done: Callable[[Statement], None] | None = None,
    in_transaction: bool = False,
) -> None:
    """Execute statements in order on `conn` as it is (the caller owns transactions).

    Raises `StatementFailure` on the first error; `on_done` is called after each
    statement that completed (the runner records progress with it). With
    `in_transaction`, raises `TransactionEnded` as soon as a statement leaves the
    connection outside the caller's transaction (libpq's status: no round trip).
    """
    import psycopg
    from psycopg import pq

    for done, stmt in enumerate(statements):
        try:
            # No parameters: psycopg sends the text as is, so `%` in SQL is safe.
            conn.execute(stmt.text)
        except psycopg.Error as exc:
            from guard.db.pgerror import pg_message

            message = pg_message(exc)  # primary | DETAIL | HINT, one line
            raise StatementFailure(
                stmt.line, stmt.text, message, getattr(exc, "sqlstate", None), done
            ) from None
        if in_transaction and conn.info.transaction_status != pq.TransactionStatus.INTRANS:
            raise TransactionEnded(stmt.line, stmt.text, done + 1)
        if on_done is not None:
            on_done(stmt)


_VXID = "SELECT virtualxid FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'virtualxid'"


def transaction_token(conn: psycopg.Connection) -> str:
    """The current transaction's virtual id (`3/1234`): every transaction gets a new one."""
    row = conn.execute(_VXID).fetchone()
    return str(row[0]) if row else ""


def check_same_transaction(conn: psycopg.Connection, token: str, statements: list[Statement]) -> None:
    """Raise `TransactionEnded` unless `conn` is still inside the transaction whose token is `token`.

    `COMMIT AND CHAIN` keeps the connection inside *a* transaction, a new one with a new
    virtual transaction id: the id tells the two apart where libpq's status cannot (and,
    unlike a `SET LOCAL` marker, no `RESET ALL` in a migration can erase it).
    """
    if not token or transaction_token(conn) != token:
        last = statements[-1] if statements else None
        raise TransactionEnded(last.line if last else 0, last.text if last else "", len(statements))


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
