"""Change-set rules: what a change does to migrations that already reached the base branch.

These are records only (`external_rule`): the findings come from `guard.lint.changeset`,
which compares the working tree with the merge base of `--base REF`.
"""

from __future__ import annotations

from guard.lint.registry import external_rule
from guard.model import Severity

avoid_changing_merged_migration = external_rule(
    id="avoid-changing-merged-migration",
    severity=Severity.ERROR,
    family="changeset",
    summary="A migration that is already on the base branch was edited, deleted or renamed.",
    why="""
        Once a migration is merged it has run (or is about to run) in every environment, and the
        runners record it by version and checksum. Editing it changes nothing in databases where it
        already ran, so environments silently diverge; the runner then reports checksum drift or,
        with other tools, the edit is never applied at all. Deleting or renaming it makes runners
        forget it ran, or run it twice. Whitespace and line-ending edits count too: the checksum
        changes all the same.
    """,
    fix="""
        Restore the merged migration byte for byte (`git checkout origin/main -- <file>`), then put
        the change in a NEW migration with a later version.
    """,
    bad="-- 20240101000000_add_users/up.sql, already on main, edited in this branch\nCREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);",
    good="-- 20240301000000_add_users_email/up.sql, a new migration\nALTER TABLE users ADD COLUMN email text;",
)

require_later_version = external_rule(
    id="require-later-version",
    severity=Severity.ERROR,
    family="changeset",
    summary="A new migration's version is not later than every migration on the base branch.",
    why="""
        Runners apply pending migrations in version order. A new migration older than one already
        merged runs out of order in fresh databases (before a migration it was not written against)
        and, with runners that only apply versions newer than the last one recorded, never runs at
        all in existing databases. This usually happens when a long-lived branch is merged after
        others.
    """,
    fix="Rename the migration (file or folder) to a version later than the newest one on the base branch; the message suggests one.",
    bad="main has 20240301000000_add_orders; this branch adds 20240215000000_add_index",
    good="this branch adds 20240302090000_add_index",
)

separate_expand_and_contract = external_rule(
    id="separate-expand-and-contract",
    severity=Severity.ERROR,
    family="changeset",
    summary="A contract migration and the expand it completes are in the same change.",
    why="""
        Expand / migrate / contract only protects a deploy when the contract ships after the expand
        has been live everywhere: old application instances keep using the old column or table
        until the new release has fully rolled out. Shipping both in one pull request runs the
        destructive step while the old code still depends on what it removes.
    """,
    fix="Merge and deploy the expand first; open a separate pull request with the contract (`-- guard: contract <expand-version>`) after the contract window has passed.",
    bad="one pull request adds 20240301000000_add_email_new and 20240301000100_drop_email (-- guard: contract 20240301000000)",
    good="pull request 1 adds 20240301000000_add_email_new; pull request 2, days later, adds 20240305000000_drop_email",
)

wait_for_contract_window = external_rule(
    id="wait-for-contract-window",
    severity=Severity.ERROR,
    family="changeset",
    summary="A contract migration is merged before its expand has been on the base branch for the contract window.",
    why="""
        The window (`contract_window_hours`, 48 by default) is how long old application code may
        still use what the contract removes. In production the runner measures it from when the
        expand was applied and stops every deploy before a contract whose window has not opened
        (exit 3), holding back every migration merged behind it. Measured here from when the expand
        reached the base branch (its merge commit's time), the pull request waits instead of the
        deploys.
    """,
    fix="Merge the contract after the time the message gives; until then keep the pull request open or in draft.",
    bad="main got 20240301000000_add_email_new an hour ago; this pull request adds 20240301000100_drop_email (-- guard: contract 20240301000000)",
    good="the same pull request, merged 48 hours after 20240301000000_add_email_new reached main",
)

require_schema_file_sync = external_rule(
    id="require-schema-file-sync",
    severity=Severity.ERROR,
    family="changeset",
    summary="The schema file changed without a new migration, or a new migration came without a schema file update.",
    why="""
        The committed schema file is what application code and reviewers read; the migrations are
        what the databases run. A schema edit without a migration means code will expect schema that
        no database has; a migration without a schema edit leaves the file stale, and the next
        reviewer trusts the wrong picture.
    """,
    fix="Change both in the same pull request: add the migration and regenerate the schema file (`migration-guard verify --write-schema <file>`).",
    bad="a pull request edits schema.json only",
    good="a pull request adds 20240301000000_add_email/up.sql and the matching change to schema.json",
)
