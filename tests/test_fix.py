"""`migration-guard fix`: fixable findings become the safe sequence of migrations, in the project's
layout, and what cannot be fixed is listed with its reason. Real files, real git, real Postgres."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import sqlglot
from click.testing import CliRunner
from conftest import CORPUS, PgServer
from git_helpers import add_migration, commit_all, git, isolate_git

from guard.cli import cli
from guard.config import Settings
from guard.fix.layout import following_versions
from guard.fix.plan import apply_plan, plan_fixes
from guard.fix.recipes import RECIPES
from guard.layouts import discover
from guard.lint.engine import lint_path
from guard.model import Severity
from guard.parsing import split_statements

REPO = Path(__file__).resolve().parent.parent
UNSAFE = REPO / "sample_migrations" / "unsafe"
UNSAFE_DATA = REPO / "sample_migrations" / "unsafe-data.sql"
NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
#: Sample migrations whose findings fix rewrites, with the baseline and the safe prerequisites they need.
FIXABLE_SAMPLES = (
    "20240201090000",
    "20240204090000",
    "20240205090000",
    "20240206090000",
    "20240224090000",
    "20240225090000",
    "20240301090000",
    "20240302090000",
    "20240303090000",
    "20240305090000",
    "20240307090000",
    "20240309090000",
    "20240311090000",
    "20240320090000",
    "20240321090000",
)


def _copy(tmp_path: Path, versions: tuple[str, ...] | None = None) -> Path:
    target = tmp_path / "migrations"
    if versions is None:
        shutil.copytree(UNSAFE, target)
        return target
    target.mkdir()
    for version in versions:
        (source,) = UNSAFE.glob(f"{version}_*")
        shutil.copytree(source, target / source.name)
    return target


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["fix", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _blocking(folder: Path) -> set[tuple[str, str]]:
    result = lint_path(folder, Settings())
    return {(f.migration or "", f.rule) for f in result.findings if f.severity >= Severity.ERROR}


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*.sql"))}


def test_fix_write_resolves_every_fixable_finding_of_the_unsafe_samples(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    before = _blocking(folder)
    code, out, _ = _run(str(folder), "--write", "--format", "json")
    doc = json.loads(out)
    assert code == 1  # the unfixable findings remain
    fixed = {(f["migration"], f["rule"]) for f in doc["fixed"]}
    left = {(u["migration"], u["rule"]) for u in doc["unfixable"]}
    assert {r for _, r in fixed} >= set(RECIPES) - {"avoid-type-change-rewrite"} - {
        "avoid-column-type-change"
    }
    assert fixed and not fixed & left
    after = _blocking(folder)
    assert after == before - fixed, "fix left a fixable finding or caused a new one"
    assert after == {(m, r) for m, r in left if m}
    reasons = {u["rule"]: u["reason"] for u in doc["unfixable"]}
    assert "drop" in reasons["avoid-drop-table"] and reasons["avoid-truncate"]


def test_dry_run_prints_the_diff_that_write_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    samples = ("20240201090000", "20240301090000", "20240305090000", "20240311090000")
    dry, wet = tmp_path / "dry", tmp_path / "wet"
    for root in (dry, wet):
        root.mkdir()
        _copy(root, samples)
    monkeypatch.chdir(dry)
    files = _files(dry / "migrations")
    code, out, err = _run("migrations")
    assert code == 1  # the findings are still there until --write
    assert _files(dry / "migrations") == files
    assert out.startswith("--- a/migrations/") and "+++ b/migrations/" in out and "CONCURRENTLY" in out
    assert "would fix 3 findings" in err and "--write" in err
    (tmp_path / "fix.diff").write_text(out)
    git(dry, "apply", "-p1", str(tmp_path / "fix.diff"))
    monkeypatch.chdir(wet)
    code, _, _ = _run("migrations", "--write")
    assert code == 0
    assert _files(wet / "migrations") == _files(dry / "migrations") != files


def test_every_written_statement_parses(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    plan = plan_fixes(folder, Settings(), now=NOW)
    assert plan.changes
    for change in plan.changes:
        statements, _ = split_statements(change.after)
        for stmt in statements:
            assert sqlglot.parse(stmt.text, read="postgres"), stmt.text


@pytest.mark.db
@pytest.mark.slow
def test_fixed_samples_lint_clean_and_verify_round_trips(tmp_path: Path, local_pg: PgServer) -> None:
    folder = _copy(tmp_path, FIXABLE_SAMPLES)
    assert _blocking(folder)
    code, _, err = _run(str(folder), "--write")
    assert code == 0, err
    lint = CliRunner().invoke(cli, ["lint", str(folder)], catch_exceptions=False)
    assert lint.exit_code == 0, lint.output
    argv = ["verify", str(folder), "--shadow", "url", "--shadow-url", local_pg.admin_url, "--format", "json"]
    argv += ["--data", str(UNSAFE_DATA), "--data-after", "20240201090000"]
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    assert result.stdout, result.stderr
    doc = json.loads(result.stdout)
    assert result.exit_code == 0, doc["findings"]
    names = {p.name for p in folder.iterdir()}
    assert {m["id"] for m in doc["migrations"]} == names
    assert {m["status"] for m in doc["migrations"]} == {"ok"}
    assert any(n.startswith("2030") or "contract" in n for n in names)


@pytest.mark.db
@pytest.mark.slow
def test_on_the_whole_unsafe_copy_every_written_migration_round_trips(
    tmp_path: Path, local_pg: PgServer
) -> None:
    folder = _copy(tmp_path)
    plan = plan_fixes(folder, Settings(), now=NOW)
    apply_plan(plan)
    touched = {c.path.parent.name for c in plan.changes}
    argv = ["verify", str(folder), "--shadow", "url", "--shadow-url", local_pg.admin_url, "--format", "json"]
    argv += ["--data", str(UNSAFE_DATA), "--data-after", "20240201090000"]
    doc = json.loads(CliRunner().invoke(cli, argv, catch_exceptions=False).stdout)
    statuses = {m["id"]: m["status"] for m in doc["migrations"]}
    assert touched <= set(statuses)
    assert {statuses[n] for n in touched} <= {"ok", "not-reached"}
    assert sum(statuses[n] == "ok" for n in touched) >= 20


@pytest.mark.db
def test_each_recipes_statements_apply_on_postgres(tmp_path: Path, local_fresh_db: str) -> None:
    """Every statement of every written file, up and down, runs on Postgres in migration order."""
    folder = _copy(tmp_path, FIXABLE_SAMPLES)
    CliRunner().invoke(cli, ["fix", str(folder), "--write"], catch_exceptions=False)
    migrations = discover(folder).migrations
    with psycopg.connect(local_fresh_db, autocommit=True) as conn:
        for m in migrations:
            for stmt in split_statements(m.up_sql)[0]:
                conn.execute(stmt.text)  # type: ignore[arg-type]
        for m in reversed(migrations):
            for stmt in split_statements(m.down_sql or "")[0]:
                conn.execute(stmt.text)  # type: ignore[arg-type]
        left = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        ).fetchone()
    assert left == (0,)


def test_contract_stub_names_its_expand_and_carries_preconditions(tmp_path: Path) -> None:
    folder = _copy(tmp_path, ("20240201090000", "20240204090000"))
    plan = plan_fixes(folder, Settings(), now=NOW)
    contract = next(c for c in plan.changes if "contract" in c.path.parent.name and c.path.name == "up.sql")
    assert contract.path.parent.name.startswith("20300102030405_")
    assert "-- guard: contract 20240204090000" in contract.after
    assert contract.after.count("-- guard: precondition SELECT") == 2
    assert "Application step" in contract.after
    assert "DROP COLUMN nickname" in contract.after
    backfill = next(c for c in plan.changes if "backfill" in c.path.parent.name and c.path.name == "up.sql")
    assert backfill.path.parent.name == "20240204090001_backfill_display_name"
    assert backfill.after.startswith("-- guard: no-transaction")


def test_old_postgres_leaves_set_not_null_with_the_reason(tmp_path: Path) -> None:
    folder = _copy(tmp_path, ("20240201090000", "20240204090000", "20240309090000"))
    plan = plan_fixes(folder, Settings(pg_version=11), now=NOW)
    (left,) = [u for u in plan.unfixable if u.rule == "avoid-set-not-null"]
    assert "Postgres 12" in left.reason


def test_require_timeouts_gets_the_set_statements(tmp_path: Path) -> None:
    folder = _copy(tmp_path, ("20240201090000", "20240305090000"))
    settings = Settings(require_timeouts=True)
    assert any(f.rule == "require-timeouts" for f in lint_path(folder, settings).findings)
    plan = plan_fixes(folder, settings, now=NOW)
    for change in plan.changes:
        change.path.parent.mkdir(parents=True, exist_ok=True)
        change.path.write_text(change.after)
    rules = {f.rule for f in lint_path(folder, settings).findings if f.migration != "20240201090000_baseline"}
    assert "require-timeouts" not in rules and "require-not-valid-constraint" not in rules


LAYOUT_FILES = {
    "golang-migrate": ("20240101000000_users.up.sql", "20240101000000_users.down.sql"),
    "flyway": ("V1__users.sql", "U1__users.sql"),
    "dbmate": ("20240101000000_users.sql", None),
}


@pytest.mark.parametrize("layout", ["golang-migrate", "flyway", "dbmate"])
def test_new_migrations_follow_the_layouts_naming(tmp_path: Path, layout: str) -> None:
    up_name, down_name = LAYOUT_FILES[layout]
    first = "CREATE TABLE users (id bigint PRIMARY KEY, email text);"
    undo = "DROP TABLE users;"
    second = "ALTER TABLE users ADD CONSTRAINT users_email_check CHECK (email <> '');"
    folder = tmp_path / "db"
    folder.mkdir()
    v2 = {"golang-migrate": "20240102000000", "flyway": "2", "dbmate": "20240102000000"}[layout]
    if layout == "dbmate":
        (folder / up_name).write_text(f"-- migrate:up\n{first}\n\n-- migrate:down\n{undo}\n")
        (folder / f"{v2}_check.sql").write_text(
            f"-- migrate:up\n{second}\n\n-- migrate:down\nALTER TABLE users DROP CONSTRAINT users_email_check;\n"
        )
    else:
        (folder / up_name).write_text(first + "\n")
        assert down_name is not None
        (folder / down_name).write_text(undo + "\n")
        stem = {"golang-migrate": f"{v2}_check", "flyway": f"V{v2}__check"}[layout]
        (folder / (f"{stem}.up.sql" if layout == "golang-migrate" else f"{stem}.sql")).write_text(
            second + "\n"
        )
        down = f"{v2}_check.down.sql" if layout == "golang-migrate" else f"U{v2}__check.sql"
        (folder / down).write_text("ALTER TABLE users DROP CONSTRAINT users_email_check;\n")
    code, _, err = _run(str(folder), "--write", "--layout", layout)
    assert code == 0, err
    names = sorted(p.name for p in folder.iterdir())
    expected = {
        "golang-migrate": [
            "20240102000001_validate_users_email_check.up.sql",
            "20240102000001_validate_users_email_check.down.sql",
        ],
        "flyway": ["V3__validate_users_email_check.sql", "U3__validate_users_email_check.sql"],
        "dbmate": ["20240102000001_validate_users_email_check.sql"],
    }[layout]
    assert set(expected) <= set(names)
    lint = CliRunner().invoke(cli, ["lint", str(folder), "--layout", layout], catch_exceptions=False)
    assert lint.exit_code == 0, lint.output


def test_dbmate_no_transaction_goes_on_the_marker_line(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "20240101000000_users.sql").write_text(
        "-- migrate:up\nCREATE TABLE users (id bigint PRIMARY KEY, email text);\n\n-- migrate:down\nDROP TABLE users;\n"
    )
    (folder / "20240102000000_index.sql").write_text(
        "-- migrate:up\nCREATE INDEX users_email_idx ON users (email);\n\n-- migrate:down\nDROP INDEX users_email_idx;\n"
    )
    code, _, err = _run(str(folder), "--write", "--layout", "dbmate")
    assert code == 0, err
    text = (folder / "20240102000000_index.sql").read_text()
    assert text.startswith("-- migrate:up transaction:false\n")
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx" in text
    assert "-- migrate:down\nDROP INDEX users_email_idx;" in text
    (m,) = [m for m in discover(folder, "dbmate").migrations if m.version == "20240102000000"]
    assert m.transaction is False


def test_versions_keep_the_order_and_never_collide() -> None:
    existing = ["20240101000000", "20240101000002", "20240105000000"]
    taken = set(existing)
    assert following_versions("20240101000000", existing, taken, 1, "hasura") == ["20240101000001"]
    assert following_versions("20240101000000", existing, taken, 2, "hasura") is None  # 000002 is next
    assert following_versions("20240105000000", existing, taken, 2, "hasura") == [
        "20240105000001",
        "20240105000002",
    ]
    assert following_versions("20240105000000", existing, taken, 1, "hasura", NOW) == ["20300102030405"]
    taken_too = {*taken, "20240101000001"}
    assert following_versions("20240101000000", existing, taken_too, 1, "hasura") is None
    assert (
        following_versions("20240101000000", ["20240101000000", "20240101000001"], set(), 1, "hasura", NOW)
        is None
    )
    assert following_versions("3", ["1", "3", "4"], {"1", "3", "4"}, 2, "flyway", NOW) == ["3.1", "3.2"]
    assert following_versions("4", ["1", "3", "4"], {"1", "3", "4"}, 1, "flyway", NOW) == ["5"]
    assert following_versions("0003", ["0003"], {"0003"}, 1, "plain", NOW) == ["0004"]
    assert following_versions("0003", ["0003", "0004"], {"0003", "0004"}, 1, "plain", NOW) is None


def test_base_fixes_only_new_migrations_and_keeps_the_contract_for_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(monkeypatch, tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    add_migration(
        repo,
        "20240101000000",
        "users",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text, nick text);\n",
    )
    merged_up = "CREATE INDEX users_email_idx ON users (email);\n"
    add_migration(repo, "20240102000000", "index", merged_up, "DROP INDEX users_email_idx;\n")
    commit_all(repo, "merged")
    git(repo, "checkout", "-q", "-b", "feature")
    add_migration(
        repo,
        "20240103000000",
        "rename",
        "ALTER TABLE users RENAME COLUMN nick TO handle;\n",
        "ALTER TABLE users RENAME COLUMN handle TO nick;\n",
    )
    monkeypatch.chdir(repo)
    code, out, _ = _run("migrations", "--base", "main", "--write", "--format", "json")
    doc = json.loads(out)
    assert (repo / "migrations" / "20240102000000_index" / "up.sql").read_text() == merged_up
    assert [f["migration"] for f in doc["fixed"]] == ["20240103000000_rename"]
    assert not [p for p in (repo / "migrations").iterdir() if "contract" in p.name]
    assert any("later change" in n and "guard: contract 20240103000000" in n for n in doc["notices"])
    assert code == 0
    lint = CliRunner().invoke(cli, ["lint", "migrations", "--base", "main"], catch_exceptions=False)
    assert lint.exit_code == 0, lint.output


def test_naming_an_unknown_migration_is_an_input_error(tmp_path: Path) -> None:
    folder = _copy(tmp_path, ("20240201090000", "20240301090000"))
    code, _, err = _run(str(folder), "20991231000000")
    assert code == 2 and "no such migration" in err
    code, out, _ = _run(str(folder), "20240301090000", "--format", "json")
    assert [f["rule"] for f in json.loads(out)["fixed"]] == ["require-concurrent-index"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("project", "sub", "layout"),
    [
        ("Mission-Prerna__nl-hasura-migrations", "migrations/default", "hasura"),
        ("openmeterio__openmeter", "tools/migrate/migrations", "golang-migrate"),
        ("bionic-gpt__bionic-gpt", "crates/db/migrations", "dbmate"),
        ("triggerdotdev__trigger.dev", "internal-packages/database/prisma/migrations", "prisma"),
    ],
)
def test_corpus_projects_plan_without_crashing(tmp_path: Path, project: str, sub: str, layout: str) -> None:
    source = CORPUS / project / sub
    if not source.is_dir():
        pytest.skip(f"{source} is absent (shared corpus not available)")
    folder = tmp_path / "m"
    shutil.copytree(source, folder)
    plan = plan_fixes(folder, Settings(layout=layout), now=NOW)
    assert plan.fixed and plan.unfixable
    for change in plan.changes:
        for stmt in split_statements(change.after)[0]:
            assert sqlglot.parse(stmt.text, read="postgres")


def test_renamed_table_with_its_view_lints_clean_without_a_suppression(tmp_path: Path) -> None:
    """avoid-rename-table accepts the swap (a view takes the old name in the same transaction), so the
    recipe needs no `guard: ignore`, which would otherwise be reported as an unused suppression."""
    folder = _copy(tmp_path, ("20240205090000",))
    code, _, err = _run(str(folder), "--write")
    assert code == 0, err
    written = "\n".join(_files(folder).values())
    assert "CREATE VIEW" in written and "guard: ignore avoid-rename-table" not in written
    rules = {f.rule for f in lint_path(folder, Settings()).findings}
    assert not rules & {"avoid-rename-table", "unused-suppression"}, rules
