"""Whether a column default is computed per row: Postgres 11+ stores a non-volatile default
once in the catalog (no rewrite), but a volatile one fills every existing row.
"""

from __future__ import annotations

from guard.tokens import PUNCT, WORD, Token, tokenize

#: Functions Postgres marks VOLATILE that show up as column defaults.
VOLATILE_FUNCTIONS = frozenset(
    {
        "random",
        "random_normal",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "uuid_generate_v7",
        "uuidv4",
        "uuidv7",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "setval",
        "txid_current",
        "pg_current_xact_id",
        "gen_random_bytes",
    }
)

#: STABLE or IMMUTABLE functions (and function-like keywords) that are safe fast defaults on 11+.
NON_VOLATILE_FUNCTIONS = frozenset(
    {
        "now",
        "current_timestamp",
        "current_date",
        "current_time",
        "localtime",
        "localtimestamp",
        "transaction_timestamp",
        "statement_timestamp",
        "cast",
        "coalesce",
        "nullif",
        "greatest",
        "least",
        "lower",
        "upper",
        "array",
        "row",
        "jsonb_build_object",
        "json_build_object",
        "jsonb_build_array",
        "json_build_array",
        "to_jsonb",
        "to_json",
        "timezone",
        "date_trunc",
        "make_interval",
        "make_date",
        "current_setting",
        "current_user",
        "current_schema",
        "session_user",
        "concat",
        "array_fill",
        "interval",
        "uuid_nil",
        "trim",
        "replace",
        "length",
        "abs",
    }
)


def default_volatility(tokens: tuple[Token, ...]) -> tuple[str, str] | None:
    """('volatile'|'unknown', function) for the first function call in a default that may be volatile."""
    unknown: tuple[str, str] | None = None
    for i, t in enumerate(tokens[:-1]):
        nxt = tokens[i + 1]
        if t.kind != WORD or nxt.kind != PUNCT or nxt.text != "(":
            continue
        if i > 0 and tokens[i - 1].kind == PUNCT and tokens[i - 1].text == "::":
            continue  # a cast to a type with modifiers: `::numeric(10,2)`
        name = t.text.lower()
        if name in VOLATILE_FUNCTIONS:
            return "volatile", name
        if name not in NON_VOLATILE_FUNCTIONS and unknown is None:
            unknown = ("unknown", name)
    return unknown


def default_volatility_sql(sql: str) -> tuple[str, str] | None:
    """`default_volatility` of a default written as SQL text."""
    return default_volatility(tokenize(sql))
