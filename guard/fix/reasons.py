"""Why `fix` leaves a finding for a person, per rule (shown next to each one it cannot fix)."""

from __future__ import annotations


def why_not(rule: str) -> str:
    """The reason `fix` has no rewrite for `rule`."""
    return _REASONS.get(rule, "no safe rewrite is known without a decision only a person can make")


_DROPS = "a drop has no expand step: ship the code that stops using it, then drop it in a contract migration"
_REASONS = {
    "avoid-drop-table": _DROPS,
    "avoid-drop-column": _DROPS,
    "avoid-drop-view": _DROPS,
    "avoid-drop-function": _DROPS,
    "avoid-drop-type": _DROPS,
    "avoid-drop-sequence": _DROPS,
    "avoid-drop-schema": _DROPS,
    "avoid-drop-database": _DROPS,
    "avoid-truncate": "which rows to delete is a decision fix cannot make",
    "require-where-clause": "which rows to change is a decision fix cannot make",
    "require-default-for-not-null": "the value existing rows get is a decision fix cannot make",
    "require-down-migration": "a down migration has to be written by hand",
    "avoid-noop-down-migration": "a down migration has to be written by hand",
    "invalid-directive": "the directive's intent is not known",
    "avoid-rename-schema": "every qualified name moves: objects have to move one by one over several releases",
    "avoid-rename-enum-value": "rows and code have to move to a new value over a release; see `explain`",
    "avoid-rename-object": "the new object has to be created next to the old one by hand; see `explain`",
    "avoid-exclusion-constraint": "an exclusion constraint cannot be added NOT VALID or from a prebuilt index",
    "avoid-vacuum-full": "a rewrite without ACCESS EXCLUSIVE needs a tool such as pg_repack",
    "avoid-cluster": "a rewrite without ACCESS EXCLUSIVE needs a tool such as pg_repack",
    "avoid-set-tablespace": "a move without ACCESS EXCLUSIVE needs a tool such as pg_repack",
    "avoid-set-logged": "switching persistence always rewrites the table",
    "hold-access-exclusive": "splitting the data change from the DDL needs its own down migration, written by hand",
    "require-not-null-before-primary-key": "fix SET NOT NULL on the key columns first (a migration of its own)",
    "contract-needs-earlier-expand": "which expand migration this contract completes is not known",
    "nested-transaction": "which transaction boundaries were meant is not known",
    "uncommitted-transaction": "where the transaction should end is not known",
    "concurrent-in-transaction": "which of the file's statements belong in the transaction is not known",
    "require-concurrent-detach": "DETACH ... CONCURRENTLY leaves a CHECK constraint on the partition that the down"
    " migration has to drop by its generated name, written by hand",
    "avoid-destructive-dynamic-sql": "the dynamic SQL has to be written out as plain statements by hand",
}
