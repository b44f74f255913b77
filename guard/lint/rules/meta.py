"""Rules about the analysis itself: statements no rule could judge, directives, and problems
found while discovering migration files."""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext
from guard.lint.registry import external_rule, rule
from guard.model import Hit, Severity
from guard.parsing import Statement
from guard.sql import facts as f

# Fail closed, decided here only: a statement is unanalysed when its fact is `Unknown`, or when
# it is a kind of `CREATE`/`ALTER`/`DROP`/rename no rule judges. Every other fact class is judged
# as a whole (`AlterTable`, `CreateTable`, `CreateIndex`, `AlterEnum`, `Truncate`, `Write`,
# `Insert`, `Code`, `Transaction`, `Setting`, `Maintenance`, `Harmless`). A kind listed here
# also covers its longer forms (`operator` covers `operator class`, `text search` every text
# search object, `user` covers `user mapping`). `concurrent-in-transaction` judging whether
# `ALTER SYSTEM` or `CREATE TABLESPACE` may run in a transaction does not make them analysed.
JUDGED_CREATE_KINDS = frozenset(
    {
        "view", "materialized view", "type", "enum", "domain", "function", "procedure", "aggregate",
        "trigger", "event trigger", "rule", "policy", "sequence", "schema", "extension", "role", "user",
        "publication", "collation", "operator", "cast", "text search", "database",
    }
)  # fmt: skip
JUDGED_ALTER_KINDS = frozenset(
    {
        "type", "domain", "sequence", "function", "procedure", "extension", "role", "user",
        "default privileges", "publication", "schema", "trigger", "index", "materialized view", "view",
        "database", "policy",
    }
)  # fmt: skip
#: Renames judged besides `JUDGED_ALTER_KINDS` (an enum value, a type's attribute, a view's column).
JUDGED_RENAME_KINDS = JUDGED_ALTER_KINDS | {"enum value", "attribute", "column"}
JUDGED_DROP_KINDS = frozenset(
    {
        "table", "schema", "database", "type", "domain", "view", "materialized view", "function",
        "procedure", "sequence", "extension", "owned", "index", "trigger", "policy",
    }
)  # fmt: skip

#: Fact classes with kinds, and the kinds some rule judges.
_JUDGED: dict[type, frozenset[str]] = {
    f.CreateObject: JUDGED_CREATE_KINDS,
    f.AlterOther: JUDGED_ALTER_KINDS,
    f.Rename: JUDGED_RENAME_KINDS,
    f.Drop: JUDGED_DROP_KINDS,
}


def _judged(kind: str, kinds: frozenset[str]) -> bool:
    if kind in kinds:
        return True
    words = kind.split()
    return any(" ".join(words[:n]) in kinds for n in range(1, len(words)))


def unjudged(fact: f.Fact) -> str | None:
    """What makes `fact` unanalysed (its reader's reason, or the kind no rule judges), else None."""
    if isinstance(fact, f.Unknown):
        return fact.reason or "no reader for this statement"
    kinds = _JUDGED.get(type(fact))
    kind: str = getattr(fact, "object_kind", "")
    if kinds is None or _judged(kind, kinds):
        return None
    return f"no rule judges {fact.kind} {kind}"


def only_creates(fact: f.Fact) -> bool:
    """True when an unanalysed statement can only create a new object (it changes nothing existing)."""
    if isinstance(fact, f.CreateObject):
        return not fact.or_replace
    return isinstance(fact, f.Unknown) and fact.words[:1] == ("CREATE",) and "REPLACE" not in fact.words[:3]


def _shown(fact: f.Fact) -> str:
    if isinstance(fact, f.Unknown):
        return " ".join(fact.words[:3]) or "?"
    kind: str = getattr(fact, "object_kind", "")
    verb = {f.CreateObject: "CREATE", f.Drop: "DROP"}.get(type(fact), "ALTER")
    return f"{verb} {kind.upper()}"


