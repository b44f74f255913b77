"""The token reader: fills the statement model (`guard.sql.facts`) from `guard.tokens` for the
Postgres forms sqlglot returns as `exp.Command` or misreads, and as the fallback when sqlglot
cannot parse a statement at all.

Each public function takes a statement's tokens (`Statement.tokens`) and returns its fact,
or None when the tokens are not that shape; `guard.sql.read` decides which one to ask.
`ALTER TABLE` lives in `read_text_alter`, `CREATE` in `read_text_create`, `UPDATE`, `DELETE`
and `WITH` in `read_text_write`; all are re-exported here so callers import one module.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

from guard.sql.facts import (
    NO_NAME,
    AlterEnum,
    AlterOther,
    Code,
    Drop,
    Maintenance,
    Name,
    Rename,
    Setting,
    Transaction,
    Truncate,
)
from guard.sql.read_text_alter import alter_table
from guard.sql.read_text_common import (
    Tokens,
    at,
    first_string,
    group_end,
    is_punct,
    name_of,
    read_constraint,
    read_kind,
    read_name,
    skip,
    sql_of,
    top_level,
    uppers,
    words_of,
)
from guard.sql.read_text_create import create_index, create_object, create_table
from guard.sql.read_text_write import with_statement, write
from guard.tokens import IDENT, NUMBER, PUNCT, STRING, WORD, read_qualified_name, split_on

if TYPE_CHECKING:
    from guard.txcontrol import TxControl

__all__ = [
    "alter_enum",
    "alter_other",
    "alter_table",
    "calls",
    "code",
    "create_index",
    "create_object",
    "create_table",
    "drop",
    "maintenance",
    "relations_read",
    "rename",
    "setting",
    "transaction",
    "truncate",
    "with_statement",
    "write",
]

#: Kinds whose DROP/ALTER names the table the object lives on: `DROP TRIGGER t ON tbl`.
_ON_TABLE_KINDS = frozenset({("TRIGGER",), ("POLICY",), ("RULE",)})
#: `ALTER` kinds that name no object: `ALTER DEFAULT PRIVILEGES ...`, `ALTER SYSTEM SET ...`.
_UNNAMED_KINDS = frozenset({("DEFAULT", "PRIVILEGES"), ("SYSTEM",)})


def _kind_name(kind_words: tuple[str, ...]) -> str:
    return "owned" if kind_words == ("OWNED", "BY") else " ".join(kind_words).lower()


def drop(tokens: Tokens) -> Drop | None:
    """`DROP <kind> [CONCURRENTLY] [IF EXISTS] name [(args)], ... [ON table] [CASCADE|RESTRICT]`
    for every kind (`DROP OWNED BY role` names the roles)."""
    if uppers(tokens[:1]) != ("DROP",):
        return None
    kind_words, i = read_kind(tokens, 1)
    if not kind_words:
        return None
    concurrently = uppers(tokens[i : i + 1]) == ("CONCURRENTLY",)
    i = skip(tokens, i, "CONCURRENTLY")
    if_exists = uppers(tokens[i : i + 2]) == ("IF", "EXISTS")
    i = skip(tokens, i, "IF", "EXISTS")
    rest = tokens[i:]
    on: Name | None = None
    if kind_words in _ON_TABLE_KINDS:
        ups = uppers(rest)
        if "ON" in ups:
            on = read_name(rest, ups.index("ON") + 1)[0]
            rest = rest[: ups.index("ON")]
    names: list[Name] = []
    for part in split_on(rest, ","):
        parts, _ = read_qualified_name(part, 0)
        if parts and parts[0].upper not in ("CASCADE", "RESTRICT"):
            names.append(name_of(parts))
    after = tokens[i:]
    cascade = any(after[k].upper == "CASCADE" for k in top_level(after))
    return Drop(
        _kind_name(kind_words),
        tuple(names),
        if_exists,
        cascade,
        concurrently,
        " ".join(kind_words),
        on,
    )


def _alter_head(tokens: Tokens) -> tuple[tuple[str, ...], Name, int, bool] | None:
    """(kind words, name, index after the name and any `(args)`, IF EXISTS) of `ALTER <kind> ...`."""
    if uppers(tokens[:1]) != ("ALTER",):
        return None
    kind_words, i = read_kind(tokens, 1)
    if not kind_words:
        return None
    if kind_words in _UNNAMED_KINDS:
        return kind_words, NO_NAME, i, False
    if_exists = uppers(tokens[i : i + 2]) == ("IF", "EXISTS")
    i = skip(tokens, i, "IF", "EXISTS")
    if kind_words == ("FOREIGN", "TABLE"):
        i = skip(tokens, i, "ONLY")  # `ALTER FOREIGN TABLE [IF EXISTS] [ONLY] name`
    name, i = read_name(tokens, i)
    if is_punct(at(tokens, i), "("):
        i = group_end(tokens, i) + 1
    return kind_words, name, i, if_exists


def _on(tokens: Tokens, i: int) -> tuple[Name | None, int]:
    if uppers(tokens[i : i + 1]) == ("ON",):
        return read_name(tokens, i + 1)
    return None, i


def rename(tokens: Tokens) -> Rename | None:
    """`ALTER <kind> [IF EXISTS] name [(args)] [ON table] RENAME TO new` for every kind but tables;
    `ALTER TYPE t RENAME VALUE 'a' TO 'b'` ("enum value", `of` the type); `RENAME ATTRIBUTE` and a
    view's `RENAME COLUMN` ("attribute"/"column", `of` the type or view). A trigger's, policy's
    or rule's table is its `of`."""
    head = _alter_head(tokens)
    if head is None or head[0] == ("TABLE",):
        return None
    kind_words, name, i, if_exists = head
    on, i = _on(tokens, i)
    w = uppers(tokens[i : i + 3])
    if w[:2] == ("RENAME", "TO") and i + 2 < len(tokens):
        return Rename(_kind_name(kind_words), name, read_name(tokens, i + 2)[0], on, if_exists)
    if w[:1] != ("RENAME",) or len(w) < 2:
        return None
    sub = {"VALUE": "enum value", "ATTRIBUTE": "attribute", "COLUMN": "column"}.get(w[1])
    j = i + 2 if sub else i + 1
    old, new = at(tokens, j), at(tokens, j + 2)
    if old is None or new is None or uppers(tokens[j + 1 : j + 2]) != ("TO",):
        return None
    return Rename(sub or "column", Name(old.name, old.shown()), Name(new.name, new.shown()), name, if_exists)


