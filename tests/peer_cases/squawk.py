"""Cases from sbdchd/squawk's rule tests (`crates/squawk_linter/src/rules/*.rs`, inline tests
and their snapshots). squawk lints each file on its own; tests that call
`lint_with_assume_in_transaction` / `assume_in_transaction: true` run with our
`transaction = true`, the others with `transaction = false` (squawk's default).
"""

from __future__ import annotations

from typing import Any

from peer_cases import Case, make_case

REPO = "sbdchd/squawk:crates/squawk_linter/src/rules/"

#: squawk rule -> migration-guard rules covering the same danger (empty: none, by design).
RULE_MAP: dict[str, tuple[str, ...]] = {
    "adding-field-with-default": ("avoid-volatile-default",),
    "adding-foreign-key-constraint": ("require-not-valid-constraint",),
    "adding-not-nullable-field": ("avoid-set-not-null",),
    "adding-required-field": ("require-default-for-not-null",),
    "adding-serial-primary-key-field": ("require-unique-index-first",),
    "ban-alter-domain-with-add-constraint": ("require-not-valid-domain-constraint",),
    "ban-char-field": ("avoid-char-type",),
    "ban-concurrent-index-creation-in-transaction": ("concurrent-in-transaction",),
    # A new domain is used by no column yet: nothing is locked or scanned (see notes).
    "ban-create-domain-with-constraint": (),
    "ban-drop-column": ("avoid-drop-column",),
    "ban-drop-database": ("avoid-drop-database",),
    # Dropping NOT NULL is metadata-only and accepts more rows than before (see notes).
    "ban-drop-not-null": (),
    "ban-drop-table": ("avoid-drop-table",),
    "ban-truncate-cascade": ("avoid-truncate",),
    "ban-uncommitted-transaction": ("uncommitted-transaction",),
    "changing-column-type": ("avoid-column-type-change", "avoid-type-change-rewrite"),
    "constraint-missing-not-valid": (
        "require-not-valid-constraint",
        "validate-constraint-separately",
        "require-unique-index-first",
        "avoid-exclusion-constraint",
    ),
    "disallowed-unique-constraint": ("require-unique-index-first",),
    "prefer-bigint-over-int": ("prefer-bigint-key",),
    "prefer-bigint-over-smallint": ("prefer-bigint-key",),
    "prefer-identity": ("prefer-identity",),
    "prefer-text-field": ("prefer-text",),
    "prefer-timestamptz": ("prefer-timestamptz",),
    "renaming-column": ("avoid-rename-column",),
    "renaming-table": ("avoid-rename-table",),
    "require-concurrent-index-creation": ("require-concurrent-index",),
    "require-concurrent-index-deletion": ("require-concurrent-index-drop",),
    "require-concurrent-reindex": ("require-concurrent-reindex",),
    "require-concurrent-partition-detach": ("require-concurrent-detach",),
    "require-enum-value-ordering": ("enum-value-order",),
    "require-timeout-settings": ("require-timeouts",),
}

NO_TX = {"transaction": False}
TX = {"transaction": True}


def c(path: str, test: str, peer_rule: str, flags: bool, sql: str, **kw: Any) -> Case:
    """A squawk case; a test name starting with `~` marks a derived variant."""
    kw.setdefault("settings", NO_TX)
    if test.startswith("~"):
        test, kw["derived"] = test[1:], True
    return make_case(
        RULE_MAP,
        peer="squawk",
        source=f"{REPO}{path}#{test}",
        peer_rule=peer_rule,
        peer_flags=flags,
        sql=sql,
        **kw,
    )


AFD = "adding_field_with_default.rs"
FWD = "adding-field-with-default"
_afd = [
    c(
        AFD,
        "docs_example_ok_post_pg_11",
        FWD,
        False,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" integer DEFAULT 10;',
    ),
    c(
        AFD,
        "docs_example_ok",
        FWD,
        False,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" integer;\nALTER TABLE "core_recipe" ALTER COLUMN "foo" SET DEFAULT 10;',
    ),
    c(
        AFD,
        "default_uuid_error_multi_stmt",
        FWD,
        True,
        "alter table t set logged, add column c integer default uuid();",
        expect=["avoid-volatile-default", "avoid-set-logged"],
    ),
    c(
        AFD,
        "default_uuid_error",
        FWD,
        True,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" integer DEFAULT uuid();',
    ),
    c(
        AFD,
        "default_volatile_func_err",
        FWD,
        True,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" boolean DEFAULT random();',
    ),
    c(AFD, "default_bool_ok", FWD, False, 'ALTER TABLE "core_recipe" ADD COLUMN "foo" boolean DEFAULT true;'),
    c(
        AFD,
        "default_str_ok",
        FWD,
        False,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" text DEFAULT \'some-str\';',
    ),
    c(
        AFD,
        "default_enum_ok",
        FWD,
        False,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" some_enum_type DEFAULT \'my-enum-variant\';',
    ),
    c(
        AFD,
        "default_jsonb_ok",
        FWD,
        False,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" jsonb DEFAULT \'{}\'::jsonb;',
    ),
    c(
        AFD,
        "arbitrary_func_err",
        FWD,
        True,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" jsonb DEFAULT myjsonb();',
        note="an unknown function may be volatile; both tools fail closed",
    ),
    c(
        AFD,
        "default_random_with_args_err",
        FWD,
        True,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" timestamptz DEFAULT now(123);',
        expect=[],
        note="now() is STABLE whatever its arguments (now(123) is not even valid SQL, Postgres rejects it "
        "before locking anything); squawk only whitelists zero-argument calls. No rewrite happens.",
    ),
    c(
        AFD,
        "default_func_now_ok",
        FWD,
        False,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" timestamptz DEFAULT now();',
    ),
    c(
        AFD,
        "add_numbers_ok",
        FWD,
        True,
        "alter table account_metadata add column blah integer default 2 + 2;",
        expect=[],
        note="squawk's own comment says this should be okay: 2 + 2 is a constant expression, a fast default on "
        "Postgres 11+",
    ),
    c(
        AFD,
        "generated_stored_err",
        FWD,
        True,
        "ALTER TABLE foo\nADD COLUMN bar numeric GENERATED ALWAYS AS (bar + baz) STORED;",
    ),
    c(
        AFD,
        "docs_example_error_on_pg_11",
        FWD,
        True,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" integer DEFAULT 10;',
        pg_version=10,
    ),
    c(
        AFD,
        "~default_current_timestamp_ok",
        FWD,
        False,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" timestamptz DEFAULT CURRENT_TIMESTAMP;',
    ),
    c(
        AFD,
        "~default_gen_random_uuid_err",
        FWD,
        True,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" uuid DEFAULT gen_random_uuid();',
    ),
    c(
        AFD,
        "~default_clock_timestamp_err",
        FWD,
        True,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" timestamptz DEFAULT clock_timestamp();',
    ),
    c(
        AFD,
        "~default_cast_literal_ok",
        FWD,
        False,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" date DEFAULT \'2024-01-01\'::date;',
    ),
    c(
        AFD,
        "~default_null_ok",
        FWD,
        False,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" integer DEFAULT NULL;',
    ),
]

