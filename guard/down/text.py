"""The text of a drafted down: a header saying how it was made, the irreversible directive when
something cannot come back, then the statements; and the check that sqlglot reads every one."""

from __future__ import annotations

from collections.abc import Sequence

from guard.parsing import split_statements

#: The directive the linter and `verify` read to know a migration is declared irreversible.
IRREVERSIBLE = "-- guard: irreversible reason:"

_HOW = {
    "inversion": "by inverting each statement of the up, in reverse order",
    "catalog": "from the catalog difference the up makes on a throwaway Postgres",
}


def draft_text(method: str, statements: Sequence[str], irreversible: Sequence[str]) -> str:
    """The down file's text: header, directive (when `irreversible`), one statement per block."""
    lines = [
        f"-- Drafted by `migration-guard down` {_HOW[method]};",
        "-- round-tripped (up, down, up) before it was written. Review it like any migration.",
    ]
    if irreversible:
        lines.append(f"{IRREVERSIBLE} {'; '.join(' '.join(r.split()) for r in irreversible)}")
    if not statements:
        lines.append("-- Nothing in the schema to undo.")
    out = "\n".join(lines) + "\n"
    for statement in statements:
        out += "\n" + statement.rstrip().rstrip(";").rstrip() + ";\n"
    return out


def unparsable(text: str) -> str | None:
    """The first statement of `text` sqlglot cannot read (with why), or None when it reads them all."""
    for st in split_statements(text)[0]:
        if st.ast is None:
            return f"line {st.line}: {st.parse_error}"
    return None
