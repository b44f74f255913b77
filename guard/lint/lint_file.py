"""Lint one migration file: run the enabled rules over its statements in order, apply its
suppressions, and return its findings with file, line and severity.

`lint_migration` is a pure function of one migration plus the settings and the
versions around it, so its result can be cached by content and computed in worker
processes (`guard.lint.pool`); `guard.lint.engine` runs it over whole folders.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from guard.config import Settings
from guard.model import Finding, Hit, Migration, Rule
from guard.paths import display_path

# The rules, the parser and the directive reader load on first lint, not on import: a run
# answered from the cache (see `guard.lint.folder_cache`) never needs them.
if TYPE_CHECKING:
    from guard.lint.directives import Suppression
    from guard.lint.schema_index import SchemaIndex
    from guard.parsing import Statement


class RuleSet(Sequence[Rule]):
    """Enabled rules indexed by the statement facts they judge, so each statement meets only the
    rules that want its kind (`Rule.facts`; a rule naming none judges every statement).

    Build it once per run and pass it as `rules` to `lint_migration`: indexing the rules
    for every migration costs more than linting a small one.
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        by_fact: dict[type, list[Rule]] = {}
        every: list[Rule] = []
        self.file_rules: list[Rule] = []
        for r in self.rules:
            if r.check is None or r.scope == "external":
                continue
            if r.scope == "file":
                self.file_rules.append(r)
            elif r.facts:
                for kind in r.facts:
                    by_fact.setdefault(kind, []).append(r)
            else:
                every.append(r)
        # Each kind's list already ends with the rules that judge every statement (one lookup per
        # statement), as (rule, check) pairs: only rules with a check are indexed, as mypy is told.
        self._every = tuple((r, r.check) for r in every)
        self._checks = {
            kind: tuple((r, r.check) for r in (*found, *every)) for kind, found in by_fact.items()
        }

    def checks_for(self, stmt: Statement) -> tuple[tuple[Rule, Any], ...]:
        """The (rule, check) pairs to run on `stmt`, chosen by its fact's kind."""
        return self._checks.get(type(stmt.fact), self._every)

    def __getitem__(self, index: Any) -> Any:
        return self.rules[index]

    def __len__(self) -> int:
        return len(self.rules)


def lint_migration(
    migration: Migration,
    settings: Settings,
    migrations: Sequence[Migration] = (),
    rules: Sequence[Rule] | None = None,
    schema: SchemaIndex | None = None,
) -> list[Finding]:
    """Lint one migration's up file (and its down, for reversibility) and return its findings.

    `schema` is the run's index over `migrations` (see `guard.lint.schema_index`);
    pass one shared index when linting many migrations of one list.
    """
    from guard.lint.context import FileContext
    from guard.lint.directives import read_file_directives
    from guard.lint.fingerprint import statement_at, statement_fingerprint
    from guard.lint.locks import finding_lock
    from guard.lint.registry import all_rules, selected_rules
    from guard.parsing import split_statements

    known = all_rules()
    if isinstance(rules, RuleSet):
        ruleset = rules
    else:
        ruleset = RuleSet(rules if rules is not None else selected_rules(settings))
    path = display_path(migration.up_path)
    if schema is not None:
        statements, comments = schema.statements(migration)  # shared with the index: split once
    else:
        statements, comments = split_statements(migration.up_sql, migration.up_line)
    directives = read_file_directives(comments, known.keys())
    ctx = FileContext(settings, migration, directives, migrations, path=path, schema_index=schema)
    findings: list[Finding] = []
    used: set[int] = set()  # lines of suppressions that silenced something

    def report(
        rule: Rule, hit: Hit, stmt: Statement | None, stmt_suppressions: Sequence[Suppression]
    ) -> None:
        for s in (*stmt_suppressions, *directives.file_suppressions):
            if rule.id in s.rules and rule.suppressible:
                used.add(s.line)
                return
        line = hit.line if hit.line is not None else (stmt.line if stmt else migration.up_line)
        end_line = stmt.end_line if stmt is not None and hit.line is None else line
        # The baseline's identity of the finding: its statement, not its line (none for a down file).
        if stmt is None and hit.file is None and hit.line is not None:
            stmt = statement_at(statements, hit.line)
        fingerprint = statement_fingerprint(stmt) if stmt is not None and hit.file is None else ""
        findings.append(
            Finding(
                rule=rule.id,
                severity=settings.severity_of(rule.id, hit.severity or rule.severity)
                if rule.suppressible
                else rule.severity,
                file=hit.file or path,
                line=line,
                end_line=end_line,
                message=hit.message,
                fix=hit.fix,
                migration=migration.id,
                lock=finding_lock(hit.lock, rule.lock),
                fingerprint=fingerprint,
            )
        )

    statement_suppressions: list[Suppression] = []
    checks_for = ruleset.checks_for
    observe = ctx.observe
    for stmt in statements:
        sups = _statement_suppressions(stmt, known.keys()) if stmt.comments else ()
        statement_suppressions.extend(sups)
        for rule, check in checks_for(stmt):
            for hit in check(stmt, ctx):
                report(rule, hit, stmt, sups)
        observe(stmt)
    for rule in ruleset.file_rules:
        assert rule.check is not None
        for hit in rule.check(statements, ctx):
            report(rule, hit, None, ())

    meta_invalid = known.get("invalid-directive")
    if meta_invalid is not None and meta_invalid.id not in settings.disable:
        for problem in directives.problems:
            report(
                meta_invalid, Hit(problem.message, "fix the directive comment", line=problem.line), None, ()
            )
    meta_unused = known.get("unused-suppression")
    if meta_unused is not None and meta_unused.id not in settings.disable:
        for s in (*statement_suppressions, *directives.file_suppressions):
            if s.line not in used:
                locked = sorted(r for r in s.rules if r in known and not known[r].suppressible)
                report(
                    meta_unused,
                    Hit(
                        f"suppression of {', '.join(sorted(s.rules))} silenced nothing"
                        + (f" ({', '.join(locked)} cannot be suppressed)" if locked else ""),
                        "remove the directive, or move it to the line before the statement it is for",
                        line=s.line,
                    ),
                    None,
                    (),
                )
    findings.sort(key=lambda f: (f.line, f.rule))
    return findings


def _statement_suppressions(stmt: Statement, known: Iterable[str]) -> list[Suppression]:
    from guard.lint.directives import DirectiveProblem, Suppression, parse_suppression

    out: list[Suppression] = []
    for comment in stmt.comments:
        parsed = parse_suppression(comment, known)
        if isinstance(parsed, Suppression) and not parsed.file_wide:
            out.append(parsed)
        elif isinstance(parsed, DirectiveProblem):
            pass  # reported once, from the file-level pass
    return out
