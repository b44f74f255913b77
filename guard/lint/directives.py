"""Directive comments: suppressions, the contract marker, no-transaction and preconditions.

Syntax (in `--` or `/* */` comments; `migration-guard:` works as well as `guard:`)::

    -- guard: ignore require-concurrent-index, avoid-drop-column reason: table is empty in every env
    -- guard: ignore-file avoid-volatile-default reason: backfill table, never read by the app
    -- guard: contract 20240101120000
    -- guard: no-transaction
    -- guard: precondition SELECT count(*) = 0 FROM users WHERE email_new IS NULL
    -- guard: irreversible reason: ALTER TYPE ... ADD VALUE cannot be undone in Postgres

`ignore` applies to the statement the comment precedes (or sits inside);
`ignore-file` to the whole file. A reason is mandatory, for `irreversible` too (it
declares that the up migration has no down: lint accepts the missing or no-op down and
`verify` applies the up without a round trip).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from guard.parsing import Comment

_PREFIX = re.compile(r"^\s*(?:migration-guard|guard)\s*:\s*(?P<body>.*)$", re.S | re.I)
_IGNORE = re.compile(r"^(?P<rules>[^:]*?)\s+reason\s*:\s*(?P<reason>.*\S)\s*$", re.S | re.I)
_VERSION = re.compile(r"^[0-9][0-9._]*$")
_REASON = re.compile(r"^reason\s*:\s*(?P<reason>.*\S)\s*$", re.S | re.I)
KNOWN_DIRECTIVES = ("ignore", "ignore-file", "contract", "no-transaction", "precondition", "irreversible")


@dataclass(frozen=True)
class Suppression:
    """An `ignore` / `ignore-file` directive."""

    rules: frozenset[str]
    reason: str
    line: int
    file_wide: bool


@dataclass(frozen=True)
class DirectiveProblem:
    """A malformed directive: reported as `invalid-directive`."""

    line: int
    message: str


@dataclass
class FileDirectives:
    """Everything the directive comments of one file declare."""

    contract: str | None = None
    contract_line: int = 0
    no_transaction: bool = False
    preconditions: list[tuple[int, str]] = field(default_factory=list)
    #: The reason of a `guard: irreversible` directive: the up migration cannot be undone.
    irreversible: str | None = None
    file_suppressions: list[Suppression] = field(default_factory=list)
    problems: list[DirectiveProblem] = field(default_factory=list)


def directive_body(comment: Comment) -> str | None:
    """The text after `guard:` when the comment is a directive, else None."""
    m = _PREFIX.match(comment.text)
    return m.group("body").strip() if m else None


def parse_suppression(
    comment: Comment, known_rules: Iterable[str] | None = None
) -> Suppression | DirectiveProblem | None:
    """Read one `ignore`/`ignore-file` directive; None when the comment is something else."""
    body = directive_body(comment)
    if body is None:
        return None
    word, _, rest = body.partition(" ")
    word = word.lower()
    if word not in ("ignore", "ignore-file"):
        return None
    m = _IGNORE.match(rest.strip())
    if not m:
        return DirectiveProblem(
            comment.line,
            f"`guard: {word}` needs rule ids and a reason, e.g. `-- guard: {word} avoid-drop-column reason: why it is safe`",
        )
    rules = frozenset(r.strip() for r in re.split(r"[,\s]+", m.group("rules")) if r.strip())
    if not rules:
        return DirectiveProblem(comment.line, f"`guard: {word}` names no rule")
    if known_rules is not None:
        known = set(known_rules)
        unknown = sorted(rules - known)
        if unknown:
            import difflib

            hints = [difflib.get_close_matches(u, list(known), n=1) for u in unknown]
            extra = "; ".join(f"did you mean {h[0]!r}?" for h in hints if h)
            return DirectiveProblem(
                comment.line,
                f"suppression names unknown rule {', '.join(unknown)}" + (f" ({extra})" if extra else ""),
            )
    return Suppression(rules, m.group("reason"), comment.line, word == "ignore-file")


def irreversible_reason(sql: str | None) -> str | None:
    """The reason of a file's `guard: irreversible` directive, or None when it has none."""
    if not sql or "irreversible" not in sql.lower():  # one C scan: almost no file has one
        return None
    from guard.parsing import split_statements

    return read_file_directives(split_statements(sql)[1], ()).irreversible


def declared_irreversible(up_sql: str, down_sql: str | None) -> str | None:
    """Why a migration cannot be undone, when its up or its down file says so with
    `guard: irreversible` (`migration-guard down` writes it at the top of a down it drafts)."""
    return irreversible_reason(up_sql) or irreversible_reason(down_sql)


def read_file_directives(comments: Iterable[Comment], known_rules: Iterable[str]) -> FileDirectives:
    """Collect file-level directives (everything but statement `ignore`s) from all comments of a file."""
    known = list(known_rules)
    out = FileDirectives()
    for comment in comments:
        body = directive_body(comment)
        if body is None:
            continue
        word, _, rest = body.partition(" ")
        word, rest = word.lower(), rest.strip()
        if word == "ignore":
            parsed = parse_suppression(comment, known)
            if isinstance(parsed, DirectiveProblem):
                out.problems.append(parsed)
        elif word == "ignore-file":
            parsed = parse_suppression(comment, known)
            if isinstance(parsed, Suppression):
                out.file_suppressions.append(parsed)
            elif parsed is not None:
                out.problems.append(parsed)
        elif word == "contract":
            version = rest.split()[0] if rest else ""
            if not _VERSION.match(version):
                out.problems.append(
                    DirectiveProblem(
                        comment.line,
                        "`guard: contract` needs the version of the expand migration, e.g. `-- guard: contract 20240101120000`",
                    )
                )
            elif out.contract is not None and out.contract != version:
                out.problems.append(
                    DirectiveProblem(
                        comment.line,
                        f"second `guard: contract` directive ({version}); a migration contracts one expand",
                    )
                )
            else:
                out.contract, out.contract_line = version, comment.line
        elif word == "no-transaction":
            out.no_transaction = True
        elif word == "irreversible":
            m = _REASON.match(rest)
            if m is None:
                out.problems.append(
                    DirectiveProblem(
                        comment.line,
                        "`guard: irreversible` needs a reason, e.g. "
                        "`-- guard: irreversible reason: ALTER TYPE ... ADD VALUE cannot be undone`",
                    )
                )
            else:
                out.irreversible = m.group("reason")
        elif word == "precondition":
            if not rest:
                out.problems.append(
                    DirectiveProblem(
                        comment.line, "`guard: precondition` needs a SQL query that returns true"
                    )
                )
            else:
                out.preconditions.append((comment.line, rest))
        else:
            out.problems.append(
                DirectiveProblem(
                    comment.line, f"unknown directive `guard: {word}`; known: {', '.join(KNOWN_DIRECTIVES)}"
                )
            )
    return out
