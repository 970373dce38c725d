"""The layer contract (docs/layers.md, ``[tool.importlinter]`` in pyproject.toml) holds.

import-linter builds the import graph with grimp, which reads every ``import``
statement in the source, those inside functions included; these tests run the
contract on the package, and on a copy of it with a deliberate breach to show
that a breach made inside a function, or a package given no layer, is caught.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# import-linter's own entry point, run in a fresh interpreter so grimp finds the
# package under test on PYTHONPATH, not the emote this process already imported.
LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))"
)


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run the contract in ``root/pyproject.toml`` on the ``emote`` package under ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", LINT, str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_of_package(tmp_path: Path) -> Path:
    """The package and its contract, copied so a test can break them."""
    shutil.copytree(ROOT / "emote", tmp_path / "emote", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_package_keeps_its_layer_contract():
    run = lint(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "KEPT" in run.stdout


def test_an_upward_import_inside_a_function_breaks_the_contract(tmp_path):
    root = copy_of_package(tmp_path)
    labels = root / "emote" / "phonetics" / "labels.py"
    # The base layer reaching for the API, lazily: the kind of import a layering
    # check that only reads module-level imports would miss.
    labels.write_text(
        labels.read_text() + "\n\ndef _lazy():\n    from emote.api import animate\n\n    return animate\n"
    )
    run = lint(root)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "emote.phonetics is not allowed to import emote.api" in run.stdout
    assert "emote.phonetics.labels -> emote.api" in run.stdout


def test_the_performance_layer_may_not_import_an_engine(tmp_path):
    root = copy_of_package(tmp_path)
    compose = root / "emote" / "performance" / "compose.py"
    compose.write_text(
        compose.read_text()
        + "\n\ndef _lazy():\n    from emote.engines.phonetic import visemes\n\n    return visemes\n"
    )
    run = lint(root)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "emote.performance is not allowed to import emote.engines" in run.stdout


def test_a_package_without_a_layer_breaks_the_contract(tmp_path):
    root = copy_of_package(tmp_path)
    (root / "emote" / "newcomer").mkdir()
    (root / "emote" / "newcomer" / "__init__.py").write_text('"""A package nobody placed in a layer."""\n')
    run = lint(root)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "emote.newcomer" in run.stdout and "not listed as layers" in run.stdout
