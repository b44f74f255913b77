"""The words of verification: each round-trip or schema-file difference as a `Finding` a person can act on.

Rule ids: `up-fails`, `down-fails`, `down-missing`, `down-does-not-restore`,
`down-loses-data`, `reapply-up-fails`, `reapply-up-differs`, `schema-drift`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guard.db.snapshot import diff_snapshots
from guard.model import Finding, Migration, Severity
from guard.paths import display_path

if TYPE_CHECKING:
    from guard.db.execute import StatementFailure
    from guard.db.snapshot import Change, DataChange, Snapshot


def up_fails(m: Migration, failure: StatementFailure) -> Finding:
    """The up migration itself fails on the schema the earlier migrations build."""
    return finding(
        "up-fails", m, "up", failure.line, f"up of {m.id} fails: line {failure.line}: {failure.error}"
    )


def down_missing(m: Migration) -> Finding:
    """No down migration at all."""
    return finding(
        "down-missing",
        m,
        "up",
        1,
        f"{m.id} has no down migration, so it cannot be verified or rolled back",
        "write the down migration that undoes this up (or set require_down = false for a layout without downs);"
        " declare an up Postgres cannot undo with `-- guard: irreversible reason: <why>`",
    )


def down_fails(m: Migration, failure: StatementFailure) -> Finding:
    """The down migration fails on the schema its up leaves."""
    return finding(
        "down-fails",
        m,
        "down",
        failure.line,
        f"down of {m.id} fails: line {failure.line}: {failure.error}",
        "fix the down migration so it runs on the schema its up leaves",
    )


def down_changed(m: Migration, c: Change) -> Finding:
    """After up then down, the schema differs from before up."""
    return finding("down-does-not-restore", m, "down", 1, *down_words(m, c))


def data_lost(m: Migration, dc: DataChange) -> Finding:
    """After up then down, a table's rows differ from before up."""
    return finding(
        "down-loses-data",
        m,
        "down",
        1,
        f"up then down of {m.id} loses data in table {dc.table_display}: {dc.describe()}",
        "keep the old data until the contract step (copy it aside in up, restore it in down), "
        "or mark the change irreversible and review it",
    )


def reapply_fails(m: Migration, failure: StatementFailure) -> Finding:
    """Up fails the second time (usually: the down left something behind)."""
    return finding(
        "reapply-up-fails",
        m,
        "up",
        failure.line,
        f"re-applying up of {m.id} after its down fails: line {failure.line}: {failure.error}",
        "the down migration must remove everything the up creates",
    )


def reapply_changed(m: Migration, c: Change) -> Finding:
    """The second up gives another schema than the first."""
    return finding("reapply-up-differs", m, "up", 1, *reup_words(m, c))


def reapply_data(m: Migration, dc: DataChange) -> Finding:
    """The second up gives other table contents than the first."""
    return finding(
        "reapply-up-differs",
        m,
        "up",
        1,
        f"re-applying up of {m.id} gives different data in table {dc.table_display}: {dc.describe()}",
        "make up and down exact inverses for the rows they touch",
    )


def down_words(m: Migration, c: Change) -> tuple[str, str]:
    """(message, fix) for a schema difference left by a down migration."""
    if c.change == "extra":
        return f"down of {m.id} leaves {c.label} behind", f"drop {c.label} in the down migration"
    if c.change == "missing":
        return (
            f"down of {m.id} does not restore {c.label} (it existed before up)",
            f"re-create {c.label} in the down migration",
        )
    return (
        f"down of {m.id} leaves {c.label} changed: {c.describe_details()}",
        f"make the down migration put {c.label} back as it was",
    )


def reup_words(m: Migration, c: Change) -> tuple[str, str]:
    """(message, fix) for a difference between the first up and the re-applied up."""
    if c.change == "extra":
        return (
            f"re-applying up of {m.id} creates {c.label}, which the first up did not",
            "make the down migration remove exactly what the up creates",
        )
    if c.change == "missing":
        return (
            f"re-applying up of {m.id} does not create {c.label} again",
            "make the down migration remove exactly what the up creates",
        )
    return (
        f"re-applying up of {m.id} gives a different {c.label}: {c.describe_details()}",
        "make the down migration remove exactly what the up creates",
    )


def finding(rule: str, m: Migration, side: str, line: int, message: str, fix: str = "") -> Finding:
    """An error finding on the up or down file of `m`."""
    path = m.down_path if side == "down" and m.down_path is not None else m.up_path
    if side == "down" and m.down_path is not None and m.down_path == m.up_path:
        line = max(line, m.down_line)
    return Finding(
        rule=rule,
        severity=Severity.ERROR,
        file=display_path(path),
        line=max(1, line),
        message=message,
        fix=fix,
        migration=m.id,
    )


# --- schema file ---------------------------------------------------------------------------------------


def schema_drift(expected: Snapshot, actual: Snapshot, schema_name: str) -> list[Finding]:
    """Findings for every object where the schema file and the migrations' schema differ."""
    findings = []
    for c in diff_snapshots(expected, actual):
        if c.change == "missing":
            message = f"schema file has {c.label}, the migrations do not create it"
            fix = "add a migration that creates it, or regenerate the schema file with --write-schema"
        elif c.change == "extra":
            message = f"the migrations create {c.label}, the schema file does not have it"
            fix = "regenerate the schema file with --write-schema and commit it"
        else:
            details = "; ".join(
                f"{attr.replace('_', ' ')}: schema file has {_plain(exp)}, the migrations give {_plain(act)}"
                for attr, exp, act in c.details
            )
            message = f"{c.label} differs: {details}"
            fix = "regenerate the schema file with --write-schema, or fix the migration"
        findings.append(
            Finding(
                rule="schema-drift",
                severity=Severity.ERROR,
                file=schema_name,
                line=1,
                message=message,
                fix=fix,
            )
        )
    return findings


def _plain(value: Any) -> str:
    if value is None:
        return "(none)"
    text = " ".join(str(value).split())
    return text if len(text) <= 120 else text[:117] + "..."
