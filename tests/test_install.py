"""The package installs from a built wheel and with `uv tool install`, into environments of its own,
and its command runs from there (what a user does on day one, not what `pip install -e` hides)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, REPO)
    [built] = list(out.glob("migration_guard-*.whl"))
    return built


def test_the_wheel_carries_the_schemas_license_and_no_tests(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "guard/schemas/lint-report.json" in names
    assert "guard/db/snapshot.sql" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert not any(n.startswith("tests/") for n in names)


def test_a_wheel_installs_into_a_fresh_environment_and_lints(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    _run(bindir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    assert "Usage: migration-guard" in _run(bindir / "migration-guard", "--help")
    out = _run(bindir / "migration-guard", "lint", SAMPLES / "app", "--no-cache", cwd=tmp_path)
    assert "migrations checked: 0 errors" in out
    schema = _run(
        bindir / "python",
        "-c",
        "import importlib.resources as r, json; "
        "print(json.loads((r.files('guard') / 'schemas' / 'lint-report.json').read_text())['$schema'])",
    )
    assert "json-schema.org" in schema


def test_uv_tool_install_from_the_project_directory(tmp_path: Path) -> None:
    uv = shutil.which("uv") or (
        str(Path(sys.executable).parent / "uv") if (Path(sys.executable).parent / "uv").exists() else None
    )
    if uv is None:
        pytest.skip("uv is not installed (it is in the test extra)")
    env = {
        **os.environ,
        "UV_TOOL_DIR": str(tmp_path / "tools"),
        "UV_TOOL_BIN_DIR": str(tmp_path / "bin"),
    }
    _run(uv, "tool", "install", "--quiet", REPO, env=env)
    assert "Usage: migration-guard" in _run(tmp_path / "bin" / "migration-guard", "--help", env=env)
    out = _run(
        tmp_path / "bin" / "migration-guard", "lint", SAMPLES / "app", "--no-cache", cwd=tmp_path, env=env
    )
    assert "migrations checked: 0 errors" in out
