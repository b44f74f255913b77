"""`CREATE TABLE`, `CREATE INDEX` and `CREATE <other object>` read from tokens (see
`guard.sql.read_text`, which re-exports them): the fallback when sqlglot cannot
structure the statement.
"""

from __future__ import annotations

from guard.sql.facts import NO_NAME, Column, Constraint, CreateIndex, CreateObject, CreateTable, Name
from guard.sql.read_text_common import (
    TABLE_CONSTRAINT_WORDS,
    Tokens,
    at,
    first_string,
    group_end,
    is_punct,
    read_column,
    read_constraint,
    read_kind,
    read_name,
    skip,
    sql_of,
    top_level,
    uppers,
)
from guard.tokens import IDENT, PUNCT, STRING, WORD, split_on

_TABLE_PREFIX = frozenset({"GLOBAL", "LOCAL", "TEMP", "TEMPORARY", "UNLOGGED"})
#: Words between `CREATE [OR REPLACE]` and an object kind that do not name the kind.
_OBJECT_PREFIX = frozenset({"TEMP", "TEMPORARY", "RECURSIVE", "TRUSTED", "GLOBAL", "LOCAL", "UNLOGGED"})
_ORDER_WORDS = frozenset({"ASC", "DESC", "NULLS", "FIRST", "LAST"})
#: Words that may follow a key column inside an index's key list (not an expression).
_AFTER_KEY_COLUMN = frozenset({"COLLATE", "ASC", "DESC", "NULLS"})


def create_table(tokens: Tokens) -> CreateTable | None:
    """`CREATE [TEMP|UNLOGGED] TABLE [IF NOT EXISTS] name (...) | AS ... | PARTITION OF p ...`."""
    if uppers(tokens[:1]) != ("CREATE",):
        return None
    i = 1
    prefix: set[str] = set()
    while i < len(tokens) and tokens[i].upper in _TABLE_PREFIX:
        prefix.add(tokens[i].upper)
        i += 1
    if i >= len(tokens) or tokens[i].upper != "TABLE":
        return None
    if_not_exists = uppers(tokens[i + 1 : i + 4]) == ("IF", "NOT", "EXISTS")
    i = skip(tokens, i + 1, "IF", "NOT", "EXISTS")
    table, i = read_name(tokens, i)
    if not table.key:
        return None
    partition_of: Name | None = None
    if uppers(tokens[i : i + 2]) == ("PARTITION", "OF"):
        partition_of, i = read_name(tokens, i + 2)
    columns: list[Column] = []
    constraints: list[Constraint] = []
    like = False
    if is_punct(at(tokens, i), "("):
        end = group_end(tokens, i)
        for part in split_on(tokens[i + 1 : end], ","):
            head = part[0].upper
            if head == "LIKE":
                like = True
            elif head in TABLE_CONSTRAINT_WORDS:
                if (constraint := read_constraint(part)) is not None:
                    constraints.append(constraint)
            elif (column := read_column(part)) is not None:
                columns.append(column)
        i = end + 1
    rest = tokens[i:]
    # `AS` may follow `WITH (...)`, `ON COMMIT ...` or `TABLESPACE s`.
    as_select = any(rest[k].upper == "AS" for k in top_level(rest))
    inherits = any(rest[k].upper == "INHERITS" for k in top_level(rest))
    return CreateTable(
        table,
        tuple(columns),
        tuple(constraints),
        as_select,
        if_not_exists,
        bool(prefix & {"TEMP", "TEMPORARY"}),
        "UNLOGGED" in prefix,
        partition_of,
        like,
        inherits,
    )