AFK = "adding_foreign_key_constraint.rs"
FK = "adding-foreign-key-constraint"
_afk = [
    c(
        AFK,
        "create_table_with_foreign_key_constraint",
        FK,
        False,
        """
BEGIN;
CREATE TABLE email (
    id BIGINT GENERATED ALWAYS AS IDENTITY,
    user_id BIGINT,
    email TEXT,
    PRIMARY KEY(id),
    CONSTRAINT fk_user
        FOREIGN KEY ("user_id")
        REFERENCES "user" ("id")
);
COMMIT;
""",
    ),
    c(
        AFK,
        "create_table_with_column_references",
        FK,
        False,
        """
CREATE TABLE table_name (
    id BIGSERIAL NOT NULL,
    my_fk_id INTEGER NOT NULL REFERENCES other_table (id) ON DELETE CASCADE
);
""",
    ),
    c(
        AFK,
        "alter_table_foreign_key_assume_transaction",
        FK,
        False,
        """
CREATE TABLE "emails" ("id" UUID NOT NULL, "user_id" UUID NOT NULL);
ALTER TABLE "emails" ADD CONSTRAINT "fk_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id");
""",
        settings=TX,
    ),
    c(
        AFK,
        "alter_table_foreign_key_in_transaction",
        FK,
        False,
        """
BEGIN;
CREATE TABLE "emails" ("id" UUID NOT NULL, "user_id" UUID NOT NULL);
ALTER TABLE "emails" ADD CONSTRAINT "fk_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id");
COMMIT;
""",
    ),
    c(
        AFK,
        "add_foreign_key_constraint_not_valid_validate",
        FK,
        False,
        """
BEGIN;
ALTER TABLE "email" ADD COLUMN "user_id" INT;
ALTER TABLE "email" ADD CONSTRAINT "fk_user" FOREIGN KEY ("user_id") REFERENCES "user" ("id") NOT VALID;
ALTER TABLE "email" VALIDATE CONSTRAINT "fk_user";
COMMIT;
""",
        expect=["validate-constraint-separately"],
        note="squawk's constraint-missing-not-valid flags this VALIDATE too; only adding-foreign-key-constraint "
        "is quiet here",
    ),
    c(
        AFK,
        "add_foreign_key_constraint_lock",
        FK,
        True,
        """
BEGIN;
ALTER TABLE "email" ADD COLUMN "user_id" INT;
ALTER TABLE "email" ADD CONSTRAINT "fk_user" FOREIGN KEY ("user_id") REFERENCES "user" ("id");
COMMIT;
""",
    ),
    c(
        AFK,
        "add_column_references_lock",
        FK,
        True,
        """
BEGIN;
ALTER TABLE "emails" ADD COLUMN "user_id" INT REFERENCES "user" ("id");
COMMIT;
""",
    ),
]

ANN = "adding_not_null_field.rs"
NN = "adding-not-nullable-field"
_ann = [
    c(
        ANN,
        "set_not_null",
        NN,
        True,
        'ALTER TABLE "core_recipe" ALTER COLUMN "foo" SET NOT NULL;',
        pg_version=10,
    ),
    c(
        ANN,
        "adding_field_that_is_not_nullable",
        NN,
        False,
        """
BEGIN;
-- This will cause a table rewrite for Postgres versions before 11, but that is handled by
-- adding-field-with-default.
ALTER TABLE "core_recipe" ADD COLUMN "foo" integer DEFAULT 10 NOT NULL;
ALTER TABLE "core_recipe" ALTER COLUMN "foo" DROP DEFAULT;
COMMIT;
""",
        expect=["require-default-for-not-null"],
        note="dropping the default in the migration that added the NOT NULL column breaks the inserts "
        "of the release still running (they omit the column); squawk checks only the lock",
    ),
    c(
        ANN,
        "adding_field_that_is_not_nullable_without_default",
        NN,
        False,
        'ALTER TABLE "core_recipe" ADD COLUMN "foo" integer NOT NULL;',
        expect=["require-default-for-not-null"],
        note="squawk reports this under adding-required-field instead (see that rule's cases)",
    ),
    c(
        ANN,
        "adding_field_that_is_not_nullable_in_version_11",
        NN,
        False,
        """
BEGIN;
--
-- Add field foo to recipe
--
ALTER TABLE "core_recipe" ADD COLUMN "foo" integer NOT NULL DEFAULT 10;
COMMIT;
""",
    ),
    c(
        ANN,
        "pg12_without_validated_check_err",
        NN,
        True,
        'ALTER TABLE "core_recipe" ALTER COLUMN "foo" SET NOT NULL;',
        pg_version=12,
    ),
    c(
        ANN,
        "pg12_with_check_but_not_validated_err",
        NN,
        True,
        """
ALTER TABLE "core_recipe" ADD CONSTRAINT foo_not_null CHECK ("foo" IS NOT NULL) NOT VALID;
ALTER TABLE "core_recipe" ALTER COLUMN "foo" SET NOT NULL;
""",
        pg_version=12,
    ),
    c(
        ANN,
        "~pg12_with_validated_check_ok",
        NN,
        False,
        """
ALTER TABLE "core_recipe" VALIDATE CONSTRAINT foo_not_null;
ALTER TABLE "core_recipe" ALTER COLUMN "foo" SET NOT NULL;
""",
        pg_version=12,
        expect=["avoid-set-not-null"],
        note="we need to see the CHECK (foo IS NOT NULL) itself: a VALIDATE of a constraint whose expression "
        "is not in view proves nothing about foo, so we fail closed",
    ),
    c(
        ANN,
        "pg12_with_different_column_validated_err",
        NN,
        True,
        """
ALTER TABLE "core_recipe" ADD CONSTRAINT bar_not_null CHECK ("bar" IS NOT NULL) NOT VALID;
ALTER TABLE "core_recipe" VALIDATE CONSTRAINT bar_not_null;
ALTER TABLE "core_recipe" ALTER COLUMN "foo" SET NOT NULL;
""",
        pg_version=12,
        expect=["avoid-set-not-null", "validate-constraint-separately"],
        settings=TX,
        note="run as one transaction here, so the VALIDATE next to its ADD is flagged as well",
    ),
    c(
        ANN,
        "regression_gh_issue_628_pg11_with_validated_check_err",
        NN,
        True,
        """
ALTER TABLE "core_recipe" ADD CONSTRAINT foo_not_null CHECK ("foo" IS NOT NULL) NOT VALID;
ALTER TABLE "core_recipe" VALIDATE CONSTRAINT foo_not_null;
ALTER TABLE "core_recipe" ALTER COLUMN "foo" SET NOT NULL;
""",
        pg_version=11,
    ),
    c(
        ANN,
        "~pg12_cross_migration_validate_then_set_not_null_ok",
        NN,
        False,
        """
ALTER TABLE "core_recipe" ADD CONSTRAINT foo_not_null CHECK ("foo" IS NOT NULL) NOT VALID;
ALTER TABLE "core_recipe" VALIDATE CONSTRAINT foo_not_null;
ALTER TABLE "core_recipe" ALTER COLUMN "foo" SET NOT NULL;
""",
        pg_version=12,
    ),
]

