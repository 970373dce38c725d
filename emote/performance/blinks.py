"""Natural eye blinks: rate, timing and shape from the physiology literature.

- Rate: spontaneous blinking runs at about 17/min at rest and 26/min in
  conversation, 4.5/min while reading (Bentivoglio, Bressman, Cassetta,
  Carretta, Tonali & Albanese 1997, "Analysis of blink rate patterns in normal
  subjects", *Movement Disorders* 12(6)). A character reading its lines
  attentively sits between rest and conversation: defaults 17/min in
  silence, 20/min while speaking. Surprise and fear (wide eyes, vigilance)
  and anger (staring) blink less.
- Timing: blinks cluster at speech pauses and phrase boundaries (Nakano &
  Kitazawa 2010, "Eyeblink entrainment at breakpoints of speech", *Exp. Brain
  Res.* 205); blinks near a pause are moved into it.
- Shape: a spontaneous blink lasts about 100–400 ms, the lid closing fast and
  reopening more slowly (Stern, Walrath & Goldstein 1984, "The endogenous
  eyeblink", *Psychophysiology* 21(1)): the closing phase takes a third.

Blink times come from a renewal process in *operational time*: intervals are
Gamma-distributed (shape ``regularity``, mean 1) in units of the expected
blink count ``Λ(t) = ∫ rate(t) dt / 60``, then mapped back to seconds, so a
time-varying rate (speech vs pause, emotion) is honoured exactly on average
while intervals stay less bursty than a Poisson process's. Everything is drawn
in continuous time: the same seed gives the same blinks at any fps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emote.performance.emotions import EMOTIONS


@dataclass
class BlinkSettings:
    """Blink rate, timing and shape.

    Attributes
    ----------
    rate_rest, rate_speaking : float
        Blinks per minute in silence and while speaking.
    emotion_rate : dict
        Rate multiplier per emotion at full weight (1 where unnamed).
    regularity : float
        Gamma shape of inter-blink intervals (1: Poisson; larger: more even).
    min_interval : float
        Seconds between blink onsets at least.
    duration_mean, duration_sd, duration_min, duration_max : float
        Blink duration distribution, seconds (normal, clipped).
    close_fraction : float
        Share of the duration spent closing.
    amplitude_min : float
        Peak closure is uniform in ``[amplitude_min, 1]``.
    pause_snap : float
        A blink within this many seconds of a pause moves into it...
    pause_probability : float
        ...with this probability.
    """

    rate_rest: float = 17.0
    rate_speaking: float = 20.0
    emotion_rate: dict[str, float] = field(
        default_factory=lambda: {"surprised": 0.4, "fear": 0.7, "angry": 0.75, "sad": 1.1}
    )
    regularity: float = 2.5
    min_interval: float = 0.5
    duration_mean: float = 0.25
    duration_sd: float = 0.05
    duration_min: float = 0.15
    duration_max: float = 0.4
    close_fraction: float = 1.0 / 3.0
    amplitude_min: float = 0.9
    pause_snap: float = 0.8
    pause_probability: float = 0.8


def blink_rate(
    n_frames: int,
    *,
    speaking: np.ndarray | None = None,
    emotion_weights: np.ndarray | None = None,
    settings: BlinkSettings | None = None,
) -> np.ndarray:
    """Expected blinks per minute at each frame.

    Parameters
    ----------
    n_frames : int
    speaking : np.ndarray [shape=(frames,)], optional
        1 where speech is going on, 0 in pauses (default: speaking throughout).
    emotion_weights : np.ndarray [shape=(frames, 8)], optional

    Returns
    -------
    np.ndarray [shape=(frames,), dtype=float64]
    """
    s = settings or BlinkSettings()
    act = np.ones(n_frames) if speaking is None else np.asarray(speaking, np.float64)
    rate = s.rate_rest + (s.rate_speaking - s.rate_rest) * act
    if emotion_weights is not None:
        for name, mult in s.emotion_rate.items():
            w = np.asarray(emotion_weights, np.float64)[:, EMOTIONS.index(name)]
            rate = rate * (1.0 - w * (1.0 - mult))
    return np.maximum(rate, 0.0)


def blink_times(
    rate: np.ndarray,
    *,
    fps: float,
    rng: np.random.Generator,
    pauses: Sequence[tuple[float, float]] = (),
    settings: BlinkSettings | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw blink onsets, durations and amplitudes.

    Parameters
    ----------
    rate : np.ndarray [shape=(frames,)]
        Blinks per minute per frame (:func:`blink_rate`).
    fps : float
    rng : np.random.Generator
    pauses : sequence of (start, end)
        Speech pauses in seconds; blinks gravitate to them.

    Returns
    -------
    onsets, durations, amplitudes : np.ndarray [shape=(blinks,)]
        Seconds, seconds, peak closure in (0, 1].
    """
    s = settings or BlinkSettings()
    n = rate.size
    duration = n / fps
    # Expected count at each frame boundary, then a Gamma renewal process in it.
    lam = np.concatenate([[0.0], np.cumsum(rate) / fps / 60.0])
    grid = np.arange(n + 1) / fps
    total = lam[-1]
    k = max(s.regularity, 1e-3)
    draws = rng.gamma(k, 1.0 / k, size=int(total * 2 + 10))
    draws[0] *= rng.uniform()  # start mid-interval: no blink glued to t = 0
    ops = np.cumsum(draws)
    ops = ops[ops < total]
    onsets = np.interp(ops, lam, grid) if ops.size else np.zeros(0)
    # Fixed-size draws per blink keep the stream aligned whatever the pauses do.
    u_snap = rng.uniform(size=onsets.size)
    u_where = rng.uniform(size=onsets.size)
    onsets = _snap_to_pauses(onsets, pauses, u_snap, u_where, s)
    dur = np.clip(
        rng.normal(s.duration_mean, s.duration_sd, size=onsets.size), s.duration_min, s.duration_max
    )
    amp = rng.uniform(s.amplitude_min, 1.0, size=onsets.size)
    order = np.argsort(onsets, kind="stable")
    onsets, dur, amp = onsets[order], dur[order], amp[order]
    keep = np.zeros(onsets.size, bool)
    last = -np.inf
    for i, t in enumerate(onsets):
        if t - last >= max(s.min_interval, 0.0) and t >= 0.0 and t + dur[i] <= duration:
            keep[i] = True
            last = t
    return onsets[keep], dur[keep], amp[keep]


