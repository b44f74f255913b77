"""Regenerate docs/rules.md from the rule records (`python scripts/gen_rule_docs.py`).

`--check` exits 1 when the file on disk is stale instead of writing it (for CI).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = REPO / "docs" / "rules.md"


def render() -> str:
    """The full text of docs/rules.md for the rules registered right now."""
    sys.path.insert(0, str(REPO))
    from guard.lint.registry import all_rules
    from guard.report.ruledoc import rules_markdown

    text = rules_markdown(all_rules().values())
    return text if text.endswith("\n") else text + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, verify) docs/rules.md; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when docs/rules.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(
                f"{TARGET.relative_to(REPO)} is stale: run `python scripts/gen_rule_docs.py`", file=sys.stderr
            )
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
