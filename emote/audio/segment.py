"""Cutting long audio into utterance-sized pieces at its quietest moments.

The recognisers work on utterances: their search and memory grow with length,
and cepstral mean normalisation adapts per utterance. :func:`iter_segments`
turns any stream of blocks (a whole array, or :func:`emote.audio.io.iter_audio_blocks`
of an hour-long file) into consecutive segments of at most ``max_seconds``, each
cut at the quietest 300 ms in the second half of the window, so a cut falls in
a pause whenever the speaker pauses at all. Memory stays at one window plus one
block.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from emote.audio.features import frame_db, frame_energy

__all__ = ["iter_segments", "next_cut", "speech_span"]

_FPS = 100.0  # analysis rate for finding the cut (10 ms)
_SMOOTH_SECONDS = 0.3  # a pause this long is the target


def next_cut(y: np.ndarray, *, sr: int, max_seconds: float) -> int:
    """Sample index at which to end the first segment of ``y`` [shape=(n,)].

    ``len(y)`` if it fits in ``max_seconds``; otherwise the centre of the quietest
    300 ms between ``max_seconds / 2`` and ``max_seconds``.
    """
    limit = int(max_seconds * sr)
    if y.size <= limit:
        return int(y.size)
    window = y[:limit]
    db = frame_db(y=window, sr=sr, fps=_FPS).astype(np.float64)
    width = max(1, int(_SMOOTH_SECONDS * _FPS))
    smooth = np.convolve(db, np.ones(width) / width, mode="same")
    lo = len(smooth) // 2
    best = lo + int(np.argmin(smooth[lo:-1] if len(smooth) - 1 > lo else smooth[lo:]))
    return int(np.clip(round(best * sr / _FPS), 1, limit))


def iter_segments(
    blocks: Iterable[np.ndarray], *, sr: int, max_seconds: float = 30.0
) -> Iterator[tuple[int, np.ndarray]]:
    """Regroup a stream of mono blocks into segments cut at pauses.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(n,)]
        Consecutive pieces of one signal (any sizes), e.g. ``[y]``.
    sr : int
        Sample rate.
    max_seconds : float
        Longest segment.

    Yields
    ------
    offset : int
        Sample index of the segment's first sample in the whole signal.
    segment : np.ndarray [shape=(m,), dtype=float32]
        ``m <= max_seconds * sr``; the segments tile the signal exactly.
    """
    if max_seconds <= _SMOOTH_SECONDS * 2:
        raise ValueError(f"max_seconds must exceed {2 * _SMOOTH_SECONDS} s, got {max_seconds}")
    limit = int(max_seconds * sr)
    buffer = np.zeros(0, np.float32)
    offset = 0
    for block in blocks:
        buffer = np.concatenate([buffer, np.asarray(block, dtype=np.float32)]) if buffer.size else block
        while buffer.size > limit:
            cut = next_cut(buffer, sr=sr, max_seconds=max_seconds)
            yield offset, np.asarray(buffer[:cut], dtype=np.float32)
            offset += cut
            buffer = buffer[cut:]
    if buffer.size:
        yield offset, np.asarray(buffer, dtype=np.float32)


def speech_span(
    y: np.ndarray, *, sr: int, margin: float = 0.25, threshold: float = 0.1
) -> tuple[int, int] | None:
    """Sample range ``[start, end)`` from the first to the last loud frame, widened by ``margin`` s.

    None when nothing in ``y`` is louder than ``threshold`` (see
    :func:`emote.audio.features.frame_energy`). Decoders normalise their
    features by the utterance's cepstral mean, which long leading or trailing
    silence drags towards silence: a one-word clip with four seconds of room
    tone then decodes its word as silence. Cropping to this span avoids it.
    """
    energy = frame_energy(y=y, sr=sr, fps=_FPS)
    loud = np.flatnonzero(energy > threshold)
    if loud.size == 0:
        return None
    start = max(0, round((loud[0] / _FPS - margin) * sr))
    end = min(y.size, round((loud[-1] / _FPS + margin) * sr))
    return (start, end) if end > start else None