ARF = "adding_required_field.rs"
RF = "adding-required-field"
_arf = [
    c(ARF, "nullable_ok", RF, False, 'ALTER TABLE "recipe" ADD COLUMN "public" boolean;'),
    c(
        ARF,
        "not_null_with_default",
        RF,
        False,
        'ALTER TABLE "recipe" ADD COLUMN "public" boolean NOT NULL DEFAULT true;',
    ),
    c(
        ARF,
        "not_null_without_default",
        RF,
        True,
        'ALTER TABLE "recipe" ADD COLUMN "public" boolean NOT NULL;',
    ),
    c(
        ARF,
        "generated_stored_not_null_ok",
        RF,
        False,
        "ALTER TABLE foo\n    ADD COLUMN bar numeric GENERATED ALWAYS AS (bar + baz) STORED NOT NULL;",
        expect=["avoid-volatile-default"],
        note="a stored generated column rewrites the table (squawk's adding-field-with-default flags it too)",
    ),
    c(
        ARF,
        "generated_stored_ok",
        RF,
        False,
        "ALTER TABLE foo\n    ADD COLUMN bar numeric GENERATED ALWAYS AS (bar + baz) STORED ;",
        expect=["avoid-volatile-default"],
        note="a stored generated column rewrites the table (squawk's adding-field-with-default flags it too)",
    ),
]

APK = "adding_primary_key_constraint.rs"
PK = "adding-serial-primary-key-field"
_apk = [
    c(
        APK,
        "serial_primary_key",
        PK,
        True,
        "ALTER TABLE a ADD COLUMN b SERIAL PRIMARY KEY;",
        expect=["require-unique-index-first", "avoid-volatile-default"],
    ),
    c(APK, "plain_primary_key", PK, True, "ALTER TABLE items ADD PRIMARY KEY (id);"),
    c(
        APK,
        "okay_add_constraint",
        PK,
        False,
        "ALTER TABLE items ADD CONSTRAINT items_pk PRIMARY KEY USING INDEX items_pk;",
        expect=["require-not-null-before-primary-key"],
        note="the index columns' nullability is unknown (no earlier migration declares them), and for a nullable one ADD PRIMARY KEY USING INDEX runs SET NOT NULL under ACCESS EXCLUSIVE: require-not-null-before-primary-key fails closed",
    ),
]

ADC = "ban_alter_domain_with_add_constraint.rs"
ADR = "ban-alter-domain-with-add-constraint"
_adc = [
    c(ADC, "err", ADR, True, "ALTER DOMAIN domain_name ADD CONSTRAINT constraint_name CHECK (value > 0);"),
    c(
        ADC,
        "ok#set_not_null",
        ADR,
        False,
        "ALTER DOMAIN domain_name_2 SET NOT NULL;",
        expect=["require-not-valid-domain-constraint"],
        note="SET NOT NULL on a domain scans every column of that domain under a SHARE lock, like ADD "
        "CONSTRAINT; the non-blocking way is CHECK (VALUE IS NOT NULL) NOT VALID, validated later",
    ),
    c(ADC, "ok#drop_constraint", ADR, False, "ALTER DOMAIN domain_name_3 DROP CONSTRAINT other_domain_name;"),
    c(
        ADC,
        "ok#rename_constraint",
        ADR,
        False,
        "ALTER DOMAIN domain_name_4 RENAME CONSTRAINT constraint_name TO other_constraint_name;",
    ),
    c(
        ADC,
        "ok#rename",
        ADR,
        False,
        "ALTER DOMAIN domain_name_5 RENAME TO other_domain_name;",
        expect=["avoid-rename-object"],
        note="no domain constraint here, but renaming a domain breaks casts to its old name in the running "
        "release (squawk's renaming-object)",
    ),
    c(ADC, "ok#validate", ADR, False, "ALTER DOMAIN domain_name_6 VALIDATE CONSTRAINT constraint_name;"),
    c(ADC, "ok#owner", ADR, False, "ALTER DOMAIN domain_name_7 OWNER TO you;"),
    c(
        ADC,
        "ok#set_schema",
        ADR,
        False,
        "ALTER DOMAIN domain_name_8 SET SCHEMA foo;",
        expect=["avoid-rename-object"],
        note="no domain constraint here, but moving a domain breaks casts to its old name in the running "
        "release (squawk's ban-set-schema)",
    ),
    c(
        ADC,
        "~not_valid_ok",
        ADR,
        True,
        "ALTER DOMAIN domain_name ADD CONSTRAINT constraint_name CHECK (value > 0) NOT VALID;",
        expect=[],
        note="with NOT VALID, Postgres checks only new values; existing rows are checked by a later "
        "VALIDATE CONSTRAINT without blocking writes. squawk bans domain constraints as policy.",
    ),
]

CDC = "ban_create_domain_with_constraint.rs"
CDR = "ban-create-domain-with-constraint"
_cdc_note = (
    "a domain created in this migration is used by no column yet, so its constraint locks and scans "
    "nothing; the danger is adding a constraint to a domain in use, which we flag"
)
_cdc = [
    c(
        CDC,
        "err",
        CDR,
        True,
        "CREATE DOMAIN domain_name_3 AS NUMERIC(15,5) CHECK (value > 0);",
        note=_cdc_note,
    ),
    c(
        CDC,
        "err_with_multiple_constraints",
        CDR,
        True,
        "create domain d as t check (value > 0) not null;",
        note=_cdc_note,
    ),
    c(CDC, "ok#text", CDR, False, "CREATE DOMAIN domain_name_1 AS TEXT;"),
    c(CDC, "ok#varying", CDR, False, "CREATE DOMAIN domain_name_2 AS CHARACTER VARYING;"),
]

BCF = "ban_char_field.rs"
CF = "ban-char-field"
_bcf = [
    c(
        BCF,
        "creating_table_with_char_errors",
        CF,
        True,
        """
CREATE TABLE "core_bar" (
    "id" serial NOT NULL PRIMARY KEY,
    "alpha" char(100) NOT NULL,
    "beta" character(100) NOT NULL,
    "charlie" char NOT NULL,
    "delta" character NOT NULL
);
""",
        expect=["avoid-char-type", "prefer-identity", "prefer-bigint-key"],
    ),
    c(
        BCF,
        "creating_table_with_var_char_and_text_okay",
        CF,
        False,
        """
CREATE TABLE "core_bar" (
    "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "alpha" varchar(100) NOT NULL,
    "beta" text NOT NULL
);
""",
        expect=["prefer-text"],
    ),
    c(
        BCF,
        "~all_the_types",
        CF,
        True,
        """
create table t (
    a bigint generated always as identity primary key,
    b char(100),
    f double precision,
    g time with time zone,
    h interval,
    j int[5][10],
    k bar(10),
    l bit varying,
    m int array[],
    p char[]
);
""",
    ),
    c(BCF, "case_insensitive", CF, True, "create table t (\n  a Char\n);"),
    c(BCF, "array_char_type_err", CF, True, "create table t (\n  a char[]\n);"),
    c(BCF, "alter_table_err", CF, True, "alter table t add column c char;"),
    c(BCF, "fix_char_without_length#char", CF, True, "CREATE TABLE t (c char);"),
    c(BCF, "fix_char_without_length#character", CF, True, "CREATE TABLE t (c character);"),
    c(BCF, "fix_char_without_length#bpchar", CF, True, "CREATE TABLE t (c bpchar);"),
    c(BCF, "fix_char_with_length#char", CF, True, "CREATE TABLE t (c char(100));"),
    c(BCF, "fix_char_with_length#character", CF, True, "CREATE TABLE t (c character(255));"),
    c(BCF, "fix_char_with_length#bpchar", CF, True, "CREATE TABLE t (c bpchar(50));"),
    c(BCF, "fix_mixed_case#CHAR", CF, True, "CREATE TABLE t (c CHAR);"),
    c(BCF, "fix_mixed_case#CHARACTER", CF, True, "CREATE TABLE t (c CHARACTER(100));"),
    c(BCF, "fix_mixed_case#Char", CF, True, "CREATE TABLE t (c Char(50));"),
    c(BCF, "fix_array_types#char", CF, True, "CREATE TABLE t (c char[]);"),
    c(BCF, "fix_array_types#character", CF, True, "CREATE TABLE t (c character(100)[]);"),
    c(BCF, "fix_alter_table#char", CF, True, "ALTER TABLE t ADD COLUMN c char;"),
    c(BCF, "fix_alter_table#character", CF, True, "ALTER TABLE t ADD COLUMN c character(100);"),
    c(BCF, "fix_multiple_columns", CF, True, "CREATE TABLE t (a char, b character(100), c bpchar(50));"),
    c(BCF, "~varchar_ok", CF, False, "CREATE TABLE t (c varchar);"),
    c(BCF, "~text_ok", CF, False, "CREATE TABLE t (c text);"),
]

