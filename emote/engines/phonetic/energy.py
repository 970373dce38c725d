"""Speech energy modulates articulation: louder speech opens the jaw wider.

Following JALI's jaw/lip split (Edwards, Landreth, Fiume & Singh 2016,
"JALI: An Animator-Centric Viseme Model for Expressive Lip Synchronization",
ACM TOG 35(4)), loudness drives the *jaw* channel strongly and the lip
channels (aperture, rounding, spreading) more mildly, while the viseme keeps
deciding the lip *shape*. Closures are never weakened: the gain touches the
jaw's opening above rest and the opening/shape parameters, never ``seal``,
``press`` or the labiodental roll, and ``MouthClose`` is recomputed from the
gained jaw, so sealed lips stay sealed however loud the frame.
"""

from __future__ import annotations

import numpy as np

from emote.animation.tracks import smooth
from emote.engines.phonetic.visemes import REST_JAW, P

# Parameters whose amplitude follows loudness (besides the jaw).
LIP_GAIN_PARAMS: tuple[str, ...] = ("funnel", "pucker", "stretch", "smile", "lower_down", "upper_up")


def articulation_gain(
    energy: np.ndarray,
    *,
    fps: float,
    strength: float = 0.8,
    smoothing: float = 0.03,
    low: float = 0.6,
    high: float = 1.45,
) -> np.ndarray:
    """Per-frame jaw gain from loudness.

    Energy is taken relative to the clip's own loud speech (its 95th
    percentile), so a quiet recording is not animated as mumbling::

        gain = clip(1 + strength * (energy / p95 - 0.6), low, high)

    Parameters
    ----------
    energy : np.ndarray [shape=(frames,)]
        Loudness in [0, 1] per animation frame.
    fps : float
    strength : float
        How much loudness matters (0: not at all).
    smoothing : float
        Gaussian smoothing of the energy in seconds (removes flicker).
    low, high : float
        Gain bounds.

    Returns
    -------
    np.ndarray [shape=(frames,), dtype=float64]
    """
    e = smooth(np.clip(np.nan_to_num(energy), 0.0, None), fps=fps, seconds=smoothing)
    ref = float(np.percentile(e, 95)) if e.size else 0.0
    if ref <= 1e-6:
        return np.ones_like(e)
    return np.clip(1.0 + strength * (e / ref - 0.6), low, high)


def apply_gain(params: np.ndarray, gain: np.ndarray, *, lip_share: float = 0.5) -> np.ndarray:
    """Scale articulation amplitude by ``gain`` (jaw) and a milder lip gain.

    Parameters
    ----------
    params : np.ndarray [shape=(frames, params)]
        Blended articulatory parameters (modified copy returned).
    gain : np.ndarray [shape=(frames,)]
        From :func:`articulation_gain`.
    lip_share : float
        Lip gain is ``1 + lip_share * (gain - 1)``.

    Returns
    -------
    np.ndarray [shape=(frames, params)]
    """
    out = params.copy()
    jaw = out[:, P["jaw"]]
    out[:, P["jaw"]] = REST_JAW + (jaw - REST_JAW) * gain
    lip = 1.0 + lip_share * (gain - 1.0)
    for name in LIP_GAIN_PARAMS:
        out[:, P[name]] *= lip
    return out
