"""Names and types as sqlglot writes them, for statements written around a fact's spellings
(`migration-guard down` drops what an up created under the name the up gave it, `fix` writes
a column's type): the pieces `guard.sql.safe_sql`'s writers take."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from guard.sql.safe_sql import name


def in_schema_of(qualified: str, own: str) -> str:
    """Name `own` in the schema of `qualified` (`"app".t`, `i` -> `"app".i`), as sqlglot writes it."""
    schema = _table(qualified).args.get("db")
    return f"{schema.sql(dialect='postgres')}.{name(own)}" if schema is not None else name(own)


def own_name(qualified: str) -> str:
    """The last part of a (possibly qualified) name, as sqlglot writes it (`app."T"` -> `"T"`)."""
    return _table(qualified).this.sql(dialect="postgres")


def _table(qualified: str) -> exp.Table:
    try:
        return exp.to_table(qualified, dialect="postgres")
    except (ParseError, sqlglot.errors.TokenError):
        raise ValueError(f"not a name: {qualified!r}") from None


def data_type(spelling: str) -> str:
    """A type as sqlglot writes it (`varchar(20)` -> `VARCHAR(20)`); `ValueError` when it is not a type."""
    try:
        # Read where a type is written, so user types (`"Mood"[]`) read as they do in a column.
        cast = sqlglot.parse_one(f"CAST(NULL AS {spelling})", read="postgres")
    except (ParseError, sqlglot.errors.TokenError):
        raise ValueError(f"not a type: {spelling!r}") from None
    if not isinstance(cast, exp.Cast) or not isinstance(cast.to, exp.DataType):
        raise ValueError(f"not a type: {spelling!r}")
    return cast.to.sql(dialect="postgres")
