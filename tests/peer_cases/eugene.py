"""Cases from kaaveland/eugene's lint tests (`eugene/src/lints.rs`, `mod tests`, which assert
whether a hint id matched) and, marked derived, from the unsafe/safer examples of its hint
documentation. eugene lints a script as one transaction, so cases run with
`transaction = true`. Its hint ids: E1 valid constraint, E2 SET NOT NULL, E3 json, E4
statements after ACCESS EXCLUSIVE, E5 type change, E6 index not concurrent, E7 unique
without index, E8 exclusion, E9 lock without timeout, E11 serial/stored generated column,
W12 repeated ALTER TABLE, W13 enum, W14 primary key using index.
"""

from __future__ import annotations

from typing import Any

from peer_cases import Case, make_case

REPO = "kaaveland/eugene:eugene/src/lints.rs"

RULE_MAP: dict[str, tuple[str, ...]] = {
    "E1": ("require-not-valid-constraint",),
    "E2": ("avoid-set-not-null",),
    "E3": ("prefer-jsonb",),
    "E4": ("hold-access-exclusive",),
    "E5": ("avoid-type-change-rewrite", "avoid-column-type-change"),
    "E6": ("require-concurrent-index",),
    "E7": ("require-unique-index-first",),
    "E8": ("avoid-exclusion-constraint",),
    "E9": ("require-timeouts",),
    "E11": ("avoid-volatile-default",),
    # Two ALTER TABLEs on one table is a style point: neither scans unless its own action does.
    "W12": (),
    # Enums are a design choice; adding and renaming their values is what we check.
    "W13": (),
    # Nullability of the index columns is read from earlier migrations; unknown fails closed.
    "W14": ("require-not-null-before-primary-key",),
}

TX = {"transaction": True}
TIMEOUTS = {"transaction": True, "require_timeouts": True}
NEW_BOOKS = "create table books(id serial primary key, title text);"


def c(test: str, hint: str, matched: bool, sql: str, **kw: Any) -> Case:
    """An eugene case; a test name starting with `~` marks a derived one (hint docs)."""
    kw.setdefault("settings", TX)
    if test.startswith("~"):
        test, kw["derived"] = test[1:], True
    return make_case(
        RULE_MAP, peer="eugene", source=f"{REPO}#{test}", peer_rule=hint, peer_flags=matched, sql=sql, **kw
    )


_OPT_IN = (
    "our runner sets lock_timeout itself, so requiring it in the file is opt-in (require_timeouts); "
    "with the setting on, we agree"
)

_timeouts = [
    c(
        "test_no_locktimeout_create_index",
        "E9",
        True,
        "create index books_title_idx on books(title);",
        expect=["require-concurrent-index"],
        note=_OPT_IN,
    ),
    c(
        "test_no_locktimeout_create_index#require_timeouts",
        "E9",
        True,
        "create index books_title_idx on books(title);",
        settings=TIMEOUTS,
        expect=["require-concurrent-index", "require-timeouts"],
    ),
    c(
        "test_locktimeout_create_index_on_new_table",
        "E9",
        False,
        NEW_BOOKS + "\ncreate index books_title_idx on books(title);",
        settings=TIMEOUTS,
    ),
    c(
        "test_locktimeout_alter_table_without_timeout",
        "E9",
        True,
        "alter table books add constraint check_price check (price > 0);",
        expect=["require-not-valid-constraint"],
        note=_OPT_IN,
    ),
    c(
        "test_locktimeout_alter_table_without_timeout#require_timeouts",
        "E9",
        True,
        "alter table books add constraint check_price check (price > 0);",
        settings=TIMEOUTS,
        expect=["require-not-valid-constraint", "require-timeouts"],
    ),
    c(
        "test_locktimeout_alter_table_with_timeout",
        "E9",
        False,
        "set lock_timeout = '2s'; create index books_title_idx on books(title);",
        expect=["require-concurrent-index"],
    ),
    c(
        "test_locktimeout_alter_table_with_timeout#require_timeouts",
        "E9",
        False,
        "set lock_timeout = '2s';\nset statement_timeout = '10min';\ncreate index books_title_idx on books(title);",
        settings=TIMEOUTS,
        expect=["require-concurrent-index"],
    ),
    c(
        "test_create_index_concurrently_is_not_dangerous_lock",
        "E9",
        False,
        "create index concurrently books_title_idx on books(title);",
        settings={"transaction": True},
    ),
]

