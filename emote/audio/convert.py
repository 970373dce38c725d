"""Unit conversions between samples, seconds and animation frames, in one place.

emote's convention (shared with :class:`emote.animation.FaceAnimation`): frame
``i`` of a curve sampled at ``fps`` is the face at time ``i / fps``; sample ``n``
of audio at ``sr`` is the signal at time ``n / sr``. Conversions to an index
round to the nearest one, so a round trip ``time -> frames -> time`` moves a
time by at most half a frame.

Examples
--------
>>> frames_to_time(90, fps=30)
3.0
>>> time_to_frames(1.01, fps=30)
30
>>> samples_to_frames(16000, sr=SAMPLE_RATE, fps=60)
60
>>> n_frames_for(duration=2.0, fps=30)
61
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np

# The frame convention lives with the animation (emote.animation.frames); re-exported here.
from emote.animation.frames import n_frames_for as n_frames_for

SAMPLE_RATE = 16000
"""The rate every audio stage works at, in Hz (the recognisers' and the neural engine's)."""

HOP_SECONDS = 0.010
"""The analysis hop of the recognisers (pocketsphinx: 100 frames per second)."""


@overload
def frames_to_time(frames: int, *, fps: float) -> float: ...
@overload
def frames_to_time(frames: np.ndarray, *, fps: float) -> np.ndarray: ...
def frames_to_time(frames, *, fps):
    """Time in seconds of frame index(es) ``frames`` at ``fps`` (``frames / fps``)."""
    _check_rate(fps, "fps")
    if np.ndim(frames) == 0:
        return float(frames) / fps
    return np.asarray(frames, dtype=np.float64) / fps


@overload
def time_to_frames(times: float, *, fps: float) -> int: ...
@overload
def time_to_frames(times: np.ndarray, *, fps: float) -> np.ndarray: ...
def time_to_frames(times, *, fps):
    """Nearest frame index of time(s) ``times`` (seconds) at ``fps``."""
    _check_rate(fps, "fps")
    if np.ndim(times) == 0:
        return round(float(times) * fps)
    return np.rint(np.asarray(times, dtype=np.float64) * fps).astype(np.int64)


@overload
def samples_to_time(samples: int, *, sr: int) -> float: ...
@overload
def samples_to_time(samples: np.ndarray, *, sr: int) -> np.ndarray: ...
def samples_to_time(samples, *, sr):
    """Time in seconds of sample index(es) ``samples`` at ``sr`` Hz."""
    _check_rate(sr, "sr")
    if np.ndim(samples) == 0:
        return float(samples) / sr
    return np.asarray(samples, dtype=np.float64) / sr


@overload
def time_to_samples(times: float, *, sr: int) -> int: ...
@overload
def time_to_samples(times: np.ndarray, *, sr: int) -> np.ndarray: ...
def time_to_samples(times, *, sr):
    """Nearest sample index of time(s) ``times`` (seconds) at ``sr`` Hz."""
    _check_rate(sr, "sr")
    if np.ndim(times) == 0:
        return round(float(times) * sr)
    return np.rint(np.asarray(times, dtype=np.float64) * sr).astype(np.int64)


@overload
def samples_to_frames(samples: int, *, sr: int, fps: float) -> int: ...
@overload
def samples_to_frames(samples: np.ndarray, *, sr: int, fps: float) -> np.ndarray: ...
def samples_to_frames(samples, *, sr, fps):
    """Nearest frame index at ``fps`` of sample index(es) ``samples`` at ``sr``."""
    return time_to_frames(samples_to_time(samples, sr=sr), fps=fps)


@overload
def frames_to_samples(frames: int, *, sr: int, fps: float) -> int: ...
@overload
def frames_to_samples(frames: np.ndarray, *, sr: int, fps: float) -> np.ndarray: ...
def frames_to_samples(frames, *, sr, fps):
    """Nearest sample index at ``sr`` of frame index(es) ``frames`` at ``fps``."""
    return time_to_samples(frames_to_time(frames, fps=fps), sr=sr)


def _check_rate(rate: float, name: str) -> None:
    if not (isinstance(rate, (int, float, np.integer, np.floating)) and math.isfinite(rate) and rate > 0):
        raise ValueError(f"{name} must be a positive number, got {rate!r}")
