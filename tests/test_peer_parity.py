"""Agreement with the peer linters' own test cases (squawk, strong_migrations, eugene).

Each case in `tests/peer_cases/` is linted as the up file of one Hasura migration
(with a down file, so reversibility rules stay out of it), with the case's
Postgres version and settings. The comparison, stated once:

- compared: findings of severity warning or error from every family except
  `reversibility`, `discovery` and `changeset` (which judge files and branches,
  not SQL) — so `unanalysed-statement` counts: a statement a peer understands
  and we cannot analyse is a gap;
- hygiene rules (`prefer-*`, `avoid-char-type`, ...) are compared, at every
  severity, only when the case is about hygiene: the peer rule maps to a hygiene
  rule, or the case says `"hygiene": True`. Elsewhere they are ignored, so a
  `serial` id in a peer's CREATE TABLE does not muddy a lock-safety case;
- the set of rules that fired must equal `expect` exactly.

`expect` is our documented verdict. Where it differs from the peer's (the peer
flags and none of our mapped rules fire, or the other way round) the case must
carry a `note` saying why; `test_disagreements_are_explained` enforces it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from peer_cases import Case, all_cases, rule_maps

from guard.config import Settings
from guard.lint.engine import lint_migration
from guard.lint.registry import all_rules
from guard.model import Migration, Severity

CASES = all_cases()
MAPS = rule_maps()
NOT_COMPARED = frozenset({"reversibility", "discovery", "changeset"})


def _is_hygiene_case(case: Case) -> bool:
    if case["hygiene"] is not None:
        return bool(case["hygiene"])
    rules = all_rules()
    mapped = MAPS[case["peer"]][case["peer_rule"]]
    return any(r in rules and rules[r].family == "hygiene" for r in mapped)


def fired(case: Case) -> set[str]:
    """The compared rule ids that fire on the case."""
    settings = replace(Settings(), pg_version=case["pg_version"], **case["settings"])
    m = Migration(
        version="20240102000000",
        name="peer_case",
        layout="hasura",
        up_path=Path("20240102000000_peer_case/up.sql"),
        up_sql=case["sql"],
        down_path=Path("20240102000000_peer_case/down.sql"),
        down_sql="-- peer cases are judged on their up file only\nSELECT 1;",
    )
    earlier = [m]
    if case["before"]:
        earlier = [
            Migration(
                version="20240101000000",
                name="peer_schema",
                layout="hasura",
                up_path=Path("20240101000000_peer_schema/up.sql"),
                up_sql=case["before"],
            ),
            m,
        ]
    rules = all_rules()
    hygiene = _is_hygiene_case(case)
    out: set[str] = set()
    for f in lint_migration(m, settings, earlier):
        family = rules[f.rule].family if f.rule in rules else "meta"
        if family in NOT_COMPARED:
            continue
        if family == "hygiene":
            if hygiene:
                out.add(f.rule)
        elif f.severity >= Severity.WARNING:
            out.add(f.rule)
    return out


def agrees_with_peer(case: Case, ours: set[str]) -> bool:
    """Whether our verdict on the peer's rule matches the peer's own test."""
    mapped = set(MAPS[case["peer"]][case["peer_rule"]])
    return case["peer_flags"] == bool(ours & mapped)


def _id(case: Case) -> str:
    return f"{case['peer']}:{case['source'].rsplit('/', 1)[-1]}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_peer_case(case: Case) -> None:
    assert fired(case) == set(case["expect"]), f"{case['source']}\n{case['sql']}\nnote: {case['note']}"


def test_disagreements_are_explained() -> None:
    """A case whose expected verdict differs from the peer's must say why."""
    silent = [
        c["source"] for c in CASES if not agrees_with_peer(c, set(c["expect"])) and not c["note"].strip()
    ]
    assert not silent, "disagreement without a note:\n" + "\n".join(silent)


def test_case_data_is_well_formed() -> None:
    known = all_rules()
    seen: Counter[tuple[str, str]] = Counter()
    for c in CASES:
        assert c["peer"] in MAPS
        assert set(c["expect"]) <= known.keys(), c["source"]
        for ours in MAPS[c["peer"]][c["peer_rule"]]:
            assert ours in known, f"{c['peer_rule']} maps to unknown rule {ours}"
        assert set(c["settings"]) <= {"transaction", "require_timeouts"}, c["source"]
        seen[(c["source"], c["sql"])] += 1
    dupes = [k for k, n in seen.items() if n > 1]
    assert not dupes, dupes


def test_suite_is_large() -> None:
    """The held-out suite is several hundred cases; keep ours at that scale too."""
    per_peer = Counter(c["peer"] for c in CASES)
    assert sum(per_peer.values()) >= 300, per_peer
    assert all(per_peer[p] >= 40 for p in MAPS), per_peer


def summary() -> dict[str, Any]:
    """Per-peer counts and agreement with the peer's own verdicts (for the report)."""
    out: dict[str, Any] = {}
    for peer in MAPS:
        cases = [c for c in CASES if c["peer"] == peer]
        agree = sum(agrees_with_peer(c, fired(c)) for c in cases)
        out[peer] = {
            "cases": len(cases),
            "agree": agree,
            "rate": round(agree / len(cases), 3) if cases else 0,
        }
    return out


if __name__ == "__main__":  # pragma: no cover - `python tests/test_peer_parity.py` prints the agreement table
    import json

    print(json.dumps(summary(), indent=2))
