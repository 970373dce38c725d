"""Shared fixtures: where the test material in ../shared/data lives."""

from __future__ import annotations

import os
from pathlib import Path

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
        pytest.skip(f"test material not found at {SPEECH}")
    return SPEECH


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return REFERENCE


@pytest.fixture(scope="session")
def rigs_dir() -> Path:
    if not RIGS_DATA.is_dir():
        pytest.skip(f"rig test material not found at {RIGS_DATA}")
    return RIGS_DATA
