"""The CI gate's expand + contract rules on real git repositories: expand and contract in one change,
and the contract window, measured from the expand's arrival on the base branch."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from changeset_helpers import EXPAND_CONTRACT, WINDOW
from changeset_helpers import repo as repo  # the fixture, imported by name for pytest
from git_helpers import add_migration, commit_all, dated, gate_json, git, rules_of


def test_expand_and_contract_in_one_change_is_an_error(repo: Path) -> None:
    add_migration(repo, "20240201000000", "expand", "ALTER TABLE t0 ADD COLUMN email_new text;\n")
    add_migration(
        repo,
        "20240201000100",
        "contract",
        "-- guard: contract 20240201000000\nSELECT 1;\n",
        "SELECT 1;\n",
    )
    commit_all(repo, "expand and contract")
    code, doc = gate_json(repo, "--base", "main")
    assert code == 1
    [f] = [f for f in doc["findings"] if f["rule"] == EXPAND_CONTRACT]
    assert f["file"] == "migrations/20240201000100_contract/up.sql"
    assert f["line"] == 1
    assert "20240201000000_expand" in f["message"]


def test_a_contract_of_an_expand_already_merged_is_not_a_changeset_error(repo: Path) -> None:
    add_migration(
        repo, "20240201000100", "contract", "-- guard: contract 20240101000001\nSELECT 1;\n", "SELECT 1;\n"
    )
    commit_all(repo, "contract later")
    _, doc = gate_json(repo, "--base", "main")
    assert EXPAND_CONTRACT not in rules_of(doc)


class TestContractWindow:
    """`wait-for-contract-window`: the CI gate measures the window from the expand's arrival on the base branch."""

    NOW = datetime.now(UTC)

    def _expand_on_main(self, repo: Path, hours_ago: float) -> None:
        git(repo, "checkout", "-q", "main")
        add_migration(repo, "20240201000000", "expand", "ALTER TABLE t0 ADD COLUMN email_new text;\n")
        commit_all(repo, "expand", at=self.NOW - timedelta(hours=hours_ago))
        git(repo, "checkout", "-q", "-B", "feature")

    def _contract(self, repo: Path) -> None:
        add_migration(
            repo,
            "20240203000000",
            "contract",
            "-- guard: contract 20240201000000\nCREATE TABLE c (id bigint PRIMARY KEY);\n",
            "DROP TABLE c;\n",
        )
        commit_all(repo, "contract")

    def test_a_contract_of_a_too_young_expand_is_refused_with_the_time_remaining(self, repo: Path) -> None:
        self._expand_on_main(repo, 10)
        self._contract(repo)
        code, doc = gate_json(repo, "--base", "main")
        assert code == 1
        [f] = [f for f in doc["findings"] if f["rule"] == WINDOW]
        assert f["file"] == "migrations/20240203000000_contract/up.sql" and f["line"] == 1
        assert f["severity"] == "error" and f["migration"] == "20240203000000_contract"
        opens = (self.NOW + timedelta(hours=38)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        assert "20240201000000_expand, which reached main at" in f["message"]
        assert f"the 48h expand/contract window opens at {opens} UTC" in f["message"]
        # NOW is taken when the module is imported; a slow suite may reach this test minutes later.
        assert re.search(r"(3[67]h \d\dm|38h 00m) from now", f["message"]), f["message"]
        assert f["fix"].startswith(f"merge it after {opens} UTC")

    def test_a_contract_of_an_old_enough_expand_passes(self, repo: Path) -> None:
        self._expand_on_main(repo, 49)
        self._contract(repo)
        code, doc = gate_json(repo, "--base", "main")
        assert code == 0, doc
        assert any(
            "20240201000000_expand reached main at" in n and "window is open" in n for n in doc["notices"]
        )

    def test_the_configured_window_and_where_it_binds(self, repo: Path) -> None:
        self._expand_on_main(repo, 10)
        self._contract(repo)
        (repo / "migration-guard.toml").write_text("contract_window_hours = 8\n")
        assert gate_json(repo, "--base", "main")[0] == 0
        (repo / "migration-guard.toml").write_text("contract_window_hours = 12\n")
        code, doc = gate_json(repo, "--base", "main")
        assert code == 1 and "the 12h expand/contract window" in doc["findings"][0]["message"]
        (repo / "migration-guard.toml").write_text("contract_window_envs = []\n")
        assert gate_json(repo, "--base", "main")[0] == 0

    def test_the_merge_commit_time_counts_not_the_branch_commit(self, repo: Path) -> None:
        git(repo, "checkout", "-q", "-b", "expand-pr", "main")
        add_migration(repo, "20240201000000", "expand", "ALTER TABLE t0 ADD COLUMN email_new text;\n")
        commit_all(repo, "expand written long ago", at=self.NOW - timedelta(days=10))
        git(repo, "checkout", "-q", "main")
        git(
            repo,
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "merge",
            "expand-pr",
            env=dated(self.NOW - timedelta(hours=1)),
        )
        git(repo, "checkout", "-q", "-B", "feature")
        self._contract(repo)
        code, doc = gate_json(repo, "--base", "main")
        assert code == 1
        assert re.search(r"(4[56]h \d\dm|47h 00m) from now", doc["findings"][0]["message"])

    def test_a_shallow_clone_is_deepened_until_the_expand_commit_is_in_it(
        self, repo: Path, tmp_path: Path
    ) -> None:
        from guard import gitutil

        self._expand_on_main(repo, 100)
        git(repo, "checkout", "-q", "main")
        for i in range(3):  # later commits on main: a depth-2 clone ends after the expand
            add_migration(repo, f"2024020200000{i}", f"later{i}")
            commit_all(repo, f"later {i}", at=self.NOW - timedelta(hours=1))
        clone = tmp_path / "clone"
        git(tmp_path, "clone", "-q", "--depth", "2", "--branch", "main", repo.as_uri(), str(clone))
        tip = git(clone, "rev-parse", "origin/main")
        path = "migrations/20240201000000_expand/up.sql"
        # without fetching, the clone's edge would look like the commit that added the file: not an answer
        assert gitutil.arrivals(clone, "origin/main", tip, [path], fetch=False).found == {}
        found = gitutil.arrivals(clone, "origin/main", tip, [path])
        (_, when), expected = found.found[path], self.NOW - timedelta(hours=100)
        assert abs((when - expected).total_seconds()) < 1
        assert any("deepened the shallow clone" in n for n in found.notes)

    def test_a_clone_that_cannot_show_the_expand_commit_refuses_the_contract(
        self, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from guard.config import Settings
        from guard.lint.changeset import lint_change

        self._expand_on_main(repo, 100)
        git(repo, "checkout", "-q", "main")
        for i in range(3):
            add_migration(repo, f"2024020200000{i}", f"later{i}")
            commit_all(repo, f"later {i}", at=self.NOW - timedelta(hours=1))
        git(repo, "checkout", "-q", "-B", "feature")
        self._contract(repo)
        # the contract's version must be later than main's newest
        git(repo, "mv", "migrations/20240203000000_contract", "migrations/20240301000000_contract")
        commit_all(repo, "later version")
        clone = tmp_path / "clone"
        git(
            tmp_path,
            "clone",
            "-q",
            "--depth",
            "4",
            "--no-single-branch",
            "--branch",
            "feature",
            repo.as_uri(),
            str(clone),
        )
        monkeypatch.chdir(clone)
        offline = lint_change(clone / "migrations", Settings(), "origin/main", fetch=False)
        [f] = [f for f in offline.findings if f.rule == WINDOW]
        assert "git cannot tell when migrations/20240201000000_expand/up.sql reached origin/main" in f.message
        assert "fetch-depth: 0" in f.fix
        online = lint_change(clone / "migrations", Settings(), "origin/main")
        assert [f for f in online.findings if f.rule == WINDOW] == []
        assert any("deepened the shallow clone" in n for n in online.notices)