_indexes = [
    c(
        "test_create_index_on_new_table",
        "E6",
        False,
        NEW_BOOKS + "\ncreate index books_title_idx on books(title);",
    ),
    c("test_create_index_on_existing_table", "E6", True, "create index books_title_idx on books(title);"),
    c("~E6#safer", "E6", False, "create index concurrently books_title_idx on books(title);"),
    c("~E6#unique_unsafe", "E6", True, "create unique index books_title_idx on books(title);"),
    c("~E6#schema_unsafe", "E6", True, "create index books_title_idx on library.books(title);"),
]

_constraints = [
    c(
        "test_add_check_constraint_to_existing_table",
        "E1",
        True,
        "alter table books add constraint check_price check (price > 0);",
    ),
    c(
        "test_add_check_constraint_to_new_table",
        "E1",
        False,
        NEW_BOOKS + "\nalter table books add constraint check_price check (price > 0);",
    ),
    c(
        "test_add_not_valid_constraint_to_existing_table",
        "E1",
        False,
        "alter table books add constraint check_price check (price > 0) not valid;",
    ),
    c(
        "~E1#foreign_key_unsafe",
        "E1",
        True,
        "alter table books add constraint books_author_fk foreign key (author_id) references authors(id);",
    ),
    c(
        "~E1#foreign_key_safer",
        "E1",
        False,
        "alter table books add constraint books_author_fk foreign key (author_id) references authors(id) not valid;",
    ),
    c(
        "~E1#add_column_references",
        "E1",
        True,
        "alter table books add column author_id bigint references authors(id);",
    ),
    c(
        "~E1#add_column_check",
        "E1",
        True,
        "alter table books add column price int check (price > 0);",
        expect=[],
        note="a column added without a default is NULL in every row, and a CHECK on it passes for NULL without "
        "Postgres scanning (the ADD COLUMN already holds ACCESS EXCLUSIVE only briefly); no row can fail it",
    ),
    c("~E1#validate_separately", "E1", False, "alter table books validate constraint check_price;"),
    c(
        "test_adding_exclusion_constraint_to_existing_table",
        "E8",
        True,
        "alter table books add constraint exclude_price exclude (price with =);",
    ),
    c(
        "test_adding_exclusion_constraint_on_new_table",
        "E8",
        False,
        NEW_BOOKS + "\nalter table books add constraint exclude_price exclude (price with =);",
    ),
    c(
        "test_adding_unique_constraint_using_idx",
        "E7",
        False,
        "alter table books add constraint unique_title unique using index unique_title_idx;",
    ),
    c(
        "test_adding_unique_constraint",
        "E7",
        True,
        "alter table books add constraint unique_title unique (title);",
    ),
    c(
        "test_adding_unique_constraint_on_new_table",
        "E7",
        False,
        NEW_BOOKS + "\nalter table books add constraint unique_title unique (title);",
    ),
    c("~E7#primary_key", "E7", True, "alter table books add constraint books_pkey primary key (id);"),
    c(
        "~E7#safer",
        "E7",
        False,
        "create unique index concurrently unique_title_idx on books(title);\n"
        "alter table books add constraint unique_title unique using index unique_title_idx;",
        settings={"transaction": False},
    ),
    c(
        "test_sets_column_to_not_null_on_visible_table",
        "E2",
        True,
        "alter table books alter column title set not null;",
    ),
    c(
        "test_sets_column_to_not_null_on_new_table",
        "E2",
        False,
        NEW_BOOKS + "\nalter table books alter column title set not null;",
    ),
    c(
        "~E2#safer_pg12",
        "E2",
        False,
        "alter table books add constraint title_not_null check (title is not null) not valid;\n"
        "-- guard: ignore validate-constraint-separately reason: eugene's safer example runs these in steps\n"
        "alter table books validate constraint title_not_null;\n"
        "alter table books alter column title set not null;",
    ),
    c(
        "~E2#pg11",
        "E2",
        True,
        "alter table books add constraint title_not_null check (title is not null) not valid;\n"
        "-- guard: ignore validate-constraint-separately reason: eugene's safer example runs these in steps\n"
        "alter table books validate constraint title_not_null;\n"
        "alter table books alter column title set not null;",
        pg_version=11,
        note="derived: before Postgres 12, SET NOT NULL ignores the validated check and scans anyway",
    ),
]

