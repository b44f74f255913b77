"""Test cases drawn from the peer linters' own test suites (squawk, strong_migrations, eugene).

Each peer module exports `CASES` (a list of plain dicts) and `RULE_MAP` (peer rule id ->
the migration-guard rule ids that cover the same danger; empty when we have no
equivalent by design). A case records:

- `peer`, `source` (`owner/repo:path#test`), `peer_rule` and `peer_flags`: what the
  peer's own test asserts about that one rule of theirs;
- `sql`: the migration (ORM calls translated to the SQL they run);
- `expect`: the migration-guard rules that must fire (see `tests/test_peer_parity.py`
  for exactly which findings are compared);
- `pg_version` and `settings` (e.g. `{"transaction": False}` for a peer test that does
  not assume a wrapping transaction);
- `note`: why we differ, whenever our verdict is not the peer's;
- `before`: SQL of an earlier migration that sets up the schema the peer's test starts from
  (so a type change knows the column's old type); it is not judged itself;
- `derived`: True for a variant written from the peer's rule (its code, docs or a sibling
  test: another spelling, the same check on a new table, ...) rather than one of its
  literal test inputs. The peer's verdict for a derived case is what its rule does.

Cases are data, never copied corpus files; SQL is short and written out here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Case = dict[str, Any]


def make_case(
    rule_map: Mapping[str, tuple[str, ...]],
    *,
    peer: str,
    source: str,
    peer_rule: str,
    peer_flags: bool,
    sql: str,
    expect: Iterable[str] | None = None,
    pg_version: int = 15,
    settings: Mapping[str, Any] | None = None,
    note: str = "",
    hygiene: bool | None = None,
    derived: bool = False,
    before: str = "",
) -> Case:
    """One case. `expect` defaults to the peer's verdict translated through `rule_map`
    (the first mapped rule when the peer flags, nothing when it does not)."""
    if peer_rule not in rule_map:
        raise KeyError(f"{peer}: peer rule {peer_rule!r} missing from RULE_MAP")
    if expect is None:
        mapped = rule_map[peer_rule]
        expect = mapped[:1] if peer_flags and mapped else ()
    return {
        "peer": peer,
        "source": source,
        "peer_rule": peer_rule,
        "peer_flags": peer_flags,
        "sql": sql.strip() + "\n",
        "expect": sorted(set(expect)),
        "pg_version": pg_version,
        "settings": dict(settings or {}),
        "note": note,
        "hygiene": hygiene,
        "derived": derived,
        "before": before.strip(),
    }


def all_cases() -> list[Case]:
    """Every case of every peer, in a stable order."""
    from peer_cases import eugene, squawk, strong_migrations

    return [*squawk.CASES, *strong_migrations.CASES, *eugene.CASES]


def rule_maps() -> dict[str, Mapping[str, tuple[str, ...]]]:
    """peer name -> its RULE_MAP."""
    from peer_cases import eugene, squawk, strong_migrations

    return {
        "squawk": squawk.RULE_MAP,
        "strong_migrations": strong_migrations.RULE_MAP,
        "eugene": eugene.RULE_MAP,
    }
