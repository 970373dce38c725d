"""emote's frame convention, and the one resampler every stage uses.

The convention
--------------
Frame ``i`` of a curve at ``fps`` is the face at the instant ``i / fps``; frame 0 is at 0 s.

- **A clip of** ``duration`` **seconds has** ``n_frames_for(duration=duration, fps=fps)``
  ``= ceil(duration * fps) + 1`` frames (:func:`n_frames_for`, also in :mod:`emote.audio.convert`
  with the other unit conversions): both ends
  included, the last frame at or just after the end, so the animation covers the whole clip.
  A 2 s clip has 61 frames at 30 fps and 121 at 60 fps. Every engine produces this many.
- **An animation of** ``n`` **frames spans** ``(n - 1) / fps`` seconds (first to last frame);
  played as video, each frame is held ``1 / fps``, so it lasts ``n / fps``
  (:attr:`FaceAnimation.duration`).
- **Resampling** keeps the span: ``n`` frames at ``fps`` become
  ``n_frames_for(duration=(n - 1) / fps, fps=new)`` frames at ``new``, linearly interpolated,
  the last source frame held where a new frame falls just past it. So 61 frames at 30 fps become
  121 at 60 fps, the count a 2 s clip gets at 60 fps directly, and going back gives the same
  61 frames exactly (every source instant is again a sample instant).
- **Chunks** are half-open frame ranges ``[start, stop)`` of one clip's frames; chunk ``k``'s
  frame ``j`` is the face at ``(start + j) / fps``, so joining the chunks end to end
  (:meth:`FaceAnimation.concatenate`) gives the clip's frames with none repeated or missing.

Examples
--------
>>> import numpy as np
>>> curves = np.arange(61, dtype=np.float32)[:, None]        # 2 s at 30 fps
>>> up = resample_curves(curves, fps=30, to_fps=60)
>>> up.shape[0], float(up[1, 0])
(121, 0.5)
>>> bool((resample_curves(up, fps=60, to_fps=30) == curves).all())
True
"""

from __future__ import annotations

import math

import numpy as np


def n_frames_for(*, duration: float, fps: float) -> int:
    """Number of frames that cover ``duration`` seconds at ``fps``, both ends included.

    Frame 0 is at 0 s and the last frame at or just after ``duration``, so an
    animation of this many frames spans the whole clip: ``ceil(duration * fps) + 1``
    (``duration * fps + 1`` when the product is whole, within float error).

    >>> n_frames_for(duration=2.0, fps=30), n_frames_for(duration=2.01, fps=30)
    (61, 62)
    """
    if not (isinstance(fps, (int, float, np.integer, np.floating)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if not (math.isfinite(duration) and duration >= 0):
        raise ValueError(f"duration must be a non-negative number of seconds, got {duration!r}")
    # 1e-9 absorbs float noise such as 2.0 * 30 == 60.00000000001.
    return math.ceil(duration * fps - 1e-9) + 1


def interpolate_frames(curves: np.ndarray, *, fps: float, times: np.ndarray) -> np.ndarray:
    """Curves sampled at ``fps`` read at arbitrary ``times``, linearly, held at both ends.

    Parameters
    ----------
    curves : np.ndarray [shape=(frames, channels)]
        Frame ``i`` at ``i / fps`` s; at least one frame.
    fps : float
    times : np.ndarray [shape=(m,)]
        Seconds.

    Returns
    -------
    np.ndarray [shape=(m, channels), dtype=curves.dtype]
    """
    curves = np.asarray(curves)
    if curves.shape[0] == 0:
        raise ValueError("cannot interpolate curves with no frames")
    pos = np.clip(np.asarray(times, np.float64) * fps, 0, curves.shape[0] - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, curves.shape[0] - 1)
    frac = (pos - lo).astype(curves.dtype)[:, None]
    # Where a new instant is (within float noise) a source instant, the frame is copied untouched.
    exact = np.abs(pos - np.rint(pos)) < 1e-9
    lo = np.where(exact, np.rint(pos).astype(np.int64), lo)
    frac[exact] = 0
    return curves[lo] * (1 - frac) + curves[hi] * frac


def resample_curves(curves: np.ndarray, *, fps: float, to_fps: float) -> np.ndarray:
    """The same motion at ``to_fps``, keeping its span (see the module's convention).

    Parameters
    ----------
    curves : np.ndarray [shape=(n, channels)]
    fps, to_fps : float
        Source and target frame rates (> 0).

    Returns
    -------
    np.ndarray [shape=(n_frames_for(duration=(n - 1) / fps, fps=to_fps), channels)]
        No frames for no frames.
    """
    for name, rate in (("fps", fps), ("to_fps", to_fps)):
        if not (isinstance(rate, (int, float, np.integer, np.floating)) and math.isfinite(rate) and rate > 0):
            raise ValueError(f"{name} must be a positive number, got {rate!r}")
    curves = np.asarray(curves)
    n = curves.shape[0]
    if n == 0:
        return curves.copy()
    n_new = n_frames_for(duration=(n - 1) / fps, fps=to_fps)
    return interpolate_frames(curves, fps=fps, times=np.arange(n_new, dtype=np.float64) / to_fps)


__all__ = ["interpolate_frames", "n_frames_for", "resample_curves"]
