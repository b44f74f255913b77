"""Make text from files and databases safe to print on one terminal or CI log line.

Paths, migration ids, table names and database messages come from outside the tool: a
folder named `x\\n::error file=a.sql::INJECTED` would otherwise start a GitHub Actions
workflow command, and an ANSI escape would repaint the terminal. `safe_line` shows
every character that ends a line, moves the cursor or starts an escape sequence as a
visible escape (`\\n`, `\\r`, `\\t`, `\\x1b`, `\\u2028`), and defuses a workflow command
prefix (`::` at the start, `##[` anywhere). `safe_block` does the same line by line for
text that is multi-line by design (a fix's SQL). Every renderer passes outside text
through one of them; JSON output carries the true value (its encoder escapes controls).
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls; Unicode line/paragraph separators; bidirectional overrides and
# isolates, which can make a line read differently from what it is ("Trojan Source").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: GitHub Actions reads `::command::` at the start of a line (after spaces) and `##[command]`.
_COMMAND_START = re.compile(r"\A(\s*):")
_LEGACY_COMMAND = "##["


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_line(text: object) -> str:
    """`text` as one printable line: control and layout characters shown as escapes, no workflow command."""
    line = _UNSAFE.sub(_escape, str(text))
    if line.lstrip().startswith("::"):
        line = _COMMAND_START.sub(lambda m: m.group(1) + "\\x3a", line, count=1)
    return line.replace(_LEGACY_COMMAND, "#\\x23[")


def safe_block(text: str) -> list[str]:
    """Multi-line `text` as its lines, each made safe with `safe_line` (`\\r\\n` and `\\n` end a line)."""
    return [safe_line(line) for line in text.replace("\r\n", "\n").split("\n")]


def one_line(text: str, sep: str = " | ") -> str:
    """Multi-line `text` (a Postgres error with DETAIL and HINT) joined into one safe line."""
    parts = [" ".join(p.split()) for p in text.replace("\r\n", "\n").split("\n")]
    return safe_line(sep.join(p for p in parts if p))