BCI = "ban_concurrent_index_creation_in_transaction.rs"
CIT = "ban-concurrent-index-creation-in-transaction"
_bci = [
    c(
        BCI,
        "ban_concurrent_index_creation_in_transaction_err",
        CIT,
        True,
        """
-- instead of
BEGIN;
CREATE INDEX CONCURRENTLY "field_name_idx" ON "table_name" ("field_name");
COMMIT;
""",
    ),
    c(
        BCI,
        "ban_concurrent_index_creation_in_transaction_ok",
        CIT,
        False,
        """
-- run outside a transaction
CREATE INDEX CONCURRENTLY "field_name_idx" ON "table_name" ("field_name");
""",
    ),
    c(
        BCI,
        "assuming_in_transaction_err",
        CIT,
        True,
        """
-- instead of
CREATE UNIQUE INDEX CONCURRENTLY "field_name_idx" ON "table_name" ("field_name");
ALTER TABLE "table_name" ADD CONSTRAINT "field_name_id" UNIQUE USING INDEX "field_name_idx";
""",
        settings=TX,
    ),
    c(
        BCI,
        "assuming_in_transaction_ok",
        CIT,
        False,
        """
-- run index creation in a standalone migration
CREATE UNIQUE INDEX CONCURRENTLY "field_name_idx" ON "table_name" ("field_name");
""",
        settings=TX,
    ),
    c(
        BCI,
        "assuming_in_transaction_ok_also",
        CIT,
        False,
        """
-- the following will work too
COMMIT;
CREATE UNIQUE INDEX CONCURRENTLY "field_name_idx" ON "table_name" ("field_name");
BEGIN;
ALTER TABLE "table_name" ADD CONSTRAINT "field_name_id" UNIQUE USING INDEX "field_name_idx";
""",
        settings=TX,
        expect=["uncommitted-transaction", "transaction-control", "concurrent-in-transaction"],
        note="a file that opens a BEGIN and never commits it is our uncommitted-transaction error; squawk's "
        "assume-in-transaction trick relies on the runner's own COMMIT, and the leading COMMIT ends the "
        "runner's transaction part-way (transaction-control); the runner runs the file in one transaction, "
        "so the CONCURRENTLY shares it (concurrent-in-transaction)",
    ),
    c(
        BCI,
        "~reindex_concurrently_in_transaction",
        CIT,
        False,
        """
BEGIN;
REINDEX INDEX CONCURRENTLY "field_name_idx";
COMMIT;
""",
        expect=["concurrent-in-transaction"],
        note="squawk's rule only looks at CREATE INDEX; REINDEX CONCURRENTLY fails inside a transaction block too",
    ),
]

BDC = "ban_drop_column.rs"
_bdc = [
    c(BDC, "err", "ban-drop-column", True, 'ALTER TABLE "bar_tbl" DROP COLUMN "foo_col" CASCADE;'),
    c(
        BDC,
        "other_columns#foreign_table",
        "ban-drop-column",
        True,
        "ALTER FOREIGN TABLE ft DROP COLUMN a;",
        expect=["unanalysed-statement"],
        note="the parser does not structure ALTER FOREIGN TABLE, so it is reported as unanalysed (fail closed, a "
        "warning) rather than judged; a foreign table holds no local rows, so no lock or data loss is at stake",
    ),
    c(
        BDC,
        "~if_exists_err",
        "ban-drop-column",
        True,
        'ALTER TABLE "bar_tbl" DROP COLUMN IF EXISTS "foo_col";',
    ),
]

BDD = "ban_drop_database.rs"
_bdd = [
    c(BDD, "~ban_drop_database", "ban-drop-database", True, 'DROP DATABASE "table_name";'),
    c(
        BDD,
        "~ban_drop_database#if_exists",
        "ban-drop-database",
        True,
        'DROP DATABASE IF EXISTS "table_name";',
    ),
    c(
        BDD,
        "~ban_drop_database#force",
        "ban-drop-database",
        True,
        'DROP DATABASE IF EXISTS "table_name" WITH (FORCE);',
    ),
]

BDT = "ban_drop_table.rs"
_bdt = [
    c(BDT, "~err#plain", "ban-drop-table", True, 'DROP TABLE "table_name";'),
    c(BDT, "~err#if_exists", "ban-drop-table", True, 'DROP TABLE IF EXISTS "table_name";'),
    c(
        BDT,
        "~err#if_exists_schema",
        "ban-drop-table",
        True,
        'DROP TABLE IF EXISTS "schema_name"."table_name";',
    ),
    c(
        BDT,
        "~created_in_same_file_ok",
        "ban-drop-table",
        True,
        "CREATE TABLE tmp_import (id bigint);\nDROP TABLE tmp_import;",
        expect=[],
        note="a table created earlier in the same migration is new and unseen: dropping it loses nothing",
    ),
]

BDN = "ban_drop_not_null.rs"
_bdn = [
    c(
        BDN,
        "err",
        "ban-drop-not-null",
        True,
        'ALTER TABLE "bar_tbl" ALTER COLUMN "foo_col" DROP NOT NULL;',
        note="DROP NOT NULL is a catalog-only change (a brief ACCESS EXCLUSIVE, no scan) and the running release's "
        "writes keep working; it is the first step of the safe way to drop a column. Not a danger we gate.",
    ),
]

BTC = "ban_truncate_cascade.rs"
_btc = [
    c(BTC, "err", "ban-truncate-cascade", True, "truncate a, b, c cascade;"),
    c(
        BTC,
        "ok#several",
        "ban-truncate-cascade",
        False,
        "truncate a, b, c;",
        expect=["avoid-truncate"],
        note="every TRUNCATE in a migration deletes all rows under ACCESS EXCLUSIVE; we flag it with or "
        "without CASCADE",
    ),
    c(
        BTC,
        "ok#one",
        "ban-truncate-cascade",
        False,
        "truncate a;",
        expect=["avoid-truncate"],
        note="every TRUNCATE in a migration deletes all rows under ACCESS EXCLUSIVE; we flag it with or "
        "without CASCADE",
    ),
]

