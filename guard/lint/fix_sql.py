"""SQL for suggested fixes, built from the statement model and checked with sqlglot.

A fix names objects as the user spelled them (`Name.shown`); columns the model keeps only
as keys are quoted when Postgres would fold or refuse them bare. Every fix statement must
parse with sqlglot (postgres dialect): `parses` is the check, and a fix that does not
parse is replaced by prose rather than shown (never suggest SQL that cannot run).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

_BARE = re.compile(r"[a-z_][a-z0-9_$]*")

#: Postgres reserved key words (appendix C, "reserved" and "reserved (can be function or type)"):
#: a column of one of these names must be quoted.
_RESERVED = frozenset(
    re.split(
        r"\s+",
        """all analyse analyze and any array as asc asymmetric authorization binary both case cast check
    collate collation column concurrently constraint create cross current_catalog current_date
    current_role current_schema current_time current_timestamp current_user default deferrable desc
    distinct do else end except false fetch for foreign freeze from full grant group having ilike in
    initially inner intersect into is isnull join lateral leading left like limit localtime
    localtimestamp natural not notnull null offset on only or order outer overlaps placing primary
    references returning right select session_user similar some symmetric system_user table tablesample
    then to trailing true union unique user using variadic verbose when where window with""",
    )
)


def ident(key: str) -> str:
    """`key` (a folded name) as SQL: bare when Postgres reads it back as the same name, else quoted."""
    if _BARE.fullmatch(key) and key not in _RESERVED:
        return key
    return '"' + key.replace('"', '""') + '"'


def parses(sql: str) -> bool:
    """True when every statement of `sql` parses with sqlglot (postgres dialect)."""
    import logging

    from sqlglot.errors import SqlglotError

    logging.getLogger("sqlglot").setLevel(logging.CRITICAL)
    try:
        return all(tree is not None for tree in _dialect().parse(sql))
    except SqlglotError:
        return False


def checked(sql: str, fallback: str) -> str:
    """`sql` when it parses (see `parses`), else the prose `fallback`."""
    return sql if parses(sql) else fallback


@cache
def _dialect() -> Any:
    from sqlglot.dialects.dialect import Dialect

    return Dialect.get_or_raise("postgres")


def generated(statement: str) -> str:
    """One statement as sqlglot writes it back (`CHECK (NOT (a OR b))` for `CHECK(NOT(a OR(b)))`),
    or as given when sqlglot does not structure it or would drop or change any word of it."""
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        trees = _dialect().parse(statement)
    except SqlglotError:
        return statement
    if len(trees) != 1 or trees[0] is None or isinstance(trees[0], exp.Command):
        return statement
    out = trees[0].sql(dialect="postgres") + ";"
    return (
        out if sorted(_WORDS.findall(out.upper())) == sorted(_WORDS.findall(statement.upper())) else statement
    )


_WORDS = re.compile(r"\w+")