def alter_enum(tokens: Tokens) -> AlterEnum | None:
    """`ALTER TYPE t ADD VALUE [IF NOT EXISTS] 'v' [BEFORE|AFTER 'w']`."""
    if uppers(tokens[:2]) != ("ALTER", "TYPE"):
        return None
    name, i = read_name(tokens, 2)
    if uppers(tokens[i : i + 2]) != ("ADD", "VALUE"):
        return None
    i += 2
    if_not_exists = uppers(tokens[i : i + 3]) == ("IF", "NOT", "EXISTS")
    i = skip(tokens, i, "IF", "NOT", "EXISTS")
    value = at(tokens, i)
    if value is None or value.kind != STRING:
        return None
    where, other = uppers(tokens[i + 1 : i + 2]), at(tokens, i + 2)
    anchor = other.text if other is not None and other.kind == STRING else None
    return AlterEnum(
        name,
        value.text,
        anchor if where == ("BEFORE",) else None,
        anchor if where == ("AFTER",) else None,
        if_not_exists,
    )


def alter_other(tokens: Tokens) -> AlterOther | None:
    """`ALTER <kind> name ...` that is not `ALTER TABLE`, a rename or an enum `ADD VALUE`
    (`ALTER SEQUENCE s RESTART`, `ALTER DOMAIN d ADD CONSTRAINT ... [NOT VALID]`, `OWNER TO`...)."""
    head = _alter_head(tokens)
    if head is None or head[0] == ("TABLE",) or rename(tokens) is not None or alter_enum(tokens):
        return None
    kind_words, name, i, _ = head
    rest = tokens[i:]
    constraint = None
    if kind_words == ("DOMAIN",) and uppers(rest[:1]) == ("ADD",):
        constraint = read_constraint(rest[1:])
    return AlterOther(_kind_name(kind_words), name, words_of(rest), constraint)


