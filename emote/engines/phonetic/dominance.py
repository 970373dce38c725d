"""Coarticulation by dominance functions (Cohen & Massaro 1993).

Cohen, M. M. & Massaro, D. W. (1993). "Modeling coarticulation in synthetic
visual speech." In *Models and Techniques in Computer Animation*, 139–156.

Each speech segment ``s`` has, for each articulatory parameter ``p``, a
target ``T[s, p]`` and a dominance function that peaks at the segment and
decays with the distance ``tau`` from it::

    D[s, p](t) = alpha[s, p] * exp(-(|tau| / lambda[s])**c)

with ``lambda`` the anticipatory constant before the segment and the
carry-over constant after it. The parameter's trajectory is the
dominance-weighted mean of all targets::

    F[p](t) = sum_s D[s, p](t) T[s, p] / sum_s D[s, p](t)

so a weakly dominant consonant (/k/) takes its neighbours' lip shape while a
strongly dominant one (/p/) imposes its own. One change to the original
model: ``tau`` is measured from the segment's *core* — its middle
``plateau`` fraction — instead of its centre, so long segments (a 2 s pause)
hold their target throughout instead of only near their middle.

Only the ``window`` segments on either side of a frame are summed: the work is
``O(frames × (2 window + 1) × params)``, vectorised over blocks of frames
(memory stays bounded on hour-long inputs).
"""

from __future__ import annotations

import numpy as np

from emote.engines.phonetic.visemes import BASE_TABLE, VisemeTable

_BLOCK = 4096  # frames per vectorised block


def blend(
    start: np.ndarray,
    end: np.ndarray,
    viseme: np.ndarray,
    times: np.ndarray,
    *,
    plateau: float = 0.6,
    power: float = 1.0,
    window: int = 8,
    anticipation_scale: float = 1.0,
    carryover_scale: float = 1.0,
    table: VisemeTable = BASE_TABLE,
) -> np.ndarray:
    """Blend viseme targets into parameter trajectories.

    Parameters
    ----------
    start, end : np.ndarray [shape=(n,)]
        Viseme segment bounds in seconds, sorted and contiguous.
    viseme : np.ndarray [shape=(n,), dtype=int]
        Row of ``table`` per segment.
    times : np.ndarray [shape=(frames,)]
        Frame times in seconds.
    plateau : float
        Share of each segment, around its centre, with full dominance.
    power : float
        Cohen & Massaro's exponent ``c`` (1: exponential; 2: Gaussian-like).
    window : int
        Neighbouring segments summed on each side of a frame.
    anticipation_scale, carryover_scale : float
        Multipliers on every viseme's time constants (slower/faster coarticulation).
    table : VisemeTable
        Targets, dominance and time constants per viseme (default: the named visemes).

    Returns
    -------
    np.ndarray [shape=(frames, params), dtype=float64]
        Parameter trajectories in viseme-target units.
    """
    targets, dominance = table.targets, table.dominance
    n = len(start)
    times = np.asarray(times, np.float64)
    out = np.zeros((times.size, targets.shape[1]))
    if n == 0:
        return out
    centre = 0.5 * (start + end)
    core = 0.5 * plateau * (end - start)
    offsets = np.arange(-window, window + 1)
    # Blocks of frames keep memory bounded on hour-long inputs.
    for b0 in range(0, times.size, _BLOCK):
        t = times[b0 : b0 + _BLOCK]
        # The segment each frame falls in, then its neighbourhood: (frames, 2 window + 1).
        here = np.clip(np.searchsorted(start, t, side="right") - 1, 0, n - 1)
        nbr = here[:, None] + offsets[None, :]
        valid = (nbr >= 0) & (nbr < n)
        nbr = np.clip(nbr, 0, n - 1)

        offset = t[:, None] - centre[nbr]  # < 0: the segment is still to come
        dist = np.maximum(np.abs(offset) - core[nbr], 0.0)
        vis = viseme[nbr]
        before, after = table.anticipation[vis] * anticipation_scale, table.carryover[vis] * carryover_scale
        lam = np.where(offset < 0, before, after)
        # Log domain, shifted per frame, so far-away frames never underflow to 0/0.
        log_decay = np.where(valid, -((dist / np.maximum(lam, 1e-4)) ** power), -np.inf)
        log_decay -= log_decay.max(axis=1, keepdims=True)
        dom = dominance[vis] * np.exp(log_decay)[:, :, None]  # (frames, W, params)
        num = np.einsum("fwp,fwp->fp", dom, targets[vis])
        out[b0 : b0 + t.size] = num / np.maximum(dom.sum(axis=1), 1e-12)
    return out