BUT = "ban_uncommitted_transaction.rs"
UT = "ban-uncommitted-transaction"
_but = [
    c(BUT, "uncommitted_transaction_err", UT, True, "BEGIN;\nCREATE TABLE users (id bigint);"),
    c(BUT, "committed_transaction_ok", UT, False, "BEGIN;\nCREATE TABLE users (id bigint);\nCOMMIT;"),
    c(BUT, "rolled_back_transaction_ok", UT, False, "BEGIN;\nCREATE TABLE users (id bigint);\nROLLBACK;"),
    c(BUT, "no_transaction_ok", UT, False, "CREATE TABLE users (id bigint);"),
    c(
        BUT,
        "multiple_transactions_last_uncommitted_err",
        UT,
        True,
        "BEGIN;\nCREATE TABLE users (id bigint);\nCOMMIT;\n\nBEGIN;\nCREATE TABLE posts (id bigint);",
    ),
    c(
        BUT,
        "start_transaction_uncommitted_err",
        UT,
        True,
        "START TRANSACTION;\nCREATE TABLE users (id bigint);",
    ),
    c(
        BUT,
        "nested_begin_only_last_uncommitted_err",
        UT,
        False,
        "BEGIN;\nBEGIN;\nCOMMIT;",
        expect=["nested-transaction"],
        note="a second BEGIN inside an open block is only a Postgres warning, and the COMMIT closes the one "
        "block; we flag the nested BEGIN as a mistake of its own",
    ),
    c(BUT, "begin_work_uncommitted_err", UT, True, "BEGIN WORK;\nCREATE TABLE users (id bigint);"),
    c(
        BUT,
        "fix_adds_commit_to_start_transaction",
        UT,
        True,
        "START TRANSACTION;\nCREATE TABLE posts (id bigint);",
    ),
]

CCT = "changing_column_type.rs"
CT = "changing-column-type"
_cct = [
    c(
        CCT,
        "err",
        CT,
        True,
        """
BEGIN;
--
-- Alter field edits on recipe
--
ALTER TABLE "core_recipe" ALTER COLUMN "edits" TYPE text USING "edits"::text;
COMMIT;
""",
        expect=["avoid-column-type-change"],
        note="the old type is unknown here (USING forces a rewrite anyway)",
    ),
    c(
        CCT,
        "another_err",
        CT,
        True,
        """
BEGIN;
--
-- Alter field foo on recipe
--
ALTER TABLE "core_recipe" ALTER COLUMN "foo" TYPE varchar(255) USING "foo"::varchar(255);
ALTER TABLE "core_recipe" ALTER COLUMN "foo" TYPE text USING "foo"::text;
COMMIT;
""",
        expect=["avoid-column-type-change"],
    ),
    c(
        CCT,
        "~set_data_type_err",
        CT,
        True,
        'ALTER TABLE "core_recipe" ALTER COLUMN "foo" SET DATA TYPE bigint;',
        expect=["avoid-column-type-change"],
    ),
    c(
        CCT,
        "~new_table_ok",
        CT,
        True,
        """
BEGIN;
CREATE TABLE "core_recipe" ("id" bigint, "foo" integer);
ALTER TABLE "core_recipe" ALTER COLUMN "foo" TYPE bigint;
COMMIT;
""",
        expect=[],
        note="the table was created in the same migration: no reader, no rows",
    ),
]

CMV = "constraint_missing_not_valid.rs"
MNV = "constraint-missing-not-valid"
_cmv = [
    c(
        CMV,
        "not_valid_validate_transaction_err",
        MNV,
        True,
        """
BEGIN;
ALTER TABLE "app_email" ADD CONSTRAINT "fk_user" FOREIGN KEY (user_id) REFERENCES "app_user" (id) NOT VALID;
ALTER TABLE "app_email" VALIDATE CONSTRAINT "fk_user";
COMMIT;
""",
        expect=["validate-constraint-separately"],
    ),
    c(
        CMV,
        "not_valid_validate_assume_transaction_err",
        MNV,
        True,
        """
ALTER TABLE "app_email" ADD CONSTRAINT "fk_user" FOREIGN KEY (user_id) REFERENCES "app_user" (id) NOT VALID;
ALTER TABLE "app_email" VALIDATE CONSTRAINT "fk_user";
""",
        settings=TX,
        expect=["validate-constraint-separately"],
    ),
    c(
        CMV,
        "not_valid_validate_with_assume_in_transaction_with_explicit_commit_err",
        MNV,
        True,
        """
ALTER TABLE "app_email" ADD CONSTRAINT "fk_user" FOREIGN KEY (user_id) REFERENCES "app_user" (id) NOT VALID;
ALTER TABLE "app_email" VALIDATE CONSTRAINT "fk_user";
COMMIT;
""",
        settings=TX,
        expect=["validate-constraint-separately", "transaction-control"],
        note="the COMMIT outside any BEGIN would end our runner's transaction part-way: the runner refuses it",
    ),
    c(
        CMV,
        "adding_fk_err",
        MNV,
        True,
        """
-- instead of
ALTER TABLE distributors ADD CONSTRAINT distfk FOREIGN KEY (address) REFERENCES addresses (address);
""",
    ),
    c(
        CMV,
        "adding_fk_not_valid_ok",
        MNV,
        False,
        """
-- use `NOT VALID`
ALTER TABLE distributors ADD CONSTRAINT distfk FOREIGN KEY (address) REFERENCES addresses (address) NOT VALID;
ALTER TABLE distributors VALIDATE CONSTRAINT distfk;
""",
    ),
    c(
        CMV,
        "adding_check_constraint_err",
        MNV,
        True,
        """
-- instead of
ALTER TABLE "accounts" ADD CONSTRAINT "positive_balance" CHECK ("balance" >= 0);
""",
        settings=TX,
    ),
    c(
        CMV,
        "adding_check_constraint_ok",
        MNV,
        False,
        """
-- use `NOT VALID`
ALTER TABLE "accounts" ADD CONSTRAINT "positive_balance" CHECK ("balance" >= 0) NOT VALID;
ALTER TABLE accounts VALIDATE CONSTRAINT positive_balance;
""",
    ),
    c(
        CMV,
        "new_table_with_transaction_ok",
        MNV,
        False,
        """
BEGIN;
CREATE TABLE "core_foo" (
"id" serial NOT NULL PRIMARY KEY,
"age" integer NOT NULL
);
ALTER TABLE "core_foo" ADD CONSTRAINT "age_restriction" CHECK ("age" >= 25);
COMMIT;
""",
    ),
    c(
        CMV,
        "new_table_assume_transaction_ok",
        MNV,
        False,
        """
CREATE TABLE "core_foo" (
"id" serial NOT NULL PRIMARY KEY,
"age" integer NOT NULL
);
ALTER TABLE "core_foo" ADD CONSTRAINT "age_restriction" CHECK ("age" >= 25);
""",
        settings=TX,
    ),
    c(
        CMV,
        "using_unique_index_ok",
        MNV,
        False,
        'ALTER TABLE "app_email" ADD CONSTRAINT "email_uniq" UNIQUE USING INDEX "email_idx";',
    ),
    c(
        CMV,
        "~primary_key_using_index",
        MNV,
        True,
        'ALTER TABLE "app_email" ADD CONSTRAINT "app_email_pkey" PRIMARY KEY USING INDEX "app_email_pkey_idx";',
        expect=["require-not-null-before-primary-key"],
        note="no NOT VALID needed (the index was built concurrently), but the index columns' nullability is "
        "unknown, and for a nullable one Postgres runs SET NOT NULL under ACCESS EXCLUSIVE: we fail closed",
    ),
    c(
        CMV,
        "~adding_unique_without_index",
        MNV,
        True,
        'ALTER TABLE "app_email" ADD CONSTRAINT "email_uniq" UNIQUE ("email");',
        expect=["require-unique-index-first"],
    ),
    c(
        CMV,
        "~adding_exclusion",
        MNV,
        True,
        'ALTER TABLE "rooms" ADD CONSTRAINT "no_overlap" EXCLUDE USING gist ("during" WITH &&);',
        expect=["avoid-exclusion-constraint"],
    ),
]

