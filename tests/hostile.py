"""Helpers of the hostile suite (tests/test_hostile_*.py): short synthetic speech, the CLI
in a child process under a memory limit (as the issue-14 probe ran it: ``ulimit -v``), and
checks that a failure left one line and nothing behind."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]

MEMORY_LIMIT = 2 << 30
"""Address space of a CLI child (``ulimit -v``): a normal run needs about 1.5 GiB of it."""


def speech_wav(path: Path, seconds: float = 1.5, *, sr: int = 16000, subtype: str = "PCM_16") -> Path:
    """A voiced, syllable-paced tone: enough for the front-end to find 'speech'."""
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    sf.write(path, y.astype(np.float32), sr, subtype=subtype)
    return path


def random_take(path: Path, frames: int, *, seed: int) -> Path:
    """An emote JSON take of ``frames`` frames at 30 fps: random ARKit weights, angles at rest."""
    from emote.animation import FaceAnimation

    curves = np.zeros((frames, 61), np.float32)
    curves[:, :52] = np.random.default_rng(seed).uniform(0, 1, (frames, 52))
    FaceAnimation(30.0, curves, {"engine": "test"}).save(path)
    return path


def run_emote(
    *args: str,
    memory: int | None = MEMORY_LIMIT,
    file_size: int | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess:
    """``python -m emote ARGS`` in a child, its address space (and file size) capped."""

    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if file_size is not None:  # writes past it fail with EFBIG (Python ignores SIGXFSZ)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    return subprocess.run(
        [sys.executable, "-m", "emote", *args],
        capture_output=True,
        timeout=timeout,
        preexec_fn=limit,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        cwd=cwd or REPO,
        check=False,
    )


def error_line(res: subprocess.CompletedProcess, *words: str) -> str:
    """The one stderr line of a failed run; it must hold every word (case-insensitively)."""
    err = res.stderr.decode("utf-8", "replace") if isinstance(res.stderr, bytes) else res.stderr
    lines = [line for line in err.splitlines() if line.strip()]
    assert res.returncode not in (0, -9), (res.returncode, err)
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    """Every file or folder under ``folder`` (relative), temporaries included."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
