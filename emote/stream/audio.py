"""Audio arriving in pieces: one mono 16 kHz signal with a bounded memory of its past.

:class:`AudioInput` turns whatever a caller pushes (int16 or float, mono or
interleaved channels, any rate) into float32 mono at 16 kHz, resampling through
one stateful soxr stream so the pieces join without clicks. :class:`AudioWindow`
keeps only the samples the next analysis can still read: memory stays flat however
long the stream runs.
"""

from __future__ import annotations

import numpy as np

from emote.audio.convert import SAMPLE_RATE
from emote.errors import AudioError

MAX_RATE = 384_000
"""Highest input rate accepted (Hz)."""


class AudioInput:
    """Normalise pushed samples to float32 mono at :data:`SAMPLE_RATE`.

    The first push fixes the rate; a later push at another rate is an error (a
    client that changes rate mid-stream is sending something else).
    """

    def __init__(self) -> None:
        self.sr: int | None = None
        self._resampler = None

    def __call__(self, samples: np.ndarray, sr: int) -> np.ndarray:
        if not isinstance(sr, (int, np.integer)) or not 1000 <= sr <= MAX_RATE:
            raise AudioError(f"sample rate must be an integer in [1000, {MAX_RATE}] Hz, got {sr!r}")
        if self.sr is None:
            self.sr = int(sr)
            if sr != SAMPLE_RATE:
                import soxr

                self._resampler = soxr.ResampleStream(sr, SAMPLE_RATE, 1, dtype="float32")
        elif sr != self.sr:
            raise AudioError(f"sample rate changed mid-stream from {self.sr} to {sr} Hz")
        y = to_mono_float(samples)
        if self._resampler is not None:
            y = self._resampler.resample_chunk(y)
        return y

    def flush(self) -> np.ndarray:
        """The resampler's last samples (call once, at the end)."""
        if self._resampler is None:
            return np.zeros(0, np.float32)
        return self._resampler.resample_chunk(np.zeros(0, np.float32), last=True)


def to_mono_float(samples: np.ndarray) -> np.ndarray:
    """(samples,) or (samples, channels) int16/int32/float → (samples,) float32 in [-1, 1].

    Raises
    ------
    AudioError
        Not a 1-D or 2-D numeric array, or not finite.
    """
    a = np.asarray(samples)
    if a.ndim not in (1, 2):
        raise AudioError(f"samples must have shape (samples,) or (samples, channels), got {a.shape}")
    if a.dtype == np.int16:
        y = a.astype(np.float32) / 32768.0
    elif a.dtype == np.int32:
        y = (a.astype(np.float64) / 2147483648.0).astype(np.float32)
    elif a.dtype.kind == "f":
        y = a.astype(np.float32)
    else:
        raise AudioError(f"samples must be int16, int32 or float, got dtype {a.dtype}")
    if y.ndim == 2:
        y = y.mean(axis=1, dtype=np.float32)
    if not np.isfinite(y).all():
        raise AudioError("samples contain NaN or infinity")
    return np.clip(y, -1.0, 1.0)


class AudioWindow:
    """The tail of a growing signal: samples ``[start, end)`` of everything pushed.

    Attributes
    ----------
    start, end : int
        Absolute sample indices held (``end`` = samples pushed so far).
    """

    def __init__(self) -> None:
        self._buf = np.zeros(1024, np.float32)
        self.start = 0
        self.end = 0

    def append(self, y: np.ndarray) -> None:
        n = self.end - self.start
        if n + y.size > self._buf.size:
            grown = np.zeros(max(2 * self._buf.size, n + y.size), np.float32)
            grown[:n] = self._buf[:n]
            self._buf = grown
        self._buf[n : n + y.size] = y
        self.end += y.size

    def read(self, a: int, b: int) -> np.ndarray:
        """Samples ``[a, b)`` (absolute); zeros where nothing is held (before the start, after the end)."""
        out = np.zeros(max(b - a, 0), np.float32)
        lo, hi = max(a, self.start), min(b, self.end)
        if hi > lo:
            out[lo - a : hi - a] = self._buf[lo - self.start : hi - self.start]
        return out

    def forget_before(self, sample: int) -> None:
        """Drop samples before ``sample``; the buffer shrinks back when it was grown for a burst."""
        cut = min(max(sample - self.start, 0), self.end - self.start)
        if cut <= 0:
            return
        n = self.end - self.start - cut
        self._buf[:n] = self._buf[cut : cut + n]
        self.start += cut
        if self._buf.size > 4 * max(n, 1024):
            self._buf = self._buf[: max(2 * n, 1024)].copy()

    @property
    def capacity(self) -> int:
        """Samples the buffer can hold without growing (what memory it takes)."""
        return int(self._buf.size)
