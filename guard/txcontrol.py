"""Transaction control statements, read from the splitter's keyword words (never the raw text).

Every spelling Postgres accepts is recognised, whatever its case, comments or whitespace:
`BEGIN [WORK | TRANSACTION] [modes]`, `START TRANSACTION [modes]`, `COMMIT | END [WORK |
TRANSACTION] [AND [NO] CHAIN]`, `ROLLBACK | ABORT [...] [AND [NO] CHAIN]`, `ROLLBACK [WORK |
TRANSACTION] TO [SAVEPOINT] name`, `SAVEPOINT name`, `RELEASE [SAVEPOINT] name`,
`PREPARE TRANSACTION 'id'`, `COMMIT PREPARED 'id'` and `ROLLBACK PREPARED 'id'`.

The runner (`guard.db.txplan`) and the linter (`guard.lint.rules.transactions`) share this
one reading, so what lint calls transaction control is exactly what the runner refuses or drops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from guard.sql.outside_tx import refused_in_transaction
from guard.sql.parts import name_key

if TYPE_CHECKING:
    from guard.parsing import Statement


BEGIN = "begin"
COMMIT = "commit"
COMMIT_CHAIN = "commit and chain"
ROLLBACK = "rollback"
ROLLBACK_CHAIN = "rollback and chain"
ROLLBACK_TO = "rollback to savepoint"
SAVEPOINT = "savepoint"
RELEASE = "release savepoint"
PREPARE = "prepare transaction"
COMMIT_PREPARED = "commit prepared"
ROLLBACK_PREPARED = "rollback prepared"

#: Kinds that only work inside the transaction they are in: harmless inside the runner's one.
SAVEPOINT_KINDS = frozenset({SAVEPOINT, RELEASE, ROLLBACK_TO})

_HEADS = frozenset(
    {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE"}
)
_NOISE = ("WORK", "TRANSACTION")

#: `BEGIN` modes that match what the runner's own transaction already is (server defaults
#: aside), so dropping the `BEGIN` changes nothing.
_DEFAULT_MODES = frozenset(
    {
        ("ISOLATION", "LEVEL", "READ", "COMMITTED"),
        ("READ", "WRITE"),
        ("NOT", "DEFERRABLE"),
    }
)


@dataclass(frozen=True)
class TxControl:
    """One transaction-control statement: its kind and, for `BEGIN`, the modes it sets."""

    kind: str
    stmt: Statement
    #: Transaction modes of a `BEGIN` / `START TRANSACTION` (words after the keywords).
    modes: tuple[str, ...] = ()
    #: Savepoint name (folded like Postgres does) for the savepoint kinds.
    savepoint: str = ""

    @property
    def default_modes(self) -> bool:
        """True when the `BEGIN` sets no mode other than what the runner's transaction has."""
        return _modes_are_default(self.modes)


def read_tx_control(stmt: Statement) -> TxControl | None:
    """The transaction control `stmt` is, or None when it is any other statement."""
    if stmt.head not in _HEADS:
        return None
    w = stmt.words
    head = w[0] if w else ""
    if head not in _HEADS:
        return None  # e.g. a quoted name: `head` skipped its quote
    rest = w[1:]
    if head == "BEGIN":
        return TxControl(BEGIN, stmt, _skip_noise(rest))
    if head == "START":
        return TxControl(BEGIN, stmt, rest[1:]) if rest[:1] == ("TRANSACTION",) else None
    if head == "SAVEPOINT":
        return TxControl(SAVEPOINT, stmt, savepoint=_name(rest))
    if head == "RELEASE":
        return TxControl(RELEASE, stmt, savepoint=_name(rest[1:] if rest[:1] == ("SAVEPOINT",) else rest))
    if head == "PREPARE":
        return TxControl(PREPARE, stmt) if rest[:1] == ("TRANSACTION",) else None
    if head in ("COMMIT", "END"):
        if head == "COMMIT" and rest[:1] == ("PREPARED",):
            return TxControl(COMMIT_PREPARED, stmt)
        return TxControl(COMMIT_CHAIN if _chains(rest) else COMMIT, stmt)
    # ROLLBACK / ABORT
    if head == "ROLLBACK" and rest[:1] == ("PREPARED",):
        return TxControl(ROLLBACK_PREPARED, stmt)
    after = _skip_noise(rest)
    if after[:1] == ("TO",):
        target = after[2:] if after[1:2] == ("SAVEPOINT",) else after[1:]
        return TxControl(ROLLBACK_TO, stmt, savepoint=_name(target))
    return TxControl(ROLLBACK_CHAIN if _chains(rest) else ROLLBACK, stmt)


def _skip_noise(words: tuple[str, ...]) -> tuple[str, ...]:
    return words[1:] if words[:1] and words[0] in _NOISE else words


def _chains(words: tuple[str, ...]) -> bool:
    # `AND CHAIN` starts a new transaction at once; `AND NO CHAIN` is the default.
    return "CHAIN" in words and "NO" not in words


def _name(words: tuple[str, ...]) -> str:
    if not words:
        return ""
    # `words` keeps a quoted name verbatim and upper-cases a plain one.
    return name_key(words[0])


def _modes_are_default(modes: tuple[str, ...]) -> bool:
    i = 0
    while i < len(modes):
        for mode in _DEFAULT_MODES:
            if modes[i : i + len(mode)] == mode:
                i += len(mode)
                break
        else:
            return False
    return True


