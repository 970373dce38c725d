"""Closure pass: lips that must meet do meet, on every bilabial and labiodental.

Dominance blending approaches a closure smoothly but, sampled at 24–30 fps, a
40 ms /b/ between two open vowels can fall between frames or be averaged
away. Like Rhubarb Lip Sync's rule that a closed-mouth shape is never
skipped, this pass takes each *locking* viseme (``Viseme.lock``: /p b m/,
/f v/) and pulls the lip parameters to the viseme's own targets with a smooth
lock weight: 1 over the phone (widened to one frame period when the phone is
shorter, so some frame always samples it — the rule of
:func:`emote.phonetics.phoneset.frames_in`), easing to 0 over
``ramp`` seconds on either side with a raised cosine. Rounding survives a
bilabial as pucker (lips can be rounded *and* closed, "boom"); funnel, which
opens a hole between the lips, becomes pucker there. The jaw is left to the
blend: ``MouthClose`` follows it.
"""

from __future__ import annotations

import numpy as np

from emote.engines.phonetic.visemes import BASE_TABLE, PARAM_GROUP, P, VisemeTable

_LIP_PARAMS = np.array([g == 1 for g in PARAM_GROUP])


def lock_weight(times: np.ndarray, start: float, end: float, *, fps: float, ramp: float) -> np.ndarray:
    """Raised-cosine plateau around ``[start, end]``: 1 inside, 0 beyond ``ramp``.

    The plateau is at least one frame period wide, centred on the interval.

    Parameters
    ----------
    times : np.ndarray [shape=(frames,)]

    Returns
    -------
    np.ndarray [shape=(frames,), dtype=float64]
    """
    centre = 0.5 * (start + end)
    half = max(0.5 * (end - start), 0.5 / fps + 1e-9)
    dist = np.maximum(np.abs(times - centre) - half, 0.0)
    if ramp <= 0:
        return (dist <= 0).astype(np.float64)
    return np.where(dist < ramp, 0.5 + 0.5 * np.cos(np.pi * dist / ramp), 0.0)


def enforce_closures(
    params: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    viseme: np.ndarray,
    *,
    fps: float,
    ramp: float = 0.02,
    table: VisemeTable = BASE_TABLE,
) -> np.ndarray:
    """Pull the lip parameters of locking visemes to their targets.

    Parameters
    ----------
    params : np.ndarray [shape=(frames, params)]
        Articulatory parameters after blending and energy (a modified copy is returned).
    start, end : np.ndarray [shape=(n,)]
        Viseme segment bounds in seconds.
    viseme : np.ndarray [shape=(n,), dtype=int]
        Viseme index per segment.
    fps : float
    ramp : float
        Seconds over which the lock eases in and out.
    table : VisemeTable
        What ``viseme`` indexes (default: the named visemes).

    Returns
    -------
    np.ndarray [shape=(frames, params)]
    """
    out = params.copy()
    n_frames = out.shape[0]
    targets = table.targets
    for k in np.flatnonzero(table.locks[viseme]):
        half = max(0.5 * (end[k] - start[k]), 0.5 / fps) + ramp
        centre = 0.5 * (start[k] + end[k])
        f0 = max(int(np.floor((centre - half) * fps)), 0)
        f1 = min(int(np.ceil((centre + half) * fps)) + 1, n_frames)
        if f1 <= f0:
            continue
        w = lock_weight(np.arange(f0, f1) / fps, start[k], end[k], fps=fps, ramp=ramp)[:, None]
        rows = out[f0:f1]
        target = np.broadcast_to(targets[viseme[k]], rows.shape).copy()
        keep = ~_LIP_PARAMS
        target[:, keep] = rows[:, keep]
        if targets[viseme[k], P["seal"]] >= 1.0:
            target[:, P["pucker"]] = np.maximum(rows[:, P["pucker"]], rows[:, P["funnel"]])
        out[f0:f1] = (1.0 - w) * rows + w * target
    return out