DUC = "disallow_unique_constraint.rs"
DU = "disallowed-unique-constraint"
_duc = [
    c(
        DUC,
        "adding_unique_constraint_err",
        DU,
        True,
        "ALTER TABLE table_name ADD CONSTRAINT field_name_constraint UNIQUE (field_name);",
    ),
    c(DUC, "ok", DU, False, "ALTER TABLE table_name DROP CONSTRAINT field_name_constraint;"),
    c(
        DUC,
        "also_ok",
        DU,
        False,
        """
CREATE UNIQUE INDEX CONCURRENTLY dist_id_temp_idx ON distributors (dist_id);
ALTER TABLE distributors DROP CONSTRAINT distributors_pkey,
ADD CONSTRAINT distributors_pkey PRIMARY KEY USING INDEX dist_id_temp_idx;
""",
        expect=["require-not-null-before-primary-key"],
        note="the index columns' nullability is unknown (no earlier migration declares them), and for a nullable one ADD PRIMARY KEY USING INDEX runs SET NOT NULL under ACCESS EXCLUSIVE: require-not-null-before-primary-key fails closed",
    ),
    c(
        DUC,
        "unique_constraint_ok",
        DU,
        False,
        """
CREATE UNIQUE INDEX CONCURRENTLY "legacy_questiongrouppg_mongo_id_1f8f47d9_uniq_idx"
    ON "legacy_questiongrouppg" ("mongo_id");
ALTER TABLE "legacy_questiongrouppg" ADD CONSTRAINT "legacy_questiongrouppg_mongo_id_1f8f47d9_uniq" UNIQUE USING INDEX "legacy_questiongrouppg_mongo_id_1f8f47d9_uniq_idx";
""",
    ),
    c(
        DUC,
        "unique_constraint_after_create_table",
        DU,
        False,
        """
BEGIN;
CREATE TABLE products (
    id bigint generated by default as identity primary key,
    sku text not null
);
ALTER TABLE products ADD CONSTRAINT sku_constraint UNIQUE (sku);
COMMIT;
""",
    ),
    c(
        DUC,
        "unique_constraint_after_create_table_with_assume_in_transaction",
        DU,
        False,
        """
CREATE TABLE products (
    id bigint generated by default as identity primary key,
    sku text not null
);
ALTER TABLE products ADD CONSTRAINT sku_constraint UNIQUE (sku);
""",
        settings=TX,
    ),
    c(
        DUC,
        "unique_constraint_inline_add_column_err",
        DU,
        True,
        "ALTER TABLE foo ADD COLUMN bar text CONSTRAINT foo_bar_unique UNIQUE;",
    ),
    c(
        DUC,
        "unique_constraint_inline_add_column_unique_err",
        DU,
        True,
        "ALTER TABLE foo ADD COLUMN bar text UNIQUE;",
    ),
]

PBI = "prefer_bigint_over_int.rs"
BI = "prefer-bigint-over-int"
_int_note = (
    "we warn about 32-bit integers only for key columns (primary and foreign keys), the ones that grow "
    "with the row count; an int quantity or flag is fine"
)
_pbi = [
    c(PBI, "err#integer", BI, True, "create table users (\n    id integer\n);", expect=[], note=_int_note),
    c(PBI, "err#int4", BI, True, "create table users (\n    id int4\n);", expect=[], note=_int_note),
    c(
        PBI,
        "err#serial",
        BI,
        True,
        "create table users (\n    id serial\n);",
        expect=["prefer-identity"],
        note=_int_note + "; serial is reported by prefer-identity",
    ),
    c(
        PBI,
        "err#serial4",
        BI,
        True,
        "create table users (\n    id serial4\n);",
        expect=["prefer-identity"],
        note=_int_note + "; serial4 is reported by prefer-identity",
    ),
    c(
        PBI,
        "~err#integer_pk",
        BI,
        True,
        "create table users (\n    id integer primary key\n);",
        expect=["prefer-bigint-key"],
    ),
    c(
        PBI,
        "~err#serial_pk",
        BI,
        True,
        "create table users (\n    id serial primary key\n);",
        expect=["prefer-bigint-key", "prefer-identity"],
    ),
    c(PBI, "ok#bigint", BI, False, "create table users (\n    id bigint\n);"),
    c(PBI, "ok#int8", BI, False, "create table users (\n    id int8\n);"),
    c(
        PBI,
        "ok#bigserial",
        BI,
        False,
        "create table users (\n    id bigserial\n);",
        expect=["prefer-identity"],
    ),
    c(PBI, "ok#serial8", BI, False, "create table users (\n    id serial8\n);", expect=["prefer-identity"]),
    c(PBI, "ok#smallint", BI, False, "create table users (\n    id smallint\n);"),
    c(PBI, "ok#int2", BI, False, "create table users (\n    id int2\n);"),
    c(
        PBI,
        "ok#smallserial",
        BI,
        False,
        "create table users (\n    id smallserial\n);",
        expect=["prefer-identity"],
    ),
    c(PBI, "ok#serial2", BI, False, "create table users (\n    id serial2\n);", expect=["prefer-identity"]),
]

PBS = "prefer_bigint_over_smallint.rs"
BS = "prefer-bigint-over-smallint"
_pbs = [
    c(PBS, "err#smallint", BS, True, "create table users (\n    id smallint\n);", expect=[], note=_int_note),
    c(PBS, "err#int2", BS, True, "create table users (\n    id int2\n);", expect=[], note=_int_note),
    c(
        PBS,
        "err#smallserial",
        BS,
        True,
        "create table users (\n    id smallserial\n);",
        expect=["prefer-identity"],
        note=_int_note,
    ),
    c(
        PBS,
        "err#serial2",
        BS,
        True,
        "create table users (\n    id serial2\n);",
        expect=["prefer-identity"],
        note=_int_note,
    ),
    c(
        PBS,
        "~err#smallint_pk",
        BS,
        True,
        "create table users (\n    id smallint primary key\n);",
        expect=["prefer-bigint-key"],
    ),
    c(PBS, "ok#bigint", BS, False, "create table users (\n    id bigint\n);"),
    c(PBS, "ok#int8", BS, False, "create table users (\n    id int8\n);"),
    c(PBS, "ok#integer", BS, False, "create table users (\n    id integer\n);"),
    c(PBS, "ok#int4", BS, False, "create table users (\n    id int4\n);"),
]