@rule(
    id="unanalysed-statement",
    severity=Severity.ERROR,
    family="meta",
    summary="A statement no rule could judge: it blocks when it may change existing objects, warns when it only creates.",
    why="""
        migration-guard never treats SQL it cannot analyse as safe. This statement could not be read
        into the statement model, or it is a kind of statement no rule judges, so it may drop,
        rewrite or lock something without any rule noticing. One that may change existing objects
        (an unreadable or unjudged `ALTER`, `DROP` or anything else) is an error; one that only
        creates a new object (`CREATE STATISTICS ...`) is a warning.
    """,
    fix="""
        Review the statement by hand. If it is safe, suppress with
        `-- guard: ignore unanalysed-statement reason: <why>`; set its severity in the config
        (`severity = { unanalysed-statement = "warning" }`) to give every such finding that level.
    """,
    bad="ALTER SERVER files OPTIONS (SET path '/mnt/new');",
    good="-- guard: ignore unanalysed-statement reason: only moves the foreign files, reviewed by hand\n"
    "ALTER SERVER files OPTIONS (SET path '/mnt/new');",
    facts=(f.Unknown, f.CreateObject, f.AlterOther, f.Rename, f.Drop),
)
def unanalysed_statement(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    fact = stmt.fact
    reason = unjudged(fact)
    if reason is None:
        return
    creates = only_creates(fact)
    yield Hit(
        f"could not analyse this `{_shown(fact)} ...` statement ({reason}); no rule has judged it"
        + ("" if creates else ", and it may change existing objects"),
        "review it by hand, then suppress with `-- guard: ignore unanalysed-statement reason: ...`",
        severity=Severity.WARNING if creates else Severity.ERROR,
    )


invalid_directive = external_rule(
    id="invalid-directive",
    severity=Severity.ERROR,
    family="meta",
    summary="A `guard:` directive comment is malformed, names an unknown rule, or lacks a reason.",
    why="""
        A suppression that names a misspelt rule silences nothing while looking like it does, and a
        suppression without a reason leaves reviewers guessing. Both are refused.
    """,
    fix="Write `-- guard: ignore <rule-id>[, <rule-id>] reason: <why this is safe>`; list ids with `migration-guard rules`.",
    bad="-- guard: ignore avoid-drop-colum\nALTER TABLE users DROP COLUMN legacy;",
    good="-- guard: ignore avoid-drop-column reason: legacy was never read by any release\nALTER TABLE users DROP COLUMN legacy;",
)

unused_suppression = external_rule(
    id="unused-suppression",
    severity=Severity.WARNING,
    family="meta",
    summary="A suppression directive silenced nothing.",
    why="A stale suppression hides the next real problem on that line and misleads reviewers.",
    fix="Remove the directive, or move it directly above the statement it is meant for.",
    bad="-- guard: ignore avoid-drop-table reason: old\nCREATE TABLE t (id bigint);",
    good="CREATE TABLE t (id bigint);",
)

unused_baseline_entry = external_rule(
    id="unused-baseline-entry",
    severity=Severity.INFO,
    family="meta",
    summary="An entry of the lint baseline matches no finding any more.",
    why="""
        The baseline accepts findings that existing migrations had when migration-guard was adopted.
        An entry nothing matches (the rule was fixed, the statement changed, the migration is gone)
        would accept the next finding that happens to match it; shrinking the file keeps it honest.
    """,
    fix="Run `migration-guard baseline` to rewrite the file without it.",
    bad='{"migration": "20240101_a", "rule": "avoid-drop-column", "count": 1, ...} (no such finding)',
    good="(the entry removed by `migration-guard baseline`)",
)

duplicate_version = external_rule(
    id="duplicate-version",
    severity=Severity.ERROR,
    family="discovery",
    summary="Two migrations share one version.",
    why="Runners order and record migrations by version; two with the same version run in an undefined order or one is skipped.",
    fix="Give one of them a new, later version (rename its file or folder).",
    bad="20240101000000_a/up.sql and 20240101000000_b/up.sql",
    good="20240101000000_a/up.sql and 20240101000001_b/up.sql",
)

unversioned_migration = external_rule(
    id="unversioned-migration",
    severity=Severity.ERROR,
    family="discovery",
    summary="A migration file whose name carries no version.",
    why="Without a version the file has no place in the order, so runners skip it or fail on it.",
    fix="Rename it to the layout's pattern, e.g. `<timestamp>_<name>`.",
    bad="add_users/up.sql",
    good="20240101000000_add_users/up.sql",
)

orphan_down_migration = external_rule(
    id="orphan-down-migration",
    severity=Severity.ERROR,
    family="discovery",
    summary="A down migration with no matching up migration.",
    why="A down without its up usually means the up was renamed or deleted; the rollback would undo something that never ran.",
    fix="Restore or rename the up file so both share the version and name, or delete the stray down file.",
    bad="20240101000000_a.down.sql (no 20240101000000_a.up.sql)",
    good="20240101000000_a.up.sql and 20240101000000_a.down.sql",
)

malformed_dbmate_migration = external_rule(
    id="malformed-dbmate-migration",
    severity=Severity.ERROR,
    family="discovery",
    summary="A dbmate migration without a `-- migrate:up` section, with SQL before it, or with repeated markers.",
    why="""
        dbmate refuses a file with no `-- migrate:up` marker or with statements before the first marker,
        and when a marker appears twice it uses only the first of each: the SQL after the second
        `-- migrate:up` silently becomes part of the down section (or the up section swallows the down).
    """,
    fix="Keep exactly one `-- migrate:up` and one `-- migrate:down` marker per file, with all SQL below them; split extra changes into a new migration.",
    bad="CREATE TABLE t (id bigint);\n-- migrate:down\nDROP TABLE t;",
    good="-- migrate:up\nCREATE TABLE t (id bigint);\n-- migrate:down\nDROP TABLE t;",
)

malformed_drizzle_migration = external_rule(
    id="malformed-drizzle-migration",
    severity=Severity.ERROR,
    family="discovery",
    summary="A Drizzle migration whose `--> statement-breakpoint` markers split it differently from its SQL.",
    why="""
        drizzle-kit migrate splits the file on the literal `--> statement-breakpoint` and sends each piece
        as one query. A marker inside a string, quoted identifier or block comment cuts a statement in
        two, and a statement with no `;` before its marker runs into the next one for every tool that
        splits on `;`, so what is linted is not what drizzle runs.
    """,
    fix="Keep `--> statement-breakpoint` on a line of its own, directly after a statement's `;`.",
    bad="CREATE TABLE t (id bigint)\n--> statement-breakpoint\nCREATE INDEX t_id ON t (id);",
    good="CREATE TABLE t (id bigint);\n--> statement-breakpoint\nCREATE INDEX t_id ON t (id);",
)

drizzle_journal_mismatch = external_rule(
    id="drizzle-journal-mismatch",
    severity=Severity.ERROR,
    family="discovery",
    summary="Drizzle's `meta/_journal.json` and the migration files disagree.",
    why="""
        drizzle-kit migrate runs exactly the journal's entries, in its order, and skips an entry whose
        `when` is not later than the last one a database applied. A `.sql` file with no entry never
        runs, an entry with no file stops every deploy, an entry with an older `when` is skipped for
        good on databases that already applied a later one, and a journal order that disagrees with
        the file numbers applies migrations in a different order than migration-guard does.
    """,
    fix="Create migrations with `drizzle-kit generate` (`--custom` for hand-written SQL) and never edit the journal by hand.",
    bad="drizzle/0002_extra.sql with no `0002_extra` entry in drizzle/meta/_journal.json",
    good="drizzle/0002_extra.sql created by `drizzle-kit generate --custom --name extra`",
)

ignored_migration_file = external_rule(
    id="ignored-migration-file",
    severity=Severity.WARNING,
    family="discovery",
    summary="A `.sql` file (or symlinked folder) in the migrations folder that the detected layout does not run.",
    why="""
        The runner of the detected layout skips this file, so nothing checks or applies it. It is
        often a migration named for another tool (a dbmate file among golang-migrate files), a
        misspelt name, or a script that belongs elsewhere.
    """,
    fix="Rename it to the layout's pattern, move it out of the migrations folder, list it under `exclude` in the config, or pass `--layout` if the wrong layout was detected.",
    bad="migrations/20240101000000_a.up.sql and migrations/20240102000000_b.sql (golang-migrate skips b)",
    good="migrations/20240101000000_a.up.sql and migrations/20240102000000_b.up.sql",
)
