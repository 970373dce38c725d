"""The skip policy (tests/conftest.py): under CI a missing capability fails the run unless optional."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import skip_verdict

SKIPPING = """
import pytest
from conftest import missing, needs


def test_needs_opengl():
    needs("opengl", "no EGL display")


@pytest.mark.skipif(True, reason=missing("bpy", "no bpy wheel"))
def test_needs_bpy():
    pass


@pytest.mark.skipif(True, reason="opt-in: slow; EMOTE_SLOW_TESTS=1")
def test_slow():
    pass


def test_runs():
    assert True
"""


def run_pytest(tmp_path: Path, body: str, **env: str) -> subprocess.CompletedProcess:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_sample.py").write_text(body)
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "EMOTE_CI_OPTIONAL")} | env
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, env=environ, check=False, timeout=120)  # fmt: skip


def test_under_ci_a_missing_capability_fails_and_the_summary_lists_every_skip(tmp_path):
    res = run_pytest(tmp_path, SKIPPING, CI="true")
    assert res.returncode == 1, res.stdout
    assert "skip policy (CI, optional here: none)" in res.stdout
    assert "2 skip(s) failed the run" in res.stdout and "1 skip(s) allowed" in res.stdout
    assert "CI requires opengl" in res.stdout and "CI requires bpy" in res.stdout
    assert "1 passed" in res.stdout


def test_a_capability_listed_optional_for_the_machine_may_skip(tmp_path):
    res = run_pytest(tmp_path, SKIPPING, CI="true", EMOTE_CI_OPTIONAL="opengl, bpy")
    assert res.returncode == 0, res.stdout
    assert "3 skip(s) allowed" in res.stdout and "3 skipped" in res.stdout


def test_outside_ci_skips_are_allowed_and_still_listed(tmp_path):
    res = run_pytest(tmp_path, SKIPPING)
    assert res.returncode == 0, res.stdout
    assert "skip policy (not CI: every kind allowed)" in res.stdout and "3 skip(s) allowed" in res.stdout


def test_a_module_level_skip_of_a_missing_capability_fails_under_ci(tmp_path):
    body = 'import pytest\nfrom conftest import missing\n\nray = pytest.importorskip("no_such_mod", reason=missing("ray", "x"))\n\n\ndef test_x():\n    pass\n'
    res = run_pytest(tmp_path, body, CI="true")
    assert res.returncode != 0 and "CI requires ray" in res.stdout, res.stdout


def test_verdicts():
    assert skip_verdict("opt-in: slow", ci=True, optional=set()) is None
    assert skip_verdict("platform: POSIX signals", ci=True, optional=set()) is None
    assert skip_verdict("missing opengl: no EGL", ci=False, optional=set()) is None
    assert skip_verdict("missing opengl: no EGL", ci=True, optional={"opengl"}) is None
    assert "CI requires opengl" in skip_verdict("missing opengl: no EGL", ci=True, optional={"bpy"})
    assert "unknown capability 'gpu'" in skip_verdict("missing gpu: none", ci=False, optional=set())
    # a skip that does not say which kind it is fails under CI
    assert "a skip must say why" in skip_verdict("no headless OpenGL here", ci=True, optional={"opengl"})
    assert skip_verdict("no headless OpenGL here", ci=False, optional=set()) is None