def _snap_to_pauses(
    onsets: np.ndarray,
    pauses: Sequence[tuple[float, float]],
    u_snap: np.ndarray,
    u_where: np.ndarray,
    s: BlinkSettings,
) -> np.ndarray:
    if not len(pauses) or not onsets.size:
        return onsets
    p = np.asarray(pauses, np.float64).reshape(-1, 2)
    p = p[p[:, 1] - p[:, 0] > 0.1]
    if not p.size:
        return onsets
    # Distance from each onset to each pause interval (0 inside).
    dist = np.maximum(np.maximum(p[None, :, 0] - onsets[:, None], onsets[:, None] - p[None, :, 1]), 0.0)
    near = dist.argmin(axis=1)
    move = (dist[np.arange(onsets.size), near] <= s.pause_snap) & (u_snap < s.pause_probability)
    # Early in the pause: people blink as the phrase ends.
    start, length = p[near, 0], p[near, 1] - p[near, 0]
    target = start + np.minimum(0.05 + 0.25 * u_where * length, 0.5 * length)
    return np.where(move, target, onsets)


def blink_profile(t: np.ndarray, duration: float, *, close_fraction: float = 1.0 / 3.0) -> np.ndarray:
    """Lid closure (0 open, 1 shut) ``t`` seconds after a blink's onset.

    Raised-cosine closing over ``close_fraction * duration``, then a slower
    raised-cosine reopening over the rest.

    Parameters
    ----------
    t : np.ndarray [shape=(k,)]
    duration : float

    Returns
    -------
    np.ndarray [shape=(k,), dtype=float64]
    """
    c = close_fraction * duration
    o = duration - c
    closing = 0.5 - 0.5 * np.cos(np.pi * np.clip(t / c, 0.0, 1.0))
    opening = 0.5 + 0.5 * np.cos(np.pi * np.clip((t - c) / o, 0.0, 1.0))
    out = np.where(t < c, closing, opening)
    return np.where((t < 0) | (t > duration), 0.0, out)


def blink_curve(
    n_frames: int,
    *,
    fps: float,
    rng: np.random.Generator,
    speaking: np.ndarray | None = None,
    pauses: Sequence[tuple[float, float]] = (),
    emotion_weights: np.ndarray | None = None,
    settings: BlinkSettings | None = None,
) -> np.ndarray:
    """Per-frame eyelid closure from natural blinks (both eyes alike).

    Parameters
    ----------
    n_frames : int
    fps : float
    rng : np.random.Generator
    speaking : np.ndarray [shape=(frames,)], optional
        1 while speaking, 0 in pauses.
    pauses : sequence of (start, end)
        Speech pauses, seconds.
    emotion_weights : np.ndarray [shape=(frames, 8)], optional
    settings : BlinkSettings, optional

    Returns
    -------
    np.ndarray [shape=(frames,), dtype=float32]
        Closure in [0, 1] for ``EyeBlinkLeft``/``EyeBlinkRight``.
    """
    s = settings or BlinkSettings()
    rate = blink_rate(n_frames, speaking=speaking, emotion_weights=emotion_weights, settings=s)
    onsets, durations, amps = blink_times(rate, fps=fps, rng=rng, pauses=pauses, settings=s)
    out = np.zeros(n_frames, np.float64)
    for t0, d, a in zip(onsets, durations, amps, strict=True):
        f0 = max(int(np.floor(t0 * fps)), 0)
        f1 = min(int(np.ceil((t0 + d) * fps)) + 1, n_frames)
        t = np.arange(f0, f1) / fps - t0
        out[f0:f1] = np.maximum(out[f0:f1], a * blink_profile(t, d, close_fraction=s.close_fraction))
    return out.astype(np.float32)
