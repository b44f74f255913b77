"""The statement splitter and the token reader: quotes, dollar quotes, comments, BOM, CRLF, line numbers."""

from __future__ import annotations

import pytest
from conftest import CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from guard.parsing import _split, split_statements
from guard.tokens import IDENT, STRING, tokenize


def texts_and_lines(sql: str, first_line: int = 1) -> list[tuple[str, int, int]]:
    return [(s.text, s.line, s.end_line) for s in split_statements(sql, first_line)[0]]


def test_semicolons_inside_literals_comments_and_dollar_quotes_do_not_split() -> None:
    sql = (
        "SELECT 'a;b', E'it\\'s; ok', \"we;ird\";\n"
        "-- a comment; with a semicolon\n"
        "/* block; /* nested; */ still comment */\n"
        "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n"
        "DO $$ BEGIN PERFORM 1; END $$;\n"
        "SELECT $tag$ $$ ; $tag$;\n"
    )
    got = texts_and_lines(sql)
    assert [line for _, line, _ in got] == [1, 4, 5, 6]
    assert got[1][0].endswith("LANGUAGE sql")


def test_doubled_quotes_and_e_strings() -> None:
    got = texts_and_lines("SELECT 'it''s;';\nSELECT e'\\\\';\nSELECT 2;")
    assert [line for _, line, _ in got] == [1, 2, 3]


def test_bom_and_crlf_keep_line_numbers() -> None:
    got = texts_and_lines("\ufeffSELECT 1;\r\n\r\nSELECT\r\n  2;\rSELECT 3;")
    assert [(line, end) for _, line, end in got] == [(1, 1), (3, 4), (5, 5)]


def test_first_line_offset_for_sections() -> None:
    assert texts_and_lines("\n\nSELECT 1;", first_line=10) == [("SELECT 1", 12, 12)]


def test_multi_line_statement_after_dollar_body() -> None:
    sql = "CREATE FUNCTION f() RETURNS int AS $$\nSELECT 1;\n$$ LANGUAGE sql;\n\nALTER TABLE t\n  DROP COLUMN c;\n"
    assert [(line, end) for _, line, end in texts_and_lines(sql)] == [(1, 3), (5, 6)]


def test_comments_attach_to_the_next_statement() -> None:
    stmts, comments = split_statements("-- one\nSELECT 1;\n;\n-- two\n/* three */ SELECT 2;")
    assert [c.text for c in stmts[0].comments] == ["one"]
    assert [c.text for c in stmts[1].comments] == ["two", "three"]
    assert [c.line for c in comments] == [1, 4, 5]


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT 'open", "string"),
        ('SELECT "open', "identifier"),
        ("SELECT $$ open", "dollar"),
        ("SELECT 1 /* open", "comment"),
    ],
)
def test_unterminated_input_is_marked(sql: str, reason: str) -> None:
    (stmt,) = split_statements(sql)[0]
    assert stmt.unterminated and reason in stmt.unterminated
    assert stmt.ast is None


def test_words_ignore_strings_comments_and_keep_quoted_identifiers() -> None:
    (stmt,) = split_statements("ALTER TABLE \"Drop\" /* DROP */ ADD c text DEFAULT 'DROP' -- DROP")[0]
    assert stmt.words == ("ALTER", "TABLE", '"Drop"', "ADD", "C", "TEXT", "DEFAULT")
    assert stmt.head == "ALTER"


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("a /* x /* y; */ z */ b", ["a", "b"]),  # block comments nest
        ("a /* x */ b /* y */ c -- d\n e", ["a", "b", "c", "e"]),
        ("a /* never closed", ["a"]),
        ("/* only */", []),
    ],
)
def test_tokens_skip_nested_block_comments(sql: str, words: list[str]) -> None:
    assert [t.text for t in tokenize(sql)] == words


def test_tokens_keep_punctuation_strings_and_identifiers() -> None:
    toks = tokenize('ALTER TABLE public."We""ird" DROP c, x := E\'a\\\'b\' || $q$ ; $q$')
    assert [t.text for t in toks][:5] == ["ALTER", "TABLE", "public", ".", 'We"ird']
    assert toks[4].kind == IDENT and toks[4].name == 'We"ird'
    strings = [t.text for t in toks if t.kind == STRING]
    assert strings == ["a'b", " ; "]
    assert tokenize("'never closed")[0].kind == STRING


def test_statements_sqlglot_cannot_structure_are_commands_with_words() -> None:
    (stmt,) = split_statements("ALTER TYPE mood RENAME VALUE 'a' TO 'b'")[0]
    assert stmt.ast is None or isinstance(stmt.ast, exp.Command)
    assert stmt.words[:4] == ("ALTER", "TYPE", "MOOD", "RENAME")


def test_sqlglot_logging_is_silenced(capsys: pytest.CaptureFixture[str]) -> None:
    for stmt in split_statements("CREATE STATISTICS s ON a FROM t; SELECT FROM WHERE (;")[0]:
        _ = stmt.ast
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_name_classes_are_the_unicode_ranges_they_spell() -> None:
    import re

    from guard.tokens import NAME_PART, NAME_START, TAG_PART

    pairs = [
        (NAME_START, r"[A-Za-z_\u0080-\uffff]"),
        (NAME_PART, r"[A-Za-z_0-9$\u0080-\uffff]"),
        (TAG_PART, r"[A-Za-z_0-9\u0080-\uffff]"),
    ]
    # Every ASCII and BMP character (surrogates included), and the edges of the astral planes.
    probes = "".join(chr(c) for c in (*range(0x10000), 0x10000, 0x1F600, 0x10FFFF))
    for fast, reference in pairs:
        assert re.findall(fast, probes) == re.findall(reference, probes), reference


# --- the data-load fast path of the splitter ---------------------------------------------------

#: Pieces that exercise every special case of the splitter: quotes doubled and unterminated,
#: E-strings and backslashes, dollar quotes with and without tags, nested and line comments,
#: `BEGIN ATOMIC` bodies.
SQL_PIECES = [
    *("'", '"', "$", "$$", "$a$", "E'", "e'", "\\", "--", "/*", "*/", "\n", " ", "a", "E", "1", "."),
    *(";", "::", "\u00e9", "x$", "''", "-", "/", "\r\n", "\ufeff", "INSERT", "(", ","),
    *("CREATE FUNCTION f() ", "BEGIN ATOMIC ", "CASE ", "END", "atomic"),
]
sql_text = st.lists(st.sampled_from(SQL_PIECES), max_size=24).map("".join)


def _split_key(text: str, simple: bool) -> object:
    found, comments = _split(text, 3, simple_statements=simple)
    return [(s.text, s.line, s.end_line, s.index, s.comments, s.unterminated) for s in found], comments


@settings(max_examples=1000, deadline=None)
@given(sql_text)
def test_simple_statement_fast_path_splits_like_the_careful_loop(text: str) -> None:
    assert _split_key(text, True) == _split_key(text, False)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is not at {CORPUS}")
def test_fast_path_splits_the_corpus_like_the_careful_loop() -> None:
    for path in sorted(CORPUS.rglob("*.sql")):
        text = path.read_text(encoding="utf-8", errors="replace")
        assert _split_key(text, True) == _split_key(text, False), path