def create_index(tokens: Tokens) -> CreateIndex | None:
    """`CREATE [UNIQUE] INDEX [CONCURRENTLY] [[IF NOT EXISTS] name] ON [ONLY] t [USING m] (...)
    [INCLUDE (...)] [WITH (...)] [TABLESPACE s] [WHERE predicate]`."""
    w = uppers(tokens[:3])
    if w[:1] != ("CREATE",):
        return None
    unique = w[1:2] == ("UNIQUE",)
    i = 2 if unique else 1
    if uppers(tokens[i : i + 1]) != ("INDEX",):
        return None
    i += 1
    concurrently = uppers(tokens[i : i + 1]) == ("CONCURRENTLY",)
    i = skip(tokens, i, "CONCURRENTLY")
    if_not_exists = uppers(tokens[i : i + 3]) == ("IF", "NOT", "EXISTS")
    i = skip(tokens, i, "IF", "NOT", "EXISTS")
    name: Name | None = None
    if uppers(tokens[i : i + 1]) != ("ON",):
        name, i = read_name(tokens, i)
    if uppers(tokens[i : i + 1]) != ("ON",):
        return None
    only = uppers(tokens[i + 1 : i + 2]) == ("ONLY",)
    table, i = read_name(tokens, skip(tokens, i + 1, "ONLY"))
    if not table.key:
        return None
    method = ""
    if uppers(tokens[i : i + 1]) == ("USING",) and i + 1 < len(tokens):
        method, i = tokens[i + 1].name, i + 2
    columns: list[str] = []
    key_columns: list[str | None] = []
    expressions = False
    keys_sql = ""
    if is_punct(at(tokens, i), "("):
        end = group_end(tokens, i)
        keys_sql = sql_of(tokens[i + 1 : end])
        for part in split_on(tokens[i + 1 : end], ","):
            key_columns.append(_key_column(part))
            if part[0].is_name() and (len(part) == 1 or part[1].kind in (WORD, IDENT)):
                columns.append(part[0].name)
            else:
                expressions = True
                while len(part) > 1 and part[-1].upper in _ORDER_WORDS:
                    part = part[:-1]
                columns.append(sql_of(part))
        i = end + 1
    predicate = None
    rest = tokens[i:]
    clauses = rest
    for k in top_level(rest):
        if rest[k].upper == "WHERE":
            predicate = sql_of(rest[k + 1 :])
            clauses = rest[:k]
            break
    include: tuple[str, ...] = ()
    if uppers(clauses[:1]) == ("INCLUDE",) and is_punct(at(clauses, 1), "("):
        end = group_end(clauses, 1)
        include = tuple(sql_of(p) for p in split_on(clauses[2:end], ","))
        clauses = clauses[end + 1 :]
    return CreateIndex(
        name,
        table,
        unique,
        concurrently,
        if_not_exists,
        tuple(columns),
        expressions,
        predicate,
        method,
        only,
        keys_sql,
        include,
        sql_of(clauses),
        tuple(key_columns),
    )


def _key_column(part: Tokens) -> str | None:
    """The column an index key is on, None for an expression. Postgres stores `(col)` as the plain
    column `col`; `col DESC`, `col opclass`, `col COLLATE "C"` are columns, `lower(col)` is not."""
    if len(part) >= 3 and is_punct(part[0], "(") and is_punct(part[2], ")") and part[1].is_name():
        part = part[1:2] + part[3:]
    first = part[0]
    if not first.is_name() or (len(part) > 1 and part[1].kind == PUNCT):
        return None
    if len(part) > 1 and not (part[1].upper in _AFTER_KEY_COLUMN or part[1].is_name()):
        return None
    return first.name