#: (`Transaction.action`, chain) of the model -> the kind here.
_KIND_OF_ACTION = {
    ("begin", False): BEGIN,
    ("commit", False): COMMIT,
    ("commit", True): COMMIT_CHAIN,
    ("rollback", False): ROLLBACK,
    ("rollback", True): ROLLBACK_CHAIN,
    ("rollback to", False): ROLLBACK_TO,
    ("savepoint", False): SAVEPOINT,
    ("release", False): RELEASE,
    ("prepare", False): PREPARE,
    ("commit prepared", False): COMMIT_PREPARED,
    ("rollback prepared", False): ROLLBACK_PREPARED,
}


def tx_controls(statements: list[Statement]) -> list[TxControl]:
    """Every transaction-control statement of a script, in order, read from each statement's
    fact (`guard.sql.facts.Transaction`, itself read by `read_tx_control`)."""
    from guard.sql.facts import Transaction

    out = []
    for stmt in statements:
        fact = stmt.fact
        if isinstance(fact, Transaction):
            kind = _KIND_OF_ACTION[(fact.action, fact.chain)]
            out.append(TxControl(kind, stmt, fact.modes, fact.savepoint))
    return out


def needs_autocommit(statements: list[Statement], pg_version: int = 15) -> str | None:
    """Why this script cannot run inside one transaction, or None when it can.

    What Postgres refuses inside a transaction block is decided in one place,
    `guard.sql.outside_tx` (the linter reads the same). A file's own transaction control
    is judged apart (`guard.db.txplan`).
    """
    for stmt in statements:
        refused = refused_in_transaction(stmt.fact, pg_version)
        if refused is not None:
            before = " before Postgres 12" if refused.startswith("ALTER TYPE") else ""
            return f"line {stmt.line}: {refused} cannot run inside a transaction{before}"
    return None


_MARK = "`-- guard: no-transaction`"


@dataclass(frozen=True)
class TxProblem:
    """Why a file's transaction control breaks "whole or nothing", and what to do."""

    tx: TxControl
    what: str
    hint: str
    #: A block left open at the end (the `uncommitted-transaction` rule's case).
    unclosed: bool = False


def block_problem(controls: list[TxControl]) -> TxProblem | None:
    """For a file the runner wraps in its one transaction: the first transaction control that is
    not a `BEGIN ... COMMIT` block (with default modes) or a savepoint the file itself set."""
    depth, opened = 0, controls[0] if controls else None
    savepoints: set[str] = set()
    for tx in controls:
        if tx.kind == BEGIN:
            if not tx.default_modes:
                return TxProblem(
                    tx,
                    f"sets its own transaction modes ({' '.join(tx.modes)}), which the runner's one "
                    "transaction cannot honour",
                    "remove the modes (or the BEGIN), or mark the file " + _MARK + " if it truly needs them",
                )
            opened = tx if depth == 0 else opened
            depth += 1
        elif tx.kind == COMMIT:
            if depth == 0:
                return TxProblem(
                    tx,
                    "commits outside any BEGIN block: everything before it would be committed apart from "
                    "the rest",
                    "remove it (the runner commits the migration with its history row), or split the "
                    "migration at this line",
                )
            depth -= 1
        elif tx.kind == SAVEPOINT:
            savepoints.add(tx.savepoint)
        elif tx.kind in SAVEPOINT_KINDS:
            if tx.savepoint not in savepoints:
                return TxProblem(
                    tx,
                    f"names savepoint {tx.savepoint!r}, which the file does not set before it",
                    "set the savepoint earlier in the same file, or remove the statement",
                )
        else:
            return TxProblem(
                tx,
                f"is {tx.kind.upper()}: it ends the migration's transaction part-way, so the migration "
                "could neither apply whole nor leave nothing",
                "remove it: the runner rolls the whole migration back when a statement fails; split the "
                f"migration instead, or mark it {_MARK} if it truly manages its own transactions",
            )
    if depth and opened is not None:
        return TxProblem(
            opened,
            "opens a transaction that the file never commits",
            "end the block with COMMIT (or drop the BEGIN: the runner runs the file in one transaction)",
            unclosed=True,
        )
    return None


def own_transactions_problem(controls: list[TxControl]) -> TxProblem | None:
    """For a file that runs statement by statement and manages its own transactions: two-phase
    commit, or a block left open at the end."""
    depth, opened = 0, None
    for tx in controls:
        if tx.kind in (PREPARE, COMMIT_PREPARED, ROLLBACK_PREPARED):
            return TxProblem(
                tx,
                f"is {tx.kind.upper()}: a two-phase transaction outlives the migration and holds its locks",
                "remove it; a migration must not take part in two-phase commit",
            )
        if tx.kind == BEGIN:
            opened, depth = (tx if depth == 0 else opened), 1
        elif tx.kind not in SAVEPOINT_KINDS:
            depth = 0
    if depth and opened is not None:
        return TxProblem(
            opened,
            "opens a transaction that the file never commits (it would be rolled back at the end)",
            "end the block with COMMIT",
            unclosed=True,
        )
    return None


def describe(tx: TxControl) -> str:
    """`line N: <statement text>` on one line, for messages."""
    text = " ".join(tx.stmt.text.split())
    return f"line {tx.stmt.line}: `{text[:80]}`"