def truncate(tokens: Tokens) -> Truncate | None:
    """`TRUNCATE [TABLE] [ONLY] name [*], ... [RESTART|CONTINUE IDENTITY] [CASCADE|RESTRICT]`."""
    if uppers(tokens[:1]) != ("TRUNCATE",):
        return None
    i = skip(tokens, 1, "TABLE")
    names = []
    for part in split_on(tokens[i:], ","):
        parts, _ = read_qualified_name(part, 1 if part[0].upper == "ONLY" else 0)
        if parts and parts[0].upper not in ("RESTART", "CONTINUE", "CASCADE", "RESTRICT"):
            names.append(name_of(parts))
    return Truncate(tuple(names), "CASCADE" in uppers(tokens[i:]))


def _options(tokens: Tokens, i: int) -> tuple[tuple[str, ...], int]:
    """The words of a `(opt, opt value, ...)` list at `i` and the index after it."""
    if not is_punct(at(tokens, i), "("):
        return (), i
    end = group_end(tokens, i)
    return tuple(" ".join(words_of(p)) for p in split_on(tokens[i + 1 : end], ",")), end + 1


def _option_on(options: tuple[str, ...], word: str) -> bool:
    return any(o.split()[:1] == [word] and o.split()[1:2] not in (["FALSE"], ["OFF"], ["0"]) for o in options)


def maintenance(tokens: Tokens) -> Maintenance | None:
    """`REINDEX`, `VACUUM`, `CLUSTER`, `LOCK`, `REFRESH MATERIALIZED VIEW` and `ANALYZE`."""
    verb = uppers(tokens[:1])[0] if tokens else ""
    if verb == "REINDEX":
        options, i = _options(tokens, 1)
        kind = tokens[i].upper.lower() if i < len(tokens) else ""
        i += 1
        concurrently = uppers(tokens[i : i + 1]) == ("CONCURRENTLY",) or _option_on(options, "CONCURRENTLY")
        target, _ = read_name(tokens, skip(tokens, i, "CONCURRENTLY"))
        return Maintenance("reindex", target if target.key else None, kind, concurrently, options=options)
    if verb in ("VACUUM", "ANALYZE", "ANALYSE", "CLUSTER"):
        i, flags = 1, set()
        while i < len(tokens) and tokens[i].upper in ("FULL", "FREEZE", "VERBOSE", "ANALYZE", "ANALYSE"):
            flags.add(tokens[i].upper)
            i += 1
        options, i = _options(tokens, i)
        target, _ = read_name(tokens, i)
        full = "FULL" in flags or _option_on(options, "FULL")
        name = "analyze" if verb == "ANALYSE" else verb.lower()
        return Maintenance(name, target if target.key else None, full=full, options=options)
    if verb == "LOCK":
        i = skip(tokens, skip(tokens, 1, "TABLE"), "ONLY")
        target, i = read_name(tokens, i)
        ups = uppers(tokens)
        mode = "access exclusive"
        if "IN" in ups[i:] and "MODE" in ups[i:]:
            start = ups.index("IN", i) + 1
            mode = " ".join(ups[start : ups.index("MODE", start)]).lower()
        return Maintenance("lock", target if target.key else None, mode)
    if uppers(tokens[:3]) == ("REFRESH", "MATERIALIZED", "VIEW"):
        concurrently = uppers(tokens[3:4]) == ("CONCURRENTLY",)
        target, _ = read_name(tokens, skip(tokens, 3, "CONCURRENTLY"))
        return Maintenance("refresh", target if target.key else None, "materialized view", concurrently)
    return None


def code(tokens: Tokens) -> Code | None:
    """`DO [LANGUAGE x] 'body' [LANGUAGE x]`: the body (dollar-quoted or quoted) and its language."""
    if uppers(tokens[:1]) != ("DO",):
        return None
    body = first_string(tokens[1:])
    if body is None:
        return None
    ups = uppers(tokens)
    language = "plpgsql"
    if "LANGUAGE" in ups and ups.index("LANGUAGE") + 1 < len(tokens):
        language = tokens[ups.index("LANGUAGE") + 1].name.lower()
    return Code(body.text, language)