def create_object(tokens: Tokens) -> CreateObject | None:
    """`CREATE [OR REPLACE] <kind> name ...` for every kind but tables and indexes: views,
    materialized views, types and enums, domains, functions, procedures, triggers, sequences,
    extensions, schemas, policies, rules, statistics, ..."""
    if uppers(tokens[:1]) != ("CREATE",):
        return None
    or_replace = uppers(tokens[1:3]) == ("OR", "REPLACE")
    i = skip(tokens, 1, "OR", "REPLACE")
    while i < len(tokens) and tokens[i].upper in _OBJECT_PREFIX:
        i += 1
    kind_words, i = read_kind(tokens, i)
    if not kind_words or kind_words in (("TABLE",), ("INDEX",), ("UNIQUE",)):
        return None
    kind = " ".join(kind_words).lower()
    if kind == "constraint trigger":
        kind = "trigger"
    if_not_exists = uppers(tokens[i : i + 3]) == ("IF", "NOT", "EXISTS")
    i = skip(tokens, i, "IF", "NOT", "EXISTS")
    if kind == "schema" and uppers(tokens[i : i + 1]) == ("AUTHORIZATION",):
        i += 1  # `CREATE SCHEMA AUTHORIZATION role` names the schema after the role
    name, i = read_name(tokens, i)
    rest = tokens[i:]
    ups = uppers(rest)
    fields: dict[str, object] = {}
    if kind == "type" and ups[:2] == ("AS", "ENUM"):
        kind = "enum"
        fields["values"] = tuple(t.text for t in rest if t.kind == STRING)
    elif kind in ("function", "procedure"):
        fields.update(_routine(rest))
        fields["parameters"] = _parameters(rest)
    elif kind == "materialized view":
        top = [ups[k] for k in top_level(rest)]
        fields["with_data"] = top[-3:] != ["WITH", "NO", "DATA"]
    elif kind in ("trigger", "policy", "rule", "statistics"):
        fields["on"] = _on_table(
            rest, ups, "FROM" if kind == "statistics" else "TO" if kind == "rule" else "ON"
        )
    if if_not_exists:
        fields["if_not_exists"] = True
    return CreateObject(kind, name if name.key else NO_NAME, or_replace, **fields)  # type: ignore[arg-type]


#: Parameter modes.
_MODES = frozenset({"IN", "OUT", "INOUT", "VARIADIC"})


def _parameters(rest: Tokens) -> tuple[str, ...] | None:
    """The parameter types of a routine (the tokens after its name), None when a parameter has a
    mode or a default, or the list is not there."""
    if not is_punct(at(rest, 0), "("):
        return None
    end = group_end(rest, 0)
    out: list[str] = []
    for part in split_on(rest[1:end], ","):
        top = [part[k] for k in top_level(part)]
        if any(t.upper in _MODES or t.upper == "DEFAULT" or is_punct(t, "=") for t in top):
            return None
        # `name type` or a bare `type`: the name is one word followed by more type words.
        typed = part[1:] if len(part) > 1 and part[0].is_name() and part[1].kind in (WORD, IDENT) else part
        if len(part) > 1 and part[0].is_name() and part[1].kind in (WORD, IDENT) and _is_type_only(part):
            typed = part
        out.append(sql_of(typed))
    return tuple(out)


#: Types spelled with two words (`double precision`, `character varying`): not `name type`.
_TWO_WORD_TYPES = frozenset({("DOUBLE", "PRECISION"), ("CHARACTER", "VARYING"), ("BIT", "VARYING")})


def _is_type_only(part: Tokens) -> bool:
    return uppers(part[:2]) in _TWO_WORD_TYPES or uppers(part[1:2]) in (("WITH",), ("WITHOUT",))


def _routine(rest: Tokens) -> dict[str, object]:
    """The body and language of a function or procedure (the tokens after its name)."""
    fields: dict[str, object] = {}
    top = top_level(rest)
    for n, k in enumerate(top):
        word = rest[k].upper
        if word == "LANGUAGE" and n + 1 < len(top):
            fields["language"] = rest[top[n + 1]].name.lower()
        elif word == "AS" and "body" not in fields:
            body = first_string(rest[k + 1 : k + 2])
            if body is not None:
                fields["body"] = body.text
        elif word in ("RETURN", "BEGIN") and "body" not in fields and n > 0:
            fields["body"] = sql_of(rest[k:])  # a SQL-standard body
    return fields


def _on_table(rest: Tokens, ups: tuple[str, ...], word: str) -> Name | None:
    """The table after the top-level `word` (`ON t`, `TO t`, `FROM t`)."""
    for k in top_level(rest):
        if ups[k] == word:
            name = read_name(rest, k + 1)[0]
            return name if name.key else None
    return None