_types = [
    c("test_adding_json_column", "E3", True, "alter table books add column data json;"),
    c(
        "test_alter_to_json_type",
        "E3",
        True,
        "alter table books alter column data type json;",
        expect=["prefer-jsonb", "avoid-column-type-change"],
    ),
    c(
        "test_creates_table_with_json_column",
        "E3",
        True,
        "create table books(id bigint primary key, data json);",
    ),
    c("~E3#jsonb_ok", "E3", False, "alter table books add column data jsonb;"),
    c("~E3#pg_catalog_json", "E3", True, "alter table books add column data pg_catalog.json;"),
    c(
        "test_sets_new_data_type_to_column",
        "E5",
        True,
        "alter table books alter column data type jsonb;",
        expect=["avoid-column-type-change"],
    ),
    c(
        "~E5#new_table",
        "E5",
        False,
        NEW_BOOKS + "\nalter table books alter column title type varchar(100);",
        hygiene=False,
    ),
    c(
        "~E5#set_data_type",
        "E5",
        True,
        "alter table books alter column price set data type bigint;",
        expect=["avoid-column-type-change"],
    ),
    c("test_alter_table_add_serial_column#serial", "E11", True, "alter table books add column id serial;"),
    c(
        "test_alter_table_add_serial_column#bigserial",
        "E11",
        True,
        "alter table books add column id bigserial;",
    ),
    c(
        "test_alter_table_generated_always_column",
        "E11",
        False,
        "alter table books add column id int generated always as identity;",
        expect=["avoid-volatile-default"],
        note="adding an identity column fills every existing row from its sequence (a NextValueExpr default, "
        "volatile), so Postgres rewrites the table under ACCESS EXCLUSIVE exactly as for serial",
    ),
    c(
        "test_alter_table_stored_generated_column",
        "E11",
        True,
        "alter table books add column id int generated always as (1 + old_id) stored;",
    ),
    c("~E11#new_table", "E11", False, NEW_BOOKS + "\nalter table books add column n bigserial;"),
]

_W12 = (
    "two ALTER TABLEs on one table are not a danger of their own: each action is judged on its lock and scan"
)
_other = [
    c(
        "test_altered_table_several_times",
        "W12",
        True,
        "alter table books add column data jsonb;\nalter table books add column price numeric;",
        note=_W12,
    ),
    c(
        "test_altered_table_once_with_multiple_statements",
        "W12",
        False,
        "alter table books add column data jsonb, add column price numeric;",
    ),
    c(
        "test_create_an_enum",
        "W13",
        True,
        "create type mood as enum ('happy', 'sad');",
        note="enums are a modelling choice, not a migration danger; we check the risky changes to them "
        "(renaming or dropping values, ADD VALUE in a transaction before 12)",
    ),
    c(
        "test_add_pk_using_index",
        "W14",
        True,
        "alter table books add primary key using index books_pkey;",
        note="ADD PRIMARY KEY USING INDEX runs SET NOT NULL on index columns that are nullable, which scans "
        "the table under ACCESS EXCLUSIVE; nothing declares books_pkey's columns NOT NULL, so we fail closed",
    ),
    c(
        "test_add_pk_with_using_index",
        "W14",
        False,
        "alter table books add primary key (id);",
        expect=["require-unique-index-first"],
        note="eugene reports this under E7 (unique constraint creating an index), as we do",
    ),
    c(
        "~E4#backfill_after_alter",
        "E4",
        True,
        "alter table books add column price_cents bigint;\nupdate books set price_cents = price * 100;",
        expect=["hold-access-exclusive", "require-where-clause"],
    ),
    c(
        "~E4#more_ddl_after_alter",
        "E4",
        True,
        "alter table books add column price_cents bigint;\nalter table authors add column bio text;",
        expect=[],
        note="two quick catalog changes in one transaction hold their locks for milliseconds; we flag what "
        "keeps the ACCESS EXCLUSIVE lock for long (a backfill), not every following statement",
    ),
    c("~E4#new_table", "E4", False, NEW_BOOKS + "\nupdate books set title = upper(title) where id > 0;"),
]

CASES: list[Case] = [*_timeouts, *_indexes, *_constraints, *_types, *_other]
