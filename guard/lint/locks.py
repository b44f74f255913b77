"""Postgres table lock modes, what each one blocks, and which mode a DDL statement takes.

One table so every rule's message names the lock the same way:
`ACCESS EXCLUSIVE (blocks reads and writes)`. Facts from the Postgres docs,
"Explicit Locking" (table-level lock modes) and the `ALTER TABLE` reference
(each sub-command's lock level).
"""

from __future__ import annotations

from types import MappingProxyType

from guard.sql import facts as f

ACCESS_SHARE = "ACCESS SHARE"
ROW_SHARE = "ROW SHARE"
ROW_EXCLUSIVE = "ROW EXCLUSIVE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
SHARE = "SHARE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
EXCLUSIVE = "EXCLUSIVE"
ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"

#: Modes from weakest to strongest.
ORDER = (
    ACCESS_SHARE,
    ROW_SHARE,
    ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    SHARE,
    SHARE_ROW_EXCLUSIVE,
    EXCLUSIVE,
    ACCESS_EXCLUSIVE,
)

#: What application traffic each mode blocks while it is held (or queued).
BLOCKS = MappingProxyType(
    {
        ACCESS_SHARE: "blocks only ACCESS EXCLUSIVE DDL",
        ROW_SHARE: "blocks only EXCLUSIVE and ACCESS EXCLUSIVE locks",
        ROW_EXCLUSIVE: "blocks SHARE and stronger locks, not reads or writes",
        SHARE_UPDATE_EXCLUSIVE: "blocks other DDL, VACUUM and ANALYZE, not reads or writes",
        SHARE: "blocks writes; reads continue",
        SHARE_ROW_EXCLUSIVE: "blocks writes; reads continue",
        EXCLUSIVE: "blocks writes and SELECT FOR UPDATE; plain reads continue",
        ACCESS_EXCLUSIVE: "blocks reads and writes",
    }
)


#: Modes by length, so `SHARE ROW EXCLUSIVE` is matched before `SHARE`.
_LONGEST_FIRST = tuple(sorted(ORDER, key=len, reverse=True))


def describe(mode: str) -> str:
    """`MODE (what it blocks)`, the form every message and rule record uses."""
    return f"{mode} ({BLOCKS[mode]})"


def with_effect(lock: str | None) -> str | None:
    """A bare mode name (`ACCESS EXCLUSIVE`) gets what it blocks appended; other text is kept."""
    return describe(lock) if lock is not None and lock in BLOCKS else lock


def finding_lock(hit_lock: str | None, rule_lock: str | None) -> str | None:
    """A finding's `lock`: a bare mode name (`ACCESS EXCLUSIVE`) or None, never prose.

    The hit's own mode when it names one, else the mode the rule's documented lock starts
    with (`SHARE (blocks writes); ACCESS EXCLUSIVE on the index` -> `SHARE`, the table's lock).
    """
    return leading_mode(hit_lock) if hit_lock else leading_mode(rule_lock) if rule_lock else None


def leading_mode(text: str) -> str | None:
    """The lock mode `text` is or starts with (`ACCESS EXCLUSIVE (blocks ...)` -> `ACCESS EXCLUSIVE`)."""
    if text in BLOCKS:
        return text
    for mode in _LONGEST_FIRST:
        if text.startswith(mode) and text[len(mode) : len(mode) + 1] in (" ", ",", ";", "("):
            return mode
    return None


def stronger(a: str | None, b: str | None) -> str | None:
    """The stronger of two modes (None counts as no lock)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if ORDER.index(a) >= ORDER.index(b) else b


def alter_action_lock(words: tuple[str, ...]) -> str:
    """Lock mode one `ALTER TABLE` action takes (upper-cased keyword words of the action)."""
    w = words
    if not w:
        return ACCESS_EXCLUSIVE
    if w[:2] == ("VALIDATE", "CONSTRAINT"):
        return SHARE_UPDATE_EXCLUSIVE
    if w[0] == "ADD" and "FOREIGN" in w:
        return SHARE_ROW_EXCLUSIVE
    if w[:2] == ("ATTACH", "PARTITION") or (w[:2] == ("DETACH", "PARTITION") and "CONCURRENTLY" in w):
        return SHARE_UPDATE_EXCLUSIVE
    if w[0] == "ALTER" and "SET" in w and ("STATISTICS" in w or "N_DISTINCT" in w):
        return SHARE_UPDATE_EXCLUSIVE
    if w[:2] == ("CLUSTER", "ON") or w[:3] == ("SET", "WITHOUT", "CLUSTER"):
        return SHARE_UPDATE_EXCLUSIVE
    if w[0] in ("ENABLE", "DISABLE") and "TRIGGER" in w:
        return SHARE_ROW_EXCLUSIVE
    return ACCESS_EXCLUSIVE


def action_lock(action: f.Action) -> str:
    """Lock mode one typed `ALTER TABLE` action takes (see `alter_action_lock` for the rules)."""
    if isinstance(action, f.ValidateConstraint | f.AttachPartition):
        return SHARE_UPDATE_EXCLUSIVE
    if isinstance(action, f.AddConstraint) and action.constraint.kind == f.FOREIGN_KEY:
        return SHARE_ROW_EXCLUSIVE
    if isinstance(action, f.DetachPartition):
        return SHARE_UPDATE_EXCLUSIVE if action.concurrently else ACCESS_EXCLUSIVE
    if isinstance(action, f.OtherAction):
        return alter_action_lock(action.words)
    return ACCESS_EXCLUSIVE


def statement_lock(fact: f.Fact) -> list[tuple[str, str]]:
    """(mode, table key) of each table lock a DDL statement's fact takes, for the lock-holding rules.

    Only the statements those rules care about are classified (`ALTER TABLE`, `LOCK`,
    `VACUUM FULL`, `CLUSTER`, `TRUNCATE`); an empty list means "no table
    lock worth tracking".
    """
    if isinstance(fact, f.AlterTable):
        mode: str | None = None
        for action in fact.actions:
            mode = stronger(mode, action_lock(action))
        return [(mode or ACCESS_EXCLUSIVE, fact.table.key)]
    if isinstance(fact, f.Maintenance) and fact.target is not None:
        if fact.verb == "lock":
            return [(lock_table_mode(fact), fact.target.key)]
        if fact.verb == "cluster" or (fact.verb == "vacuum" and fact.full):
            return [(ACCESS_EXCLUSIVE, fact.target.key)]
        return []
    if isinstance(fact, f.Truncate):
        return [(ACCESS_EXCLUSIVE, t.key) for t in fact.tables]
    return []


def lock_table_mode(fact: f.Maintenance) -> str:
    """The mode a `LOCK TABLE ... IN <mode> MODE` fact asks for (the model keeps it as its
    `target_kind`); ACCESS EXCLUSIVE, Postgres's default, when it names none."""
    mode = fact.target_kind.upper()
    return mode if mode in BLOCKS else ACCESS_EXCLUSIVE