PID = "prefer_identity.rs"
PI = "prefer-identity"
_pid = [
    *(
        c(PID, f"err#{t}", PI, True, f"create table users (\n    id {t}\n);")
        for t in ("serial", "serial2", "serial4", "serial8", "smallserial", "bigserial", "BIGSERIAL")
    ),
    *(
        c(PID, f"fix_serial_types#{t}", PI, True, f"create table users (id {t});")
        for t in ("serial", "serial2", "serial4", "serial8", "smallserial", "bigserial", "Serial")
    ),
    c(
        PID,
        "ok_when_quoted#serial",
        PI,
        False,
        'create table users (\n    id "serial"\n);',
        expect=["prefer-identity"],
        note='"serial" quoted is still the serial pseudo-type to Postgres (it creates a sequence); squawk '
        "treats a quoted name as a user type",
    ),
    c(
        PID,
        "ok#by_default",
        PI,
        False,
        "create table users (\n    id  bigint generated by default as identity primary key\n);",
    ),
    c(
        PID,
        "ok#always",
        PI,
        False,
        "create table users (\n    id  bigint generated always as identity primary key\n);",
    ),
    c(
        PID,
        "~alter_table_add_serial",
        PI,
        True,
        "alter table users add column n bigserial;",
        expect=["prefer-identity", "avoid-volatile-default"],
    ),
]

PTF = "prefer_text_field.rs"
TF = "prefer-text-field"
_ptf = [
    c(
        PTF,
        "increase_varchar_size_err",
        TF,
        True,
        """
BEGIN;
--
-- Alter field kind on foo
--
ALTER TABLE "core_foo" ALTER COLUMN "kind" TYPE varchar(1000) USING "kind"::varchar(1000);
COMMIT;
""",
        expect=["prefer-text", "avoid-column-type-change"],
    ),
    c(
        PTF,
        "create_table_with_varchar_err",
        TF,
        True,
        """
BEGIN;
--
-- Create model Bar
--
CREATE TABLE "core_bar" (
    "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "alpha" varchar(100) NOT NULL
);
COMMIT;
""",
    ),
    c(
        PTF,
        "create_table_with_pgcatalog_varchar_err",
        TF,
        True,
        """
create table t (
    "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "alpha" pg_catalog.varchar(100) NOT NULL
);
""",
    ),
    c(
        PTF,
        "adding_column_non_text_err",
        TF,
        True,
        """
BEGIN;
ALTER TABLE "foo_table" ADD COLUMN "foo_column" varchar(256) NULL;
COMMIT;
""",
    ),
    c(
        PTF,
        "varchar_without_specified_limit_ok",
        TF,
        False,
        "CREATE TABLE IF NOT EXISTS foo_table(bar_col varchar);",
    ),
    c(
        PTF,
        "create_table_with_text_ok",
        TF,
        False,
        """
BEGIN;
--
-- Create model Bar
--
CREATE TABLE "core_bar" (
    "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "bravo" text NOT NULL
);
--
-- Create constraint text_size on model bar
--
ALTER TABLE "core_bar" ADD CONSTRAINT "text_size" CHECK (LENGTH("bravo") <= 100);
COMMIT;
""",
    ),
    c(PTF, "~character_varying_err", TF, True, "CREATE TABLE t (c character varying(20));"),
]

PTZ = "prefer_timestamptz.rs"
TZ = "prefer-timestamptz"
_ptz = [
    c(
        PTZ,
        "create_table_with_timestamp_err",
        TZ,
        True,
        """
create table app.users
(
    created_ts   timestamp
);
create table app.accounts
(
    created_ts timestamp without time zone
);
""",
    ),
    c(
        PTZ,
        "alter_table_with_timestamp_err",
        TZ,
        True,
        """
alter table app.users
    alter column created_ts type timestamp;
alter table app.accounts
    alter column created_ts type timestamp without time zone;
""",
        expect=["prefer-timestamptz", "avoid-column-type-change"],
    ),
    c(
        PTZ,
        "create_table_with_time_zone_ok",
        TZ,
        False,
        """
create table app.users
(
    created_ts   timestamptz
);
create table app.accounts
(
    created_ts timestamp with time zone
);
""",
    ),
    c(
        PTZ,
        "fix_timestamp_to_timestamptz",
        TZ,
        True,
        "create table app.users\n(\n    created_ts   timestamp\n);",
    ),
    c(
        PTZ,
        "fix_timestamp_without_time_zone",
        TZ,
        True,
        "create table app.accounts\n(\n    created_ts timestamp without time zone\n);",
    ),
    c(PTZ, "fix_timestamp_array", TZ, True, "create table app.events\n(\n    timestamps timestamp[]\n);"),
    c(PTZ, "~add_column_timestamp", TZ, True, "alter table app.users add column seen_at timestamp;"),
    c(PTZ, "~add_column_timestamptz_ok", TZ, False, "alter table app.users add column seen_at timestamptz;"),
    c(PTZ, "~timestamp_precision", TZ, True, "create table app.events (at timestamp(3));"),
]

RNC = "renaming_column.rs"
_rnc = [
    c(
        RNC,
        "err",
        "renaming-column",
        True,
        'ALTER TABLE "table_name" RENAME COLUMN "column_name" TO "new_column_name";',
    ),
    c(
        RNC,
        "~err#without_column_keyword",
        "renaming-column",
        True,
        'ALTER TABLE "table_name" RENAME "column_name" TO "new_column_name";',
    ),
]
RNT = "renaming_table.rs"
_rnt = [
    c(RNT, "err", "renaming-table", True, 'ALTER TABLE "table_name" RENAME TO "new_table_name";'),
    c(
        RNT,
        "~err#if_exists",
        "renaming-table",
        True,
        'ALTER TABLE IF EXISTS "table_name" RENAME TO "new_table_name";',
    ),
]

