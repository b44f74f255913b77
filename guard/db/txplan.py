"""How one migration direction runs: in the runner's single transaction, or statement by
statement; decided once, before anything runs, for migrate, rollback, dry run and verify.

The promise: a migration applies whole or leaves nothing, and a dry run never commits.

- A file whose only transaction control is `BEGIN ... COMMIT` blocks (golang-migrate and
  dbmate projects write them) runs atomically: those statements are dropped and the rest
  runs in the runner's one transaction, with its history row.
- `SAVEPOINT`, `RELEASE` and `ROLLBACK TO` a savepoint the file itself set stay: they only
  act inside the transaction they are in.
- Any other transaction control (`COMMIT`/`END` outside a block, `ROLLBACK`, `ABORT`,
  `AND CHAIN`, `PREPARE TRANSACTION`, a `BEGIN` with its own isolation level, a block
  left open), or a `BEGIN` next to a statement that cannot run in a transaction, is refused
  (`TransactionControlRefusal`) before the run starts.
- A file marked `-- guard: no-transaction` (or `transaction:false`, or the `transaction`
  setting off) runs statement by statement and may manage its own transactions; only
  `PREPARE TRANSACTION` / `COMMIT PREPARED` / `ROLLBACK PREPARED` and a block left open stay
  refused there. A dry run never executes it unless it fits in the dry run's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from guard.errors import SafetyError
from guard.parsing import Statement, split_statements
from guard.txcontrol import (
    BEGIN,
    COMMIT,
    TxControl,
    TxProblem,
    block_problem,
    describe,
    needs_autocommit,
    own_transactions_problem,
    tx_controls,
)

if TYPE_CHECKING:
    from guard.config import Settings
    from guard.model import Migration

_MARK = "`-- guard: no-transaction`"


class TransactionControlRefusal(SafetyError):
    """The file's transaction control would break "whole or nothing"; refused before running."""

    def __init__(self, message: str, hint: str, line: int, detail: str = "") -> None:
        super().__init__(message, hint)
        self.line = line
        #: The message without the migration's name (for reports that name it already).
        self.detail = detail or message


@dataclass
class Prepared:
    """The statements to run for one direction, and how."""

    statements: list[Statement]
    #: Why they run statement by statement; None: in the runner's one transaction.
    reason: str | None
    notes: list[str] = field(default_factory=list)
    #: True when every statement could run inside a transaction (a dry run may then run it
    #: inside its own, even when the file is marked no-transaction).
    fits_in_transaction: bool = True


def prepare(migration: Migration, direction: str, settings: Settings) -> Prepared:
    """Statements and mode of one direction; raises `TransactionControlRefusal` when the
    tool cannot keep its promise for this file."""
    from guard.lint.directives import read_file_directives

    up = direction == "up"
    sql = migration.up_sql if up else (migration.down_sql or "")
    first = migration.up_line if up else migration.down_line
    path = migration.up_path if up else (migration.down_path or migration.up_path)
    where = f"{migration.id} ({direction}, {path.name})"
    statements, comments = split_statements(sql, first)
    controls = tx_controls(statements)
    autocommit = needs_autocommit(statements, settings.pg_version)
    fits = autocommit is None and not controls
    reason: str | None = None
    if migration.transaction is False:
        reason = "the layout marks it transaction:false"
    elif not settings.transaction:
        reason = "the `transaction` setting is false"
    elif read_file_directives(comments, ()).no_transaction:
        reason = "the file has a `guard: no-transaction` directive"
    if reason is not None:
        problem = own_transactions_problem(controls)
        if problem is not None:
            _refuse(where, problem)
        return Prepared(statements, reason, fits_in_transaction=fits)
    if not controls:
        return Prepared(statements, autocommit, fits_in_transaction=fits)
    if autocommit is not None:
        raise TransactionControlRefusal(
            f"{where}: {autocommit}, and the file has its own transaction control "
            f"({describe(controls[0])}): it can neither run in one transaction nor stay atomic",
            "split the migration: put the statement that cannot run in a transaction in a migration of "
            f"its own marked {_MARK}, and drop BEGIN/COMMIT from the rest",
            controls[0].stmt.line,
            f"{autocommit}, and the file has its own transaction control ({describe(controls[0])})",
        )
    return _drop_blocks(where, statements, controls)


def _drop_blocks(where: str, statements: list[Statement], controls: list[TxControl]) -> Prepared:
    """Drop the file's `BEGIN`/`COMMIT` blocks (refusing anything else) so it runs in one transaction."""
    problem = block_problem(controls)
    if problem is not None:
        _refuse(where, problem)
    dropped = {tx.stmt.index for tx in controls if tx.kind in (BEGIN, COMMIT)}
    kept = [s for s in statements if s.index not in dropped]
    lines = ", ".join(str(s.line) for s in statements if s.index in dropped)
    notes = [
        f"its own BEGIN/COMMIT (lines {lines}) were dropped: it ran in the runner's single transaction "
        "with its history row"
    ]
    blocks = sum(1 for tx in controls if tx.kind == BEGIN)
    if blocks > 1:
        # Merging is what keeps the migration whole; the price is that a lock taken in an
        # earlier block is held until the last one ends.
        notes.append(
            f"its {blocks} blocks ran as one transaction: locks taken in an earlier block are held until "
            "the end (split the file into one migration per block to release them in between)"
        )
    return Prepared(kept, None, notes)


def _refuse(where: str, problem: TxProblem) -> None:
    tx = problem.tx
    detail = f"`{' '.join(tx.stmt.text.split())[:80]}` {problem.what}; refused before running"
    raise TransactionControlRefusal(
        f"{where} line {tx.stmt.line}: {detail}", problem.hint, tx.stmt.line, detail
    )


def statements_and_mode(
    migration: Migration, direction: str, settings: Settings
) -> tuple[list[Statement], str | None]:
    """The statements of one direction and why they cannot run in a transaction (None: they can)."""
    prepared = prepare(migration, direction, settings)
    return prepared.statements, prepared.reason


def check_all(migrations: list[Migration], settings: Settings, direction: str = "up") -> None:
    """Refuse the whole run, before anything runs, when any migration's transaction control is
    refused, or (up) a `-- guard: precondition` is not one read-only query."""
    from guard.db.contract import check_precondition_shape, contract_spec

    for m in migrations:
        prepare(m, direction, settings)
        if direction == "up" and (spec := contract_spec(m)) is not None:
            check_precondition_shape(spec)
