"""Shared fixtures (where the test material in ../shared/data lives) and the skip policy.

Skip policy: a test may skip only for a reason of one of three kinds, each a prefix of the reason:

- ``missing CAPABILITY: ...`` (:func:`missing`, :func:`needs`): something the project claims to
  support is absent here (OpenGL, PyTorch3D, bpy, espeak-ng, ...; see :data:`CAPABILITIES`).
- ``opt-in: ...``: a test that runs only when asked (``EMOTE_SLOW_TESTS=1``).
- ``platform: ...``: a test of one operating system's behaviour on another.

Under ``CI`` every capability is required: a ``missing`` skip fails the run unless the capability
is listed as optional for that machine in ``EMOTE_CI_OPTIONAL`` (comma-separated, e.g.
``EMOTE_CI_OPTIONAL=bpy,pytorch3d``), and a skip of no known kind fails; a ``missing``
capability this file does not know fails everywhere. The end of the
run lists every skip by kind, allowed or not.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import NoReturn

import pytest
from hypothesis import settings

# Property tests: no per-example deadline (a shared 2-core CI machine stalls at times), and a
# fixed example sequence under CI so a red run is reproducible; locally they explore freely.
settings.register_profile("emote", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "emote")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SPEECH = SHARED / "data" / "speech"
RIGS_DATA = SHARED / "data" / "rigs"
REFERENCE = SHARED / "reference"


@pytest.fixture(scope="session")
def speech_dir() -> Path:
    if not SPEECH.is_dir():
        needs("test-material", f"not found at {SPEECH}")
    return SPEECH


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return REFERENCE


@pytest.fixture(scope="session")
def rigs_dir() -> Path:
    if not RIGS_DATA.is_dir():
        needs("test-material", f"rig test material not found at {RIGS_DATA}")
    return RIGS_DATA


# -- skip policy ------------------------------------------------------------------------------------

CAPABILITIES: dict[str, str] = {
    "test-material": "../shared/data (speech, rigs and reference files the tests read)",
    "opengl": "headless OpenGL through EGL (an NVIDIA driver or Mesa's llvmpipe)",
    "pytorch3d": "PyTorch3D (setup.sh builds it into the venv)",
    "bpy": "Blender 4.2 and 5.0 as Python modules (setup.sh --blender)",
    "espeak-ng": "the espeak-ng library and voices (apt: espeak-ng)",
    "festival": "festival and its voices (apt: festival)",
    "flite": "flite (apt: flite)",
    "ffmpeg": "ffmpeg and ffprobe (apt: ffmpeg)",
    "ray": "Ray (pip install emote[cluster])",
    "render": "the render extras (pip install emote[render])",
    "gltf-validator": "Node.js and the Khronos gltf-validator npm package (setup.sh)",
    "chromium": "headless Chromium for the browser test of emote serve (apt: chromium)",
    "three.js": "three.js for emote serve's page (setup.sh installs it from npm)",
}
"""What the tests may find missing, each a feature the project claims: under CI all are required."""

ALLOWED_KINDS = ("opt-in:", "platform:")
_CI = bool(os.environ.get("CI"))
_OPTIONAL = {c.strip() for c in os.environ.get("EMOTE_CI_OPTIONAL", "").split(",") if c.strip()}
_SKIPS: dict[str, list[str]] = defaultdict(list)


def missing(capability: str, detail: str) -> str:
    """The skip reason for a missing capability (for ``skipif`` marks)."""
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}; add it to conftest.CAPABILITIES")
    return f"missing {capability}: {detail}"


def needs(capability: str, detail: str) -> NoReturn:
    """Skip the running test for a missing capability (a failure under CI unless optional)."""
    pytest.skip(missing(capability, detail))


def skip_verdict(
    reason: str, *, ci: bool = _CI, optional: frozenset[str] | set[str] = _OPTIONAL
) -> str | None:
    """Why a skip with ``reason`` fails the run (None when it may skip)."""
    if reason.startswith(ALLOWED_KINDS):
        return None
    if reason.startswith("missing "):
        capability = reason[len("missing ") :].split(":", 1)[0]
        if capability not in CAPABILITIES:
            return f"skipped for an unknown capability {capability!r}"
        if not ci or capability in optional:
            return None
        return f"CI requires {capability} ({CAPABILITIES[capability]}); list it in EMOTE_CI_OPTIONAL if this machine may lack it"
    if not ci:
        return None
    return (
        "a skip must say why: 'missing CAPABILITY: ...', 'opt-in: ...' or 'platform: ...' (tests/conftest.py)"
    )


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        verdict = skip_verdict(reason)
        _SKIPS["failed" if verdict else "allowed"].append(f"{item.nodeid}: {reason}")
        if verdict:
            report.outcome = "failed"
            report.longrepr = f"skip not allowed: {reason}\n  {verdict}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if report.skipped:
        reason = _skip_reason(report)
        verdict = skip_verdict(reason)
        _SKIPS["failed" if verdict else "allowed"].append(f"{collector.nodeid}: {reason}")
        if verdict:
            report.outcome = "failed"
            report.longrepr = f"skip not allowed: {reason}\n  {verdict}"


def pytest_terminal_summary(terminalreporter):
    allowed, failed = _SKIPS["allowed"], _SKIPS["failed"]
    if not (allowed or failed):
        return
    mode = (
        f"CI, optional here: {', '.join(sorted(_OPTIONAL)) or 'none'}"
        if _CI
        else "not CI: every kind allowed"
    )
    terminalreporter.section(f"skip policy ({mode})")
    for title, lines in (("failed the run", failed), ("allowed", allowed)):
        if lines:
            terminalreporter.write_line(f"{len(lines)} skip(s) {title}:")
            for line in sorted(lines):
                terminalreporter.write_line(f"  {line}")