def calls(tokens: Tokens) -> frozenset[str]:
    """Names (folded, no schema) followed by `(`: the functions a statement (or a body) may call
    (`IN (`, `EXISTS (` and other keywords a parenthesis follows are not calls)."""
    return frozenset(
        t.name
        for t, nxt in pairwise(tokens)
        if nxt.kind == PUNCT
        and nxt.text == "("
        and (t.kind == IDENT or (t.kind == WORD and t.upper not in _NOT_CALLS))
    )


def setting(tokens: Tokens) -> Setting | None:
    """`SET [SESSION|LOCAL] name {=|TO} value`, `SET TIME ZONE v` and `RESET name|ALL`."""
    verb = uppers(tokens[:1])
    if verb == ("RESET",) and len(tokens) > 1:
        parts, _ = read_qualified_name(tokens, 1)
        return Setting(".".join(p.name for p in parts).lower() or "all", reset=True)
    if verb != ("SET",):
        return None
    local = uppers(tokens[1:2]) == ("LOCAL",)
    i = skip(tokens, skip(tokens, 1, "LOCAL"), "SESSION")
    if uppers(tokens[i : i + 2]) == ("TIME", "ZONE"):
        name, i = "timezone", i + 2
    elif uppers(tokens[1:3]) == ("SESSION", "AUTHORIZATION"):
        name, i = "session authorization", 3
    else:
        parts, i = read_qualified_name(tokens, i)
        if not parts:
            return None
        name = ".".join(p.name for p in parts).lower()
    if is_punct(at(tokens, i), "=") or uppers(tokens[i : i + 1]) == ("TO",):
        i += 1
    rest = tokens[i:]
    value: str | None = None
    if len(rest) == 1 and rest[0].kind in (STRING, NUMBER, WORD):
        value = rest[0].text
    elif rest:
        value = sql_of(rest)
    return Setting(name, value, local)


#: Words a `(` follows without calling anything (`IN (1, 2)`, `EXISTS (...)`, `ROW (...)`).
_NOT_CALLS = frozenset(
    {
        "IN", "EXISTS", "ANY", "ALL", "SOME", "VALUES", "AND", "OR", "NOT", "SELECT", "WHERE", "AS",
        "FROM", "ON", "WHEN", "THEN", "ELSE", "CASE", "BY", "ROW", "JOIN", "HAVING", "OVER", "USING",
        "IS", "LIKE", "BETWEEN", "DISTINCT", "RETURNING", "WITH", "LATERAL",
    }
)  # fmt: skip


def relations_read(tokens: Tokens) -> tuple[Name, ...]:
    """The tables and views a `SELECT` reads: the name after each `FROM` or `JOIN` (NO_NAME
    for a subquery or other form read no further)."""
    out = []
    for i, t in enumerate(tokens):
        if t.kind == WORD and t.upper in ("FROM", "JOIN"):
            name, _ = read_name(tokens, skip(tokens, i + 1, "ONLY"))
            out.append(name)
    return tuple(out)


#: `guard.txcontrol` kinds -> `Transaction.action` (and whether it chains).
_TX_ACTIONS = {
    "begin": ("begin", False),
    "commit": ("commit", False),
    "commit and chain": ("commit", True),
    "rollback": ("rollback", False),
    "rollback and chain": ("rollback", True),
    "rollback to savepoint": ("rollback to", False),
    "savepoint": ("savepoint", False),
    "release savepoint": ("release", False),
    "prepare transaction": ("prepare", False),
    "commit prepared": ("commit prepared", False),
    "rollback prepared": ("rollback prepared", False),
}


def transaction(control: TxControl | None) -> Transaction | None:
    """Transaction control as the model records it, from `guard.txcontrol`'s reading (the runner's
    own, so the linter and the runner never disagree on what a statement does to the transaction)."""
    if control is None:
        return None
    action, chain = _TX_ACTIONS[control.kind]
    words = control.stmt.words
    keyword = " ".join(words[:2]) if words[:1] == ("START",) else " ".join(words[:1])
    return Transaction(action, chain, control.modes, control.savepoint, keyword)