RCI = "require_concurrent_index_creation.rs"
CI = "require-concurrent-index-creation"
_rci = [
    c(RCI, "fix_add_concurrently_named_index", CI, True, "CREATE INDEX i ON t (c);"),
    c(RCI, "fix_add_concurrently_unnamed_index", CI, True, "CREATE INDEX ON t (a);"),
    c(
        RCI,
        "adding_index_non_concurrently_err",
        CI,
        True,
        '-- instead of\nCREATE INDEX "field_name_idx" ON "table_name" ("field_name");',
    ),
    c(
        RCI,
        "adding_index_concurrently_ok",
        CI,
        False,
        '-- use CONCURRENTLY\nCREATE INDEX CONCURRENTLY "field_name_idx" ON "table_name" ("field_name");',
    ),
    c(
        RCI,
        "new_table_ok",
        CI,
        False,
        """
BEGIN;
CREATE TABLE "core_foo" (
"id" serial NOT NULL PRIMARY KEY,
"tenant_id" integer NULL
);
CREATE INDEX "core_foo_tenant_id_4d397ef9" ON "core_foo" ("tenant_id");
COMMIT;
""",
    ),
    c(
        RCI,
        "new_table_in_assume_transaction_ok",
        CI,
        False,
        """
CREATE TABLE "core_foo" (
"id" serial NOT NULL PRIMARY KEY,
"tenant_id" integer NULL
);
CREATE INDEX "core_foo_tenant_id_4d397ef9" ON "core_foo" ("tenant_id");
""",
        settings=TX,
    ),
    c(
        RCI,
        "~unique_index_err",
        CI,
        True,
        'CREATE UNIQUE INDEX "field_name_idx" ON "table_name" ("field_name");',
    ),
    c(
        RCI,
        "~schema_qualified_err",
        CI,
        True,
        'CREATE INDEX "field_name_idx" ON "app"."table_name" ("field_name");',
    ),
    c(
        RCI,
        "~if_not_exists_err",
        CI,
        True,
        'CREATE INDEX IF NOT EXISTS "field_name_idx" ON "table_name" ("field_name");',
    ),
    c(RCI, "~using_gin_err", CI, True, 'CREATE INDEX "doc_idx" ON "table_name" USING gin ("doc");'),
    c(
        RCI,
        "~partial_index_err",
        CI,
        True,
        'CREATE INDEX "active_idx" ON "table_name" ("id") WHERE "active";',
    ),
    c(
        RCI,
        "~only_err",
        CI,
        True,
        'CREATE INDEX "field_name_idx" ON ONLY "table_name" ("field_name");',
        expect=[],
        note="ON ONLY on a partitioned parent creates an invalid index with no build (no rows scanned): the "
        "per-partition indexes are built CONCURRENTLY and attached; squawk flags the shape",
    ),
]

RCD = "require_concurrent_index_deletion.rs"
CD = "require-concurrent-index-deletion"
_rcd = [
    c(
        RCD,
        "drop_index_missing_concurrently_err",
        CD,
        True,
        '-- instead of\nDROP INDEX IF EXISTS "field_name_idx";',
    ),
    c(RCD, "drop_index_concurrently_ok", CD, False, 'DROP INDEX CONCURRENTLY IF EXISTS "field_name_idx";'),
    c(
        RCD,
        "regression_false_positive_drop_table_ok",
        CD,
        False,
        "DROP TABLE IF EXISTS some_table;",
        expect=["avoid-drop-table"],
        note="squawk's ban-drop-table flags it as well",
    ),
    c(
        RCD,
        "regression_false_positive_drop_trigger_ok",
        CD,
        False,
        "DROP TRIGGER IF EXISTS trigger on foo_table;",
    ),
    c(RCD, "~drop_index_plain_err", CD, True, 'DROP INDEX "field_name_idx";'),
    c(RCD, "~drop_index_several_err", CD, True, 'DROP INDEX "a_idx", "b_idx";'),
]

RCR = "require_concurrent_reindex.rs"
CR = "require-concurrent-reindex"
_rcr = [
    c(RCR, "reindex_table_no_concurrently_err", CR, True, "REINDEX TABLE foo;"),
    c(RCR, "reindex_index_no_concurrently_err", CR, True, "REINDEX INDEX foo;"),
    c(RCR, "reindex_schema_no_concurrently_err", CR, True, "REINDEX SCHEMA foo;"),
    c(RCR, "reindex_database_no_concurrently_err", CR, True, "REINDEX DATABASE foo;"),
    c(RCR, "reindex_table_concurrently_ok", CR, False, "REINDEX TABLE CONCURRENTLY foo;"),
    c(RCR, "reindex_index_concurrently_ok", CR, False, "REINDEX INDEX CONCURRENTLY foo;"),
    c(RCR, "reindex_options_concurrently_ok", CR, False, "REINDEX (CONCURRENTLY) TABLE foo;"),
    c(
        RCR,
        "reindex_system_ok",
        CR,
        False,
        "REINDEX SYSTEM mydb;",
        expect=["require-concurrent-reindex"],
        note="REINDEX SYSTEM rebuilds the catalog indexes under ACCESS EXCLUSIVE, blocking every query that "
        "plans against them; it has no CONCURRENTLY form, which makes it worse, not exempt",
    ),
]

RPD = "require_concurrent_partition_detach.rs"
PD = "require-concurrent-partition-detach"
_rpd = [
    c(RPD, "detach_partition_missing_concurrently_err", PD, True, "ALTER TABLE t DETACH PARTITION p;"),
    c(RPD, "detach_partition_concurrently_ok", PD, False, "ALTER TABLE t DETACH PARTITION p CONCURRENTLY;"),
    c(RPD, "detach_partition_finalize_ok", PD, False, "ALTER TABLE t DETACH PARTITION p FINALIZE;"),
]

REO = "require_enum_value_ordering.rs"
EO = "require-enum-value-ordering"
_reo = [
    c(REO, "err_add_value_without_ordering", EO, True, "ALTER TYPE my_enum ADD VALUE 'new_value';"),
    c(
        REO,
        "err_add_value_if_not_exists_without_ordering",
        EO,
        True,
        "ALTER TYPE my_enum ADD VALUE IF NOT EXISTS 'new_value';",
    ),
    c(
        REO,
        "ok_add_value_before",
        EO,
        False,
        "ALTER TYPE my_enum ADD VALUE 'new_value' BEFORE 'existing_value';",
    ),
    c(
        REO,
        "ok_add_value_after",
        EO,
        False,
        "ALTER TYPE my_enum ADD VALUE 'new_value' AFTER 'existing_value';",
    ),
]

RTS = "require_timeout_settings.rs"
TS = "require-timeout-settings"
_TO = {"transaction": False, "require_timeouts": True}
_rts = [
    c(RTS, "~missing_both_err", TS, True, "ALTER TABLE t ADD COLUMN c int;", settings=_TO),
    c(
        RTS,
        "~both_set_ok",
        TS,
        False,
        "set lock_timeout = '1s';\nset statement_timeout = '5s';\nALTER TABLE t ADD COLUMN c int;",
        settings=_TO,
    ),
    c(
        RTS,
        "~only_lock_timeout_err",
        TS,
        True,
        "set lock_timeout = '1s';\nALTER TABLE t ADD COLUMN c int;",
        settings=_TO,
    ),
    c(
        RTS,
        "~only_statement_timeout_err",
        TS,
        True,
        "set statement_timeout = '5s';\nALTER TABLE t ADD COLUMN c int;",
        settings=_TO,
    ),
    c(RTS, "~no_locking_statement_ok", TS, False, "SELECT 1;", settings=_TO),
    c(
        RTS,
        "~default_off",
        TS,
        True,
        "ALTER TABLE t ADD COLUMN c int;",
        expect=[],
        note="our runner sets lock_timeout and statement_timeout itself, so the rule is opt-in "
        "(require_timeouts = true) for teams running migrations with another tool",
    ),
]

CASES: list[Case] = [
    *_afd,
    *_afk,
    *_ann,
    *_arf,
    *_apk,
    *_adc,
    *_cdc,
    *_bcf,
    *_bci,
    *_bdc,
    *_bdd,
    *_bdt,
    *_bdn,
    *_btc,
    *_but,
    *_cct,
    *_cmv,
    *_duc,
    *_pbi,
    *_pbs,
    *_pid,
    *_ptf,
    *_ptz,
    *_rnc,
    *_rnt,
    *_rci,
    *_rcd,
    *_rcr,
    *_rpd,
    *_reo,
    *_rts,
]
