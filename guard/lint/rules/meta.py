"""Rules about the analysis itself: statements sqlglot could not structure, directives,
and problems found while discovering migration files."""

from __future__ import annotations

from collections.abc import Iterator

from guard.lint.context import FileContext
from guard.lint.registry import external_rule, rule
from guard.model import Hit, Severity
from guard.parsing import Statement, head_is_lead

# Statement shapes whose danger (if any) is judged from tokens by other rules, so an
# `exp.Command` of these shapes is analysed, not blind. Keys are leading keyword tuples.
ANALYSED_COMMAND_SHAPES: tuple[tuple[str, ...], ...] = (
    ("BEGIN",),
    ("START", "TRANSACTION"),
    ("COMMIT",),
    ("END",),
    ("ROLLBACK",),
    ("ABORT",),
    ("SAVEPOINT",),
    ("RELEASE",),
    ("SET",),
    ("RESET",),
    ("SHOW",),
    ("COMMENT", "ON"),
    ("GRANT",),
    ("REVOKE",),
    ("ANALYZE",),
    ("ANALYSE",),
    ("VACUUM",),
    ("CLUSTER",),
    ("REINDEX",),
    ("LOCK",),
    ("CREATE", "EXTENSION"),
    ("CREATE", "SCHEMA"),
    ("CREATE", "SEQUENCE"),
    ("CREATE", "TRIGGER"),
    ("CREATE", "OR", "REPLACE", "TRIGGER"),
    ("CREATE", "CONSTRAINT", "TRIGGER"),
    ("CREATE", "POLICY"),
    ("ALTER", "POLICY"),
    ("DROP", "POLICY"),
    ("CREATE", "FUNCTION"),
    ("CREATE", "OR", "REPLACE", "FUNCTION"),
    ("CREATE", "PROCEDURE"),
    ("CREATE", "OR", "REPLACE", "PROCEDURE"),
    ("CREATE", "TYPE"),
    ("CREATE", "DOMAIN"),
    ("CREATE", "ROLE"),
    ("CREATE", "USER"),
    ("CREATE", "PUBLICATION"),
    ("CREATE", "AGGREGATE"),
    ("CREATE", "OR", "REPLACE", "AGGREGATE"),
    ("CREATE", "COLLATION"),
    ("CREATE", "OPERATOR"),
    ("CREATE", "CAST"),
    ("CREATE", "TEXT", "SEARCH"),
    ("CREATE", "EVENT", "TRIGGER"),
    ("CREATE", "RULE"),
    ("CREATE", "OR", "REPLACE", "RULE"),
    ("ALTER", "TYPE"),
    ("ALTER", "DOMAIN"),
    ("ALTER", "SEQUENCE"),
    ("ALTER", "FUNCTION"),
    ("ALTER", "PROCEDURE"),
    ("ALTER", "EXTENSION"),
    ("ALTER", "ROLE"),
    ("ALTER", "USER"),
    ("ALTER", "DEFAULT", "PRIVILEGES"),
    ("ALTER", "PUBLICATION"),
    ("ALTER", "SCHEMA"),
    ("ALTER", "TRIGGER"),
    ("ALTER", "INDEX"),
    ("ALTER", "MATERIALIZED", "VIEW"),
    ("ALTER", "VIEW"),
    ("ALTER", "TABLE"),
    ("ALTER", "DATABASE"),
    # Only the DROP forms some rule judges; `DROP ROLE`, `DROP SERVER`, `DROP FOREIGN TABLE`, ... are
    # unanalysed (warned about), never silently passed.
    ("DROP", "TABLE"),
    ("DROP", "SCHEMA"),
    ("DROP", "DATABASE"),
    ("DROP", "TYPE"),
    ("DROP", "DOMAIN"),
    ("DROP", "VIEW"),
    ("DROP", "MATERIALIZED", "VIEW"),
    ("DROP", "FUNCTION"),
    ("DROP", "PROCEDURE"),
    ("DROP", "SEQUENCE"),
    ("DROP", "EXTENSION"),
    ("DROP", "OWNED", "BY"),
    ("DROP", "INDEX"),
    ("DROP", "TRIGGER"),
    ("TRUNCATE",),
    ("DO",),
    ("SELECT",),
    ("INSERT",),
    ("UPDATE",),
    ("DELETE",),
    ("WITH",),
    ("CALL",),
    ("REFRESH", "MATERIALIZED", "VIEW"),
    ("NOTIFY",),
    ("CREATE", "INDEX"),
    ("CREATE", "UNIQUE", "INDEX"),
    ("CREATE", "TABLE"),
    ("CREATE", "VIEW"),
    ("CREATE", "OR", "REPLACE", "VIEW"),
    ("CREATE", "MATERIALIZED", "VIEW"),
    ("CREATE", "UNLOGGED", "TABLE"),
    ("CREATE", "TEMP"),
    ("CREATE", "TEMPORARY"),
)


_SHAPES = frozenset(ANALYSED_COMMAND_SHAPES)
#: First keyword -> the lengths of the shapes starting with it (shortest first).
_LENGTHS_BY_HEAD: dict[str, tuple[int, ...]] = {}
for _shape in ANALYSED_COMMAND_SHAPES:
    _LENGTHS_BY_HEAD[_shape[0]] = tuple(sorted({*_LENGTHS_BY_HEAD.get(_shape[0], ()), len(_shape)}))
#: Heads that are a whole shape by themselves (`INSERT`, `DROP`, ...).
_ONE_WORD_SHAPES = frozenset(shape[0] for shape in ANALYSED_COMMAND_SHAPES if len(shape) == 1)


def is_analysed_shape(words: tuple[str, ...]) -> bool:
    """True when some rule judges statements starting with these keywords from tokens."""
    # Indexed by first keyword: this runs once per statement, data files have 100k of them.
    lengths = _LENGTHS_BY_HEAD.get(words[0]) if words else None
    if lengths is None:
        return False
    for n in lengths:  # noqa: SIM110 (a loop, not any(): no generator per statement)
        if words[:n] in _SHAPES:
            return True
    return False


@rule(
    id="unanalysed-statement",
    severity=Severity.WARNING,
    family="meta",
    summary="A statement the parser could not structure, so no rule could judge it.",
    why="""
        migration-guard never treats SQL it cannot analyse as safe. This statement did not parse
        (or parsed only as an opaque command) and matches no shape the token checks understand, so
        it may drop, rewrite or lock something without any rule noticing.
    """,
    fix="""
        Review the statement by hand. If it is safe, suppress with
        `-- guard: ignore unanalysed-statement reason: <why>`; set its severity to `error` in the
        config to make unanalysed SQL block merges.
    """,
    bad="CREATE STATISTICS s1 (dependencies) ON a, b FROM t1;",
    good="CREATE TABLE t1 (a int, b int);",
)
def unanalysed_statement(stmt: Statement, ctx: FileContext) -> Iterator[Hit]:
    # Shape first: `is_command` parses the statement, which a data file's 100k INSERTs cannot afford.
    if stmt.unterminated is None:
        head = stmt.head
        # A one-word shape matches without reading the leading words (a data load's INSERTs).
        if head in _ONE_WORD_SHAPES and head_is_lead(stmt):
            return
        if is_analysed_shape(stmt.lead) or not stmt.is_command:
            return
    reason = stmt.unterminated or stmt.parse_error or "parsed only as an opaque command"
    first = " ".join(stmt.lead[:3]) or stmt.text[:30]
    yield Hit(
        f"could not analyse this `{first} ...` statement ({reason}); no rule has judged it",
        "review it by hand, then suppress with `-- guard: ignore unanalysed-statement reason: ...`",
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
