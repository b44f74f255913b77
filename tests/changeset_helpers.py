"""The change-set rules' ids and the feature-branch repository the CI gate's change-set tests start from."""

from __future__ import annotations

from pathlib import Path

import pytest
from git_helpers import isolate_git, make_repo

EDITED = "avoid-changing-merged-migration"
ORDER = "require-later-version"
EXPAND_CONTRACT = "separate-expand-and-contract"
SCHEMA = "require-schema-file-sync"
WINDOW = "wait-for-contract-window"
CHANGESET = {EDITED, ORDER, EXPAND_CONTRACT, SCHEMA, WINDOW}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git(monkeypatch, tmp_path)
    return make_repo(tmp_path)


def changeset_findings(doc: dict) -> list[dict]:
    return [f for f in doc["findings"] if f["rule"] in CHANGESET]
