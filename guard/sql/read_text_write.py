"""Row statements read from tokens: plain `UPDATE` and `DELETE`, and the `WITH` statements that
end in one (or in an `INSERT`), with what their `WITH` clauses write (see `guard.sql.read_text`,
which re-exports these).

A rule asks a row statement only for its target, whether a condition bounds it, and which
clauses write rows: all of it sits outside parentheses (a subquery's `WHERE` is always inside
them), so no grammar is needed. What does not fit these shapes (`MERGE`, `WITH ... SELECT`, a
`WITH` clause that is itself a `WITH`) returns None and goes to sqlglot's tree
(`guard.sql.read_tree_data`); `tests/test_sql_read.py` proves both agree on the corpus.
"""

from __future__ import annotations

from guard.sql.facts import Fact, Insert, Write
from guard.sql.read_text_common import Tokens, at, group_end, is_punct, name_of, skip, top_level, uppers
from guard.tokens import read_qualified_name


def write(tokens: Tokens) -> Write | None:
    """`UPDATE [ONLY] t ... [WHERE ...]` or `DELETE FROM [ONLY] t ... [WHERE ...]`: the target, and
    whether a `WHERE` outside parentheses bounds it. None for any other statement."""
    ups = uppers(tokens[:2])
    if ups[:1] == ("UPDATE",):
        verb, i = "update", 1
    elif ups == ("DELETE", "FROM"):
        verb, i = "delete", 2
    else:
        return None
    parts, _ = read_qualified_name(tokens, skip(tokens, i, "ONLY"))
    if not parts:
        return None
    bounded = any(tokens[k].upper == "WHERE" for k in top_level(tokens))
    return Write(verb, name_of(parts), bounded=bounded)


def with_statement(tokens: Tokens) -> Fact | None:
    """`WITH [RECURSIVE] a [(cols)] AS [[NOT] MATERIALIZED] (body), ... UPDATE | DELETE | INSERT ...`:
    the final statement's fact, with the `UPDATE`/`DELETE` clauses before it in `ctes` (each
    runs in full whatever the final statement does). None for any other shape."""
    i = skip(tokens, 1, "RECURSIVE") if uppers(tokens[:1]) == ("WITH",) else 0
    if not i:
        return None
    ctes: list[Write] = []
    while True:
        parts, i = read_qualified_name(tokens, i)
        if len(parts) != 1:
            return None
        if is_punct(at(tokens, i), "("):
            i = group_end(tokens, i) + 1
        if uppers(tokens[i : i + 1]) != ("AS",):
            return None
        i = skip(tokens, skip(tokens, i + 1, "NOT"), "MATERIALIZED")
        if not is_punct(at(tokens, i), "("):
            return None
        end = group_end(tokens, i)
        body = tokens[i + 1 : end]
        verb = uppers(body[:1])
        if verb in (("UPDATE",), ("DELETE",)):
            found = write(body)
            if found is None:
                return None
            ctes.append(found)
        elif verb not in (("SELECT",), ("INSERT",), ("VALUES",)):
            return None
        i = end + 1
        if not is_punct(at(tokens, i), ","):
            break
        i += 1
    rest = tokens[i:]
    head = uppers(rest[:1])
    if head in (("UPDATE",), ("DELETE",)):
        final = write(rest)
        return Write(final.verb, final.table, final.bounded, ctes=tuple(ctes)) if final else None
    if head == ("INSERT",) and uppers(rest[1:2]) == ("INTO",):
        parts, _ = read_qualified_name(rest, 2)
        return Insert(name_of(parts), select=True, ctes=tuple(ctes)) if parts else None
    return None
