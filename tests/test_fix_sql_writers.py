"""The linter's suggested fixes: written by `guard.sql.safe_sql` without sqlglot, and still SQL.

The corpus test lints every project of the shared corpus and parses every statement any
finding's fix writes; the import test shows a lint of DDL and plain row statements never loads
sqlglot.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, REPO
from fix_sql_helpers import statements, structured

from guard.sql import safe_sql as sql


def _corpus_projects() -> tuple[tuple[str, str, str, str], ...]:
    spec = importlib.util.spec_from_file_location("bench_lint", REPO / "scripts" / "bench_lint.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, bench)  # its dataclasses look their module up
    spec.loader.exec_module(bench)
    return tuple(bench.CORPUS_PROJECTS)


#: Rules whose fixes write SQL, each seen in the corpus (so the test cannot pass on no statements).
_WRITING_RULES = {
    "require-concurrent-index",
    "require-concurrent-index-drop",
    "require-not-valid-constraint",
    "require-unique-index-first",
    "avoid-set-not-null",
    "require-default-for-not-null",
    "avoid-drop-column",
    "avoid-rename-column",
    "avoid-rename-table",
    "avoid-column-type-change",
    "avoid-type-change-rewrite",
}


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside this checkout")
def test_every_fix_statement_in_the_corpus_parses(tmp_path: Path) -> None:
    folders = []
    for i, (project, migrations, _layout, _glob) in enumerate(_corpus_projects()):
        source = CORPUS / project / migrations
        assert source.is_dir(), source
        folders.append(shutil.copytree(source, tmp_path / f"{i}_{project}"))
    out = subprocess.run(
        [sys.executable, "-m", "guard", "lint", *map(str, folders), "--no-cache", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode in (0, 1), out.stderr
    findings = json.loads(out.stdout)["findings"]
    seen: dict[str, int] = {}
    bad = []
    for finding in findings:
        for statement in statements(finding.get("fix") or ""):
            seen[finding["rule"]] = seen.get(finding["rule"], 0) + 1
            if not structured(statement):
                bad.append(f"{finding['rule']}: {statement}")
    assert not bad, "\n".join(bad[:20])
    assert set(seen) >= _WRITING_RULES, sorted(_WRITING_RULES - set(seen))
    assert sum(seen.values()) > 1000, seen


def test_the_extractor_finds_statements_the_rules_write() -> None:
    fix = (
        "1. Expand: ALTER TABLE t ADD COLUMN c_new bigint; keep it in sync with c.\n"
        "1. In one migration: ALTER TABLE a RENAME TO b; CREATE VIEW a AS SELECT * FROM b;\n"
        "the move to schema s, then CREATE VIEW t AS SELECT * FROM s.t;\n"
        "add it with the constant existing rows should get:\n"
        "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT <constant>;\n"
        "run `DROP INDEX CONCURRENTLY i;` alone"
    )
    assert statements(fix) == [
        "ALTER TABLE t ADD COLUMN c_new bigint;",
        "ALTER TABLE a RENAME TO b;",
        "CREATE VIEW a AS SELECT * FROM b;",
        "CREATE VIEW t AS SELECT * FROM s.t;",
        "DROP INDEX CONCURRENTLY i;",
    ]
    assert not structured("ALTER TABLE t VALIDATE CONSTRAINT c x;")
    assert not structured("ALTER TABLE t ADD COLUMN;")
    assert structured("ALTER TABLE t VALIDATE CONSTRAINT c;")


_PROBE = """
import sys
from guard.cli import main
sys.argv = ["migration-guard", "lint", sys.argv[1], "--no-cache"]
try:
    main()
except SystemExit as exc:
    code = exc.code
print("sqlglot loaded" if "sqlglot" in sys.modules else "sqlglot not loaded", code)
"""


def _lint_loads_sqlglot(folder: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(folder)], capture_output=True, text=True, check=True, cwd=REPO
    )
    return out.stdout.strip().splitlines()[-1]


def test_a_lint_of_ddl_and_plain_row_statements_never_imports_sqlglot(tmp_path: Path) -> None:
    """The sample app: DDL, and a backfill whose `UPDATE ... WHERE` the token reader reads."""
    app = tmp_path / "app"
    shutil.copytree(REPO / "sample_migrations" / "app", app)
    assert "UPDATE users SET" in (app / "20240109090000_backfill_users_display_name" / "up.sql").read_text()
    assert _lint_loads_sqlglot(app) == "sqlglot not loaded 0"
    # A statement that needs a tree still gets one: the probe sees the import when it happens.
    merge = app / "20240120090000_purge_orders"
    merge.mkdir()
    (merge / "up.sql").write_text(
        "WITH gone AS (DELETE FROM orders WHERE id < 10 RETURNING id) SELECT count(*) FROM gone;\n"
    )
    (merge / "down.sql").write_text("-- guard: irreversible reason: the rows are gone\n")
    assert _lint_loads_sqlglot(app).startswith("sqlglot loaded")


def test_a_suggested_fix_with_findings_imports_no_sqlglot(tmp_path: Path) -> None:
    folder = tmp_path / "m" / "20240101000000_ddl"
    folder.mkdir(parents=True)
    (folder / "up.sql").write_text(
        'CREATE INDEX "Idx" ON "Users" ("order");\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n'
        "ALTER TABLE users DROP COLUMN legacy;\nALTER TABLE users ALTER COLUMN score TYPE bigint;\n"
    )
    (folder / "down.sql").write_text("SELECT 1;\n")
    assert _lint_loads_sqlglot(tmp_path / "m") == "sqlglot not loaded 1"


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("users", "users"),
        ("user", '"user"'),
        ("order_new", "order_new"),
        ("Order", '"Order"'),
        ("größe", '"größe"'),
        ("a b", '"a b"'),
        ('say "hi"', '"say ""hi"""'),
        ("1st", '"1st"'),
    ],
)
def test_ident_quotes_what_postgres_would_fold_or_refuse(key: str, shown: str) -> None:
    assert sql.ident(key) == shown


def test_unparsed_writers_keep_the_spelling_and_end_each_statement() -> None:
    assert sql.add_column('public."Users"', sql.ident("Score_new"), "numeric(12, 4)[]", parse=False) == (
        'ALTER TABLE public."Users" ADD COLUMN "Score_new" numeric(12, 4)[];'
    )
    assert sql.add_column("t", "c", "int", parse=True) == "ALTER TABLE t ADD COLUMN c INT"
    assert sql.add_constraint_using_index("t", "", "t_pkey_idx", primary=True, parse=False) == (
        "ALTER TABLE t ADD PRIMARY KEY USING INDEX t_pkey_idx;"
    )
    assert sql.create_index("t", "(lower(a))", index="i", only=True, where="b", parse=False) == (
        "CREATE INDEX CONCURRENTLY i ON ONLY t ((lower(a))) WHERE b;"
    )
    assert sql.set_timeout("lock_timeout", "2s", parse=False) == "SET lock_timeout = '2s';"
    assert (
        sql.lock_table("t", "share row exclusive", parse=False) == "LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE;"
    )
