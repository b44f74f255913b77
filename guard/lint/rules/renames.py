"""Renames: columns, tables (and `SET SCHEMA`), schemas and enum values.

Renames are instant in Postgres, but the release still running during a deploy uses
the old name until the deploy finishes, so every query naming it fails in that window.
The safe path is expand -> migrate -> contract, or a view that keeps the old name.
"""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext
from guard.lint.registry import rule
from guard.lint.rules import _shapes
from guard.lint.rules._destructive import ACCESS_EXCLUSIVE, FAMILY, is_contract_step, table_actions
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.tokens import PUNCT, Token, read_qualified_name


@rule(
    id="avoid-rename-column",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("ALTER",),
    lock=ACCESS_EXCLUSIVE,
    summary="Renaming a column breaks every query of the release still running.",
    why="""
        Renames are instant in Postgres, but the previous release still uses the old name until the
        deploy finishes; every query naming it fails in that window (and after a code rollback).
    """,
    fix="""
        1. Expand: add the new column, keep both in sync (trigger or dual writes), backfill in batches.
        2. Ship code that reads the new column.
        3. Contract: drop the old column in a later migration marked `-- guard: contract <expand>`.
    """,
    bad="ALTER TABLE users RENAME COLUMN email TO email_address;",
    good="ALTER TABLE users ADD COLUMN email_address text;",
)
def avoid_rename_column(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    table, actions = table_actions(stmt, ctx, ("rename-column",))
    for a in actions:
        yield Hit(
            f"renames column {table}.{a.shown_column} to {a.new_name}: the running release still uses the old name",
            f"1. Expand: ALTER TABLE {table} ADD COLUMN {a.new_name} <same type>; keep it in sync with"
            f" {a.shown_column} (trigger or dual writes) and backfill it in batches.\n"
            f"2. Ship code that reads {a.new_name}.\n"
            f"3. Contract, in a later migration marked `-- guard: contract <expand version>`:"
            f" ALTER TABLE {table} DROP COLUMN {a.shown_column};",
        )


@rule(
    id="avoid-rename-table",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("ALTER",),
    lock=ACCESS_EXCLUSIVE,
    summary="Renaming a table (or moving it to another schema) breaks the release still using the old name.",
    why="""
        The previous release queries the table by its old name until the deploy finishes; every one of
        those queries fails in that window. `SET SCHEMA` changes the qualified name the same way.
    """,
    fix="""
        Rename and leave a view with the old name in the same migration, so both names work:
        `ALTER TABLE old RENAME TO new; CREATE VIEW old AS SELECT * FROM new;`
        then drop the view in a later contract migration once no release uses the old name.
    """,
    bad="ALTER TABLE orders RENAME TO purchases;",
    good="CREATE TABLE purchases (id bigint PRIMARY KEY);",
)
def avoid_rename_table(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    table, actions = table_actions(stmt, ctx, ("rename-table", "set-schema"))
    for a in actions:
        new = a.new_name if a.kind == "rename-table" else f"{a.new_name}.{table.split('.')[-1]}"
        yield Hit(
            f"renames table {table} to {new}: the running release still queries {table}",
            f"1. In one migration: ALTER TABLE {table} RENAME TO {new.split('.')[-1]};"
            f" CREATE VIEW {table} AS SELECT * FROM {new};\n"
            f"   (a simple view is updatable, so the old release keeps reading and writing).\n"
            f"2. Ship code that uses {new}.\n"
            f"3. Contract, in a later migration marked `-- guard: contract <that version>`: DROP VIEW {table};",
        )


@rule(
    id="avoid-rename-schema",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("ALTER",),
    summary="Renaming a schema breaks every qualified name the running release uses.",
    why="Every query, function and search_path entry naming the old schema fails until all code moves.",
    fix="Create the new schema and move objects over in steps; retire the old one in a contract migration.",
    bad="ALTER SCHEMA billing RENAME TO payments;",
    good="CREATE SCHEMA payments;",
)
def avoid_rename_schema(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    found = _shapes.read_alter_rename(stmt.tokens, "SCHEMA")
    if found is None or is_contract_step(ctx) or ctx.is_new("schema", found[0].key):
        return
    name, new = found
    yield Hit(
        f"renames schema {name.shown} to {new}: every qualified name in the running release breaks",
        f"Create schema {new}, move objects to it over several deploys, then drop {name.shown} in a"
        " contract migration.",
    )


@rule(
    id="avoid-rename-enum-value",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("ALTER",),
    summary="Renaming an enum value breaks code and rows written with the old label.",
    why="""
        The running release writes and compares the old label; after the rename, writes with it fail
        (`invalid input value for enum`) and comparisons silently stop matching.
    """,
    fix="""
        1. Expand: ALTER TYPE ... ADD VALUE 'new' (own migration).
        2. Ship code that writes the new label and reads both; UPDATE rows in batches.
        3. Stop using the old label; removing it needs a new type (contract).
    """,
    bad="ALTER TYPE order_status RENAME VALUE 'shipped' TO 'dispatched';",
    good="ALTER TYPE order_status ADD VALUE 'dispatched' AFTER 'shipped';",
)
def avoid_rename_enum_value(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    found = _shapes.read_enum_value_rename(stmt.tokens)
    if found is None or is_contract_step(ctx) or ctx.is_new("type", found[0].key):
        return
    name, old, new = found
    yield Hit(
        f"renames value {old} of enum {name.shown} to {new}: the running release still writes {old}",
        f"1. ALTER TYPE {name.shown} ADD VALUE {new}; (own migration)\n"
        f"2. Ship code that writes {new} and accepts both; UPDATE rows from {old} to {new} in batches.\n"
        f"3. Leave {old} unused (removing a value needs a new type, in a contract migration).",
    )


# --- views, types and functions -----------------------------------------------------------------------

#: `ALTER <kind>` words -> the namespace its name lives in (a view can take a materialized view's name).
_RENAMED_KINDS = (
    (("MATERIALIZED", "VIEW"), "relation"),
    (("VIEW",), "relation"),
    (("TABLE",), "relation"),
    (("TYPE",), "type"),
    (("DOMAIN",), "type"),
    (("FUNCTION",), "function"),
    (("PROCEDURE",), "function"),
)
_CREATE_WORDS = frozenset({"OR", "REPLACE", "MATERIALIZED", "TEMP", "TEMPORARY", "RECURSIVE", "UNLOGGED"})


def _kind_at(tokens: tuple[Token, ...], i: int) -> tuple[str, str, int]:
    """(words as written, namespace, index after them) of the object kind at `i`, or ('', '', i)."""
    for words, space in _RENAMED_KINDS:
        if tuple(t.upper for t in tokens[i : i + len(words)]) == words:
            return " ".join(words), space, i + len(words)
    return "", "", i


def _skip_args(tokens: tuple[Token, ...], i: int) -> int:
    """The index after a parenthesised argument list at `i` (`f(int, text)`), or `i`."""
    if i < len(tokens) and tokens[i].kind == PUNCT and tokens[i].text == "(":
        depth = 0
        while i < len(tokens):
            if tokens[i].kind == PUNCT and tokens[i].text in "()":
                depth += 1 if tokens[i].text == "(" else -1
            i += 1
            if depth == 0:
                break
    return i


def read_object_rename(tokens: tuple[Token, ...]) -> tuple[str, str, _shapes.Name, str, bool] | None:
    """`ALTER VIEW|MATERIALIZED VIEW|TYPE|DOMAIN|FUNCTION|PROCEDURE name RENAME TO new` or `... SET SCHEMA s`
    -> (kind as written, namespace, name, new name, moved to a schema); None for other statements."""
    if not tokens or tokens[0].upper != "ALTER":
        return None
    kind, space, i = _kind_at(tokens, 1)
    if space not in ("relation", "type", "function") or kind == "TABLE":
        return None  # ALTER TABLE renames are avoid-rename-table's
    while i < len(tokens) and tokens[i].upper in ("IF", "EXISTS"):
        i += 1
    parts, i = read_qualified_name(tokens, i)
    i = _skip_args(tokens, i)
    rest = [t.upper for t in tokens[i : i + 2]]
    if not parts or i + 2 >= len(tokens):
        return None
    if rest == ["RENAME", "TO"]:
        return kind, space, _shapes._name(parts), tokens[i + 2].shown(), False
    if rest == ["SET", "SCHEMA"]:
        return kind, space, _shapes._name(parts), tokens[i + 2].shown(), True
    return None


def _key(shown: str) -> str:
    """The name Postgres stores for an identifier as written: quoted is kept, unquoted folds to lower case."""
    return shown[1:-1].replace('""', '"') if shown.startswith('"') else shown.lower()


def _name_taken_again(stmt: Statement, ctx: FileContext, space: str, key: str) -> bool:
    """True when a later statement of the same transaction gives `key` to another object of the same
    namespace (`CREATE VIEW key ...` or `ALTER ... RENAME TO key`): a swap, so the name never goes missing."""
    for later in ctx.schema.statements(ctx.migration)[0]:
        if later.index <= stmt.index:
            continue
        head = later.head
        if head in ("COMMIT", "END", "ROLLBACK", "ABORT"):
            return False
        if head == "CREATE":
            toks = later.tokens
            i = 1
            while i < len(toks) and toks[i].upper in _CREATE_WORDS:
                i += 1
            _, later_space, i = _kind_at(toks, i)
            while i < len(toks) and toks[i].upper in ("IF", "NOT", "EXISTS"):
                i += 1
            parts, _ = read_qualified_name(toks, i)
            if later_space == space and parts and parts[-1].name == key:
                return True
        elif head == "ALTER":
            found = read_object_rename(later.tokens)
            if found is not None and found[1] == space and not found[4] and _key(found[3]) == key:
                return True
            if space == "relation" and later.lead[1:2] == ("TABLE",):
                alter = later.derived("shapes.alter_table", lambda s: _shapes.read_alter_table(s.tokens))
                if alter is not None and any(
                    a.kind == "rename-table" and _key(a.new_name) == key for a in alter.actions
                ):
                    return True
    return False


@rule(
    id="avoid-rename-object",
    severity=Severity.ERROR,
    family=FAMILY,
    heads=("ALTER",),
    summary="Renaming a view, materialized view, type, domain or function breaks the release still using the old name.",
    why="""
        The previous release queries views by name, casts to types by name (`'x'::order_status`) and
        calls functions by name until the deploy finishes; each of those fails once the name is gone.
        `SET SCHEMA` changes the qualified name the same way. A swap in one transaction (the old name
        is given to another object before commit) keeps the name working and is not reported; nor is
        an object created earlier in the same migration.
    """,
    fix="""
        Create the object under its new name next to the old one (a view or function can simply be
        created twice), move the code over, and drop the old name in a later contract migration.
    """,
    bad="ALTER MATERIALIZED VIEW daily_totals RENAME TO daily_totals_v1;",
    good=(
        "CREATE MATERIALIZED VIEW daily_totals_new AS SELECT 1 AS total;\n"
        "ALTER MATERIALIZED VIEW daily_totals RENAME TO daily_totals_old;\n"
        "ALTER MATERIALIZED VIEW daily_totals_new RENAME TO daily_totals;"
    ),
)
def avoid_rename_object(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    if stmt.lead[1:2] not in (
        ("VIEW",),
        ("MATERIALIZED",),
        ("TYPE",),
        ("DOMAIN",),
        ("FUNCTION",),
        ("PROCEDURE",),
    ):
        return
    found = read_object_rename(stmt.tokens)
    if found is None or is_contract_step(ctx):
        return
    kind, space, name, new, moved = found
    created_as = {
        "relation": ("view", "table"),
        "type": ("type", "domain"),
        "function": ("function", "procedure"),
    }
    if any(ctx.is_new(k, name.key) for k in created_as[space]):
        return
    if not moved and _name_taken_again(stmt, ctx, space, name.key):
        return
    target = f"schema {new}" if moved else new
    verb = "moves" if moved else "renames"
    yield Hit(
        f"{verb} {kind.lower()} {name.shown} to {target}: the running release still uses {name.shown}",
        f"1. Create the {kind.lower()} as {new if not moved else new + '.' + name.key} next to {name.shown}"
        f" (or swap: give {name.shown} to the replacement in the same migration).\n"
        f"2. Ship code that uses the new name.\n"
        f"3. Contract, in a later migration marked `-- guard: contract <that version>`: drop {name.shown}.",
    )
