"""Per-frame tracks (one value per animation frame): stretch onto another frame count, smooth.

The engines and the performance layer both shape per-frame tracks (speech energy,
pitch, activity) before they become curves; they share these two helpers.
"""

from __future__ import annotations

import numpy as np


def resample_track(values: np.ndarray, n_frames: int) -> np.ndarray:
    """Linearly stretch a per-frame track onto ``n_frames`` frames over the same duration.

    Parameters
    ----------
    values : np.ndarray [shape=(m,)]
    n_frames : int

    Returns
    -------
    np.ndarray [shape=(n_frames,), dtype=float64]
    """
    values = np.asarray(values, np.float64).reshape(-1)
    if values.size == n_frames:
        return values.copy()
    if values.size == 0:
        return np.zeros(n_frames)
    if values.size == 1 or n_frames <= 1:
        return np.full(n_frames, values[0])
    src = np.linspace(0.0, 1.0, values.size)
    return np.interp(np.linspace(0.0, 1.0, n_frames), src, values)


def smooth(values: np.ndarray, *, fps: float, seconds: float) -> np.ndarray:
    """Gaussian smoothing with standard deviation ``seconds`` (edges held).

    Parameters
    ----------
    values : np.ndarray [shape=(frames,)]
    """
    sigma = seconds * fps
    if sigma < 0.3 or values.size < 2:
        return values.astype(np.float64)
    half = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(values.astype(np.float64), half, mode="edge")
    return np.convolve(padded, k, mode="valid")
