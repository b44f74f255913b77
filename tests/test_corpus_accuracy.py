"""Accuracy on real migrations (../shared/corpus): representative dangerous statements are found,
safe ones stay quiet. Each case names the file and the statement that decides it.

False positives found on the corpus and fixed (kept here as regression cases):
- openmeter `..._billing-profile-progressive-billing-flag`: `ALTER TABLE a ADD COLUMN ...; ALTER
  TABLE b ADD COLUMN ...` was reported as holding ACCESS EXCLUSIVE on a while locking b; the
  hold rule now reports only backfills run under the lock.
- `ADD COLUMN flag boolean DEFAULT NULL` read `NULL` as a separate constraint and the default as
  empty, so Postgres < 11 saw a rewrite that does not happen.
- bionic-gpt `20260727094224_reveal-presentation-builder-skill`: `WITH ... INSERT ... ON CONFLICT
  DO UPDATE SET ...` was read as an UPDATE without WHERE (`require-where-clause`, "UPDATE on SET").

Misses found by `scripts/compare_squawk.py` and fixed:
- Hasura `1697106868052_rename_old_mv_with_new`: `ALTER MATERIALIZED VIEW ..._new RENAME TO ...`
  was not reported (now `avoid-rename-object`; the swap half that gives the old name to the
  replacement in the same transaction stays quiet, as do Prisma's enum swaps).
"""

from __future__ import annotations

import pytest
from conftest import CORPUS
from rules_helpers import fired

pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason="corpus not present (../shared/corpus)")

HASURA = "Mission-Prerna__nl-hasura-migrations/migrations/default"
OPENMETER = "openmeterio__openmeter/tools/migrate/migrations"
TRIGGER = "triggerdotdev__trigger.dev/internal-packages/database/prisma/migrations"
BIONIC = "bionic-gpt__bionic-gpt/crates/db/migrations"


def lint_file(relative: str, **settings: object) -> set[str]:
    path = CORPUS / relative
    if not path.exists():
        pytest.skip(f"{relative} not in this corpus checkout")
    return fired(path.read_text(encoding="utf-8"), **settings)


@pytest.mark.parametrize(
    ("relative", "rule"),
    [
        # alter table "public"."assessments" add constraint ... foreign key ("block_id") references ...
        (f"{HASURA}/1695886960852_set_fk_public_assessments_block_id/up.sql", "require-not-valid-constraint"),
        # alter table ... alter column "student_name" set not null;
        (
            f"{HASURA}/1680609004122_alter_table_public_assessment_visit_results_students_alter_column_student_name/up.sql",
            "avoid-set-not-null",
        ),
        # CREATE INDEX "assessment_visit_results_student_odk_results_2023_jul_sep_key_idx" on ... (65 bytes)
        (
            f"{HASURA}/1695983873497_create_index_assessment_visit_results_student_odk_results_2023_jul_sep_key_idx/up.sql",
            "require-concurrent-index",
        ),
        (
            f"{HASURA}/1695983873497_create_index_assessment_visit_results_student_odk_results_2023_jul_sep_key_idx/up.sql",
            "identifier-too-long",
        ),
        # alter table ... add constraint "nyay_panchayats_name_district_id_block_id_key" unique (...)
        (
            f"{HASURA}/1680181890480_alter_table_public_nyay_panchayats_add_unique_name_district_id_block_id/up.sql",
            "require-unique-index-first",
        ),
        # ALTER TABLE "TaskRun" ADD COLUMN "taskIdentifier" TEXT NOT NULL;
        (
            f"{TRIGGER}/20240116165157_add_task_identifier_to_task_runs/migration.sql",
            "require-default-for-not-null",
        ),
        # ALTER TABLE rate_limits ADD COLUMN tpm_limit INT NOT NULL;
        (f"{BIONIC}/20240606061822_token_limits.sql", "require-default-for-not-null"),
        # ADD COLUMN created_by INT NOT NULL DEFAULT 0; ... ALTER COLUMN created_by DROP DEFAULT;
        # (the running release inserts without created_by)
        (f"{BIONIC}/20240520074506_dataset_privacy.sql", "require-default-for-not-null"),
        (
            f"{OPENMETER}/20250108103427_billing-profile-progressive-billing-flag.up.sql",
            "require-default-for-not-null",
        ),
        # ALTER TABLE plans ...; UPDATE plans SET ... (backfill under the ALTER's lock)
        (f"{OPENMETER}/20250610101736_plan-subscription-billing-cadence.up.sql", "hold-access-exclusive"),
    ],
)
def test_dangerous_statements_are_found(relative: str, rule: str) -> None:
    assert rule in lint_file(relative)


