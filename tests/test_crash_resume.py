"""Kill the runner at seeded random moments, resume, and compare history with the schema and rows
(issue 16 "Done when"): `kill -9` of the runner process and `pg_terminate_backend` of its
connection, during transactional and non-transactional migrations (a 3,000-row load in batches,
concurrent index builds). After each round `migrate` resumes, and every migration must be applied
exactly once: history all `applied`, exactly 4,000 distinct rows, the two indexes valid, no
`..._idx1`.

More rounds by hand: `GUARD_CRASH_ROUNDS=60 GUARD_CRASH_SEED=1 .venv/bin/python -m pytest -s
tests/test_crash_resume.py` (prints the tally).
"""

from __future__ import annotations

import os

import pytest
from crash_helpers import Tally, crash_round

pytestmark = pytest.mark.db

ROUNDS = int(os.environ.get("GUARD_CRASH_ROUNDS", "6"))
SEED = int(os.environ.get("GUARD_CRASH_SEED", "1600"))


def test_killed_runs_resume_to_exactly_once(pg_server) -> None:
    tally = Tally()
    for offset in range(ROUNDS):
        crash_round(pg_server, SEED + offset, tally)
    print(f"\ncrash rounds: {tally}")
    assert tally.failures == []
    assert tally.rounds == ROUNDS and tally.kill9 + tally.terminated >= ROUNDS // 2, tally