@pytest.mark.parametrize(
    ("relative", "quiet"),
    [
        # CREATE INDEX CONCURRENTLY IF NOT EXISTS ... alone in its Prisma migration
        (
            f"{TRIGGER}/20250912153951_add_waitpoint_dashboard_index/migration.sql",
            {"require-concurrent-index", "concurrent-in-transaction"},
        ),
        # DROP INDEX CONCURRENTLY IF EXISTS "BulkActionItem_friendlyId_key"; alone
        (
            f"{TRIGGER}/20250616084546_bulk_action_item_drop_friendly_id_unique_constraint/migration.sql",
            {"require-concurrent-index-drop", "concurrent-in-transaction"},
        ),
        # CREATE TABLE "Workflow" (...); ... ALTER TABLE "Workflow" ADD CONSTRAINT ... FOREIGN KEY: new tables
        # (the file's CREATE UNIQUE INDEX on the existing "User" table is rightly reported)
        (
            f"{TRIGGER}/20221207113401_user_organization_workflow/migration.sql",
            {"require-not-valid-constraint", "require-unique-index-first"},
        ),
        # two tables each get a column (one NOT NULL DEFAULT FALSE): no rewrite, no backfill (its
        # DROP DEFAULT right after is `require-default-for-not-null`: see the dangerous list)
        (
            f"{OPENMETER}/20250108103427_billing-profile-progressive-billing-flag.up.sql",
            {"hold-access-exclusive", "avoid-volatile-default"},
        ),
    ],
)
def test_safe_statements_stay_quiet(relative: str, quiet: set[str]) -> None:
    assert not (lint_file(relative) & quiet)


ROLL_NO = f"{HASURA}/1693905311711_alter_table_public_students_alter_column_roll_no/up.sql"
STUDENTS = f"{HASURA}/1693573106131_create_table_students/up.sql"


def test_a_widening_type_change_is_a_rewrite_once_its_old_type_is_known() -> None:
    """`ALTER TABLE "public"."students" ALTER COLUMN "roll_no" TYPE int4;` after `CREATE TABLE
    students (... roll_no SMALLINT ...)`: readers keep working, the table is rewritten."""
    from rules_helpers import lint_sql

    if not (CORPUS / ROLL_NO).exists() or not (CORPUS / STUDENTS).exists():
        pytest.skip("the students migrations are not in this corpus checkout")
    earlier = ((CORPUS / STUDENTS).read_text(encoding="utf-8"),)
    found = {f.rule for f in lint_sql((CORPUS / ROLL_NO).read_text(encoding="utf-8"), earlier=earlier)}
    assert "avoid-type-change-rewrite" in found
    # Alone, its old type is unknown: a change readers may not expect, reported once, by the other rule.
    alone = {f.rule for f in lint_sql((CORPUS / ROLL_NO).read_text(encoding="utf-8"))}
    assert "avoid-column-type-change" in alone and "avoid-type-change-rewrite" not in alone


def destructive_rules(relative: str) -> set[str]:
    """Every rule id (all families) that fired on one corpus file."""
    from rules_helpers import lint_sql

    path = CORPUS / relative
    if not path.exists():
        pytest.skip(f"{relative} not in this corpus checkout")
    return {f.rule for f in lint_sql(path.read_text(encoding="utf-8"))}


def test_materialized_view_rename_is_found_and_the_swap_half_is_not() -> None:
    relative = f"{HASURA}/1697106868052_rename_old_mv_with_new/up.sql"
    from rules_helpers import lint_sql

    path = CORPUS / relative
    if not path.exists():
        pytest.skip(f"{relative} not in this corpus checkout")
    lines = sorted(
        f.line for f in lint_sql(path.read_text(encoding="utf-8")) if f.rule == "avoid-rename-object"
    )
    # lines 1-2 move the old views away and lines 3-4 give their names to the _new views (a swap);
    # the _new names disappear, which the running release may still query
    assert lines == [3, 4]


@pytest.mark.parametrize(
    ("relative", "quiet"),
    [
        # ALTER TYPE "TriggerEventStatus" RENAME TO "..._old"; ALTER TYPE "..._new" RENAME TO "TriggerEventStatus"
        (
            f"{TRIGGER}/20221227191746_renamed_processed_to_dispatch_for_events/migration.sql",
            {"avoid-rename-object"},
        ),
        # ALTER INDEX "subject_namespace_key_deleted_at" RENAME TO "..._unique": clients never name indexes
        (f"{OPENMETER}/20251027102800_improve-subject-indexes.up.sql", {"avoid-rename-object"}),
        # WITH skill AS (...) INSERT ... ON CONFLICT (...) DO UPDATE SET ...: an upsert, not an unbounded UPDATE
        (f"{BIONIC}/20260727094224_reveal-presentation-builder-skill.sql", {"require-where-clause"}),
    ],
)
def test_safe_statements_stay_quiet_in_every_family(relative: str, quiet: set[str]) -> None:
    assert not (destructive_rules(relative) & quiet)
