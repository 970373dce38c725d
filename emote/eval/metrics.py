"""Quality metrics that need no 3D ground truth (DESIGN.md, "How quality is measured").

Every metric takes the animation and reference phone intervals (TextGrid, TTS
timings or forced alignment). Distances are in millimetres on a rig with
metric scale; until such a rig exists the curves are measured with linear
*proxies* of lip gap and mouth width (:func:`lip_gap_proxy`,
:func:`mouth_width_proxy`); :func:`evaluate` takes ``gap_fn``/``width_fn`` so
a metric rig can replace them without touching the metrics.

An interval owns the frames sampled inside it, or, when it is shorter than a
frame period and holds none, the frame nearest its middle
(:func:`emote.phonetics.phoneset.frames_in`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from emote.animation.channels import ARKIT_NAMES, MOUTH_NAMES, N_ARKIT, index, indices
from emote.phonetics.phoneset import (
    BILABIALS,
    LABIODENTALS,
    OPEN_VOWELS,
    ROUNDED,
    SIL,
    SPREAD,
    PhoneLike,
    Segments,
    frames_in,
    to_segments,
)

GapFn = Callable[[np.ndarray], np.ndarray]

# Lip gap model, mm per unit weight (means of left/right pairs). JawOpen = 1 parts
# the lips by ~30 mm and MouthClose = JawOpen brings them back together (ARKit's
# "lips closed while the jaw is open"); lowering/raising the lips shows teeth and
# adds to the gap; pressing or rolling the lips in takes from it.
GAP_MM: Mapping[str, float] = {
    "JawOpen": 30.0,
    "MouthClose": -30.0,
    "MouthLowerDown": 8.0,
    "MouthUpperUp": 6.0,
    "MouthFunnel": 5.0,
    "MouthPucker": -2.0,
    "MouthPress": -3.0,
    "MouthRollLower": -3.0,
    "MouthRollUpper": -3.0,
    "MouthShrugLower": -2.0,
}
# Mouth width model, mm: a 50 mm neutral mouth, corners pulled out by smiling,
# stretching and dimpling, drawn in by rounding.
WIDTH_REST_MM = 50.0
WIDTH_MM: Mapping[str, float] = {
    "MouthSmile": 10.0,
    "MouthStretch": 8.0,
    "MouthDimple": 3.0,
    "MouthPucker": -12.0,
    "MouthFunnel": -6.0,
}


def _channel(curves: np.ndarray, name: str) -> np.ndarray:
    """One channel, or the mean of its Left/Right pair."""
    if name in ARKIT_NAMES:
        return curves[:, index(name)].astype(np.float64)
    pair = indices([name + "Left", name + "Right"])
    return curves[:, pair].astype(np.float64).mean(axis=1)


def lip_gap_proxy(curves: np.ndarray) -> np.ndarray:
    """Lip separation in pseudo-mm, a linear model of the ARKit channels.

    ``gap = max(0, sum_k GAP_MM[k] * w_k)`` with ``w_k`` the channel weight
    (left/right pairs averaged): 30 mm per unit of ``JawOpen − MouthClose``,
    plus lowered/raised lips and funnel, minus press, pucker and rolled lips.

    Parameters
    ----------
    curves : np.ndarray [shape=(frames, 61) or (frames, 52)]

    Returns
    -------
    np.ndarray [shape=(frames,), dtype=float64]
    """
    gap = sum(coef * _channel(curves, name) for name, coef in GAP_MM.items())
    return np.maximum(gap, 0.0)


def mouth_width_proxy(curves: np.ndarray) -> np.ndarray:
    """Distance between the mouth corners in pseudo-mm (50 mm at rest).

    Parameters
    ----------
    curves : np.ndarray [shape=(frames, 61) or (frames, 52)]

    Returns
    -------
    np.ndarray [shape=(frames,), dtype=float64]
    """
    return WIDTH_REST_MM + sum(coef * _channel(curves, name) for name, coef in WIDTH_MM.items())


def _segments(phones: Sequence[PhoneLike] | Segments) -> Segments:
    return phones if isinstance(phones, Segments) else to_segments(phones)


def _interval_frames(
    phones: Sequence[PhoneLike] | Segments, group: frozenset[str], *, fps: float, n_frames: int
) -> list[np.ndarray]:
    seg = _segments(phones)
    out = []
    for i in seg.where(group):
        frames = frames_in(seg.start[i], seg.end[i], fps=fps, n_frames=n_frames)
        if frames.size:
            out.append(frames)
    return out


def bilabial_closure(
    gap: np.ndarray, *, fps: float, phones: Sequence[PhoneLike] | Segments, threshold: float = 1.5
) -> float:
    """Share of /p b m/ intervals in which the lips close.

    An interval counts as closed when the smallest gap on its frames is below
    ``threshold`` (mm).

    Parameters
    ----------
    gap : np.ndarray [shape=(frames,)]
        Lip gap in mm (:func:`lip_gap_proxy` or a rig's measurement).
    fps : float
    phones : sequence of PhoneLike
        Reference phone intervals.
    threshold : float
        Gap in mm under which lips count as closed.

    Returns
    -------
    float
        In [0, 1]; NaN when there is no bilabial.
    """
    intervals = _interval_frames(phones, BILABIALS, fps=fps, n_frames=len(gap))
    if not intervals:
        return float("nan")
    return float(np.mean([gap[f].min() < threshold for f in intervals]))


def _mean_over(values: np.ndarray, intervals: list[np.ndarray]) -> float:
    if not intervals:
        return float("nan")
    return float(np.mean([values[f].mean() for f in intervals]))


def open_closed_contrast(
    gap: np.ndarray, *, fps: float, phones: Sequence[PhoneLike] | Segments, floor: float = 0.1
) -> float:
    """Mean gap on open vowels (/aa ae ah ao aw ay/) over mean gap on bilabials.

    Each interval contributes its mean gap; the bilabial mean is floored at
    ``floor`` mm so perfectly sealed lips give a large finite number.

    Returns
    -------
    float
        NaN when either group is absent.
    """
    n = len(gap)
    opened = _mean_over(gap, _interval_frames(phones, OPEN_VOWELS, fps=fps, n_frames=n))
    closed = _mean_over(gap, _interval_frames(phones, BILABIALS, fps=fps, n_frames=n))
    return float(opened / max(closed, floor))


def rounding_ratio(width: np.ndarray, *, fps: float, phones: Sequence[PhoneLike] | Segments) -> float:
    """Mean mouth width on rounded phones (/uw ow w/) over spread ones (/iy ey/).

    Below 1 means the mouth narrows for rounding.

    Parameters
    ----------
    width : np.ndarray [shape=(frames,)]
        Mouth width in mm (:func:`mouth_width_proxy` or a rig's measurement).
    """
    n = len(width)
    rounded = _mean_over(width, _interval_frames(phones, ROUNDED, fps=fps, n_frames=n))
    spread = _mean_over(width, _interval_frames(phones, SPREAD, fps=fps, n_frames=n))
    return float(rounded / spread)


def labiodental_gap(gap: np.ndarray, *, fps: float, phones: Sequence[PhoneLike] | Segments) -> float:
    """Mean over /f v/ intervals of the smallest gap (mm): small when the lower lip meets the teeth."""
    intervals = _interval_frames(phones, LABIODENTALS, fps=fps, n_frames=len(gap))
    return float(np.mean([gap[f].min() for f in intervals])) if intervals else float("nan")


def rest_stats(
    gap: np.ndarray,
    *,
    fps: float,
    phones: Sequence[PhoneLike] | Segments,
    curves: np.ndarray | None = None,
    min_silence: float = 0.3,
    trim: float = 0.1,
) -> dict[str, float]:
    """Lip gap and motion in silences longer than ``min_silence`` seconds.

    The first and last ``trim`` seconds of each silence are left out: the mouth
    is allowed to leave and reach its rest there.

    Returns
    -------
    dict
        ``rest_gap_mm`` (mean gap), ``rest_gap_max_mm``, ``rest_gap_speed_mm_s``
        (mean |d gap / dt|), ``rest_motion`` (mean summed |velocity| of the mouth
        blendshapes, weight/s; only when ``curves`` is given) and ``rest_seconds``
        (silence measured). NaN when there is no such silence.
    """
    seg = _segments(phones)
    n = len(gap)
    frames: list[np.ndarray] = []
    for i in seg.where({SIL}):
        s, e = seg.start[i], seg.end[i]
        if e - s > min_silence:
            f = np.arange(int(np.ceil((s + trim) * fps)), int(np.floor((e - trim) * fps)) + 1)
            f = f[(f >= 0) & (f < n)]
            if f.size:
                frames.append(f)
    nan = float("nan")
    if not frames:
        return {"rest_gap_mm": nan, "rest_gap_max_mm": nan, "rest_gap_speed_mm_s": nan, "rest_motion": nan,
                "rest_seconds": 0.0}  # fmt: skip
    idx = np.concatenate(frames)
    speed = np.abs(np.gradient(gap)) * fps if n > 1 else np.zeros(n)
    out = {
        "rest_gap_mm": float(gap[idx].mean()),
        "rest_gap_max_mm": float(gap[idx].max()),
        "rest_gap_speed_mm_s": float(speed[idx].mean()),
        "rest_motion": nan,
        "rest_seconds": idx.size / fps,
    }
    if curves is not None and n > 1:
        mouth = curves[:, indices(MOUTH_NAMES)].astype(np.float64)
        vel = np.abs(np.gradient(mouth, axis=0)).sum(axis=1) * fps
        out["rest_motion"] = float(vel[idx].mean())
    return out


def blink_stats(curves: np.ndarray, fps: float, *, low: float = 0.1, peak: float = 0.5) -> dict[str, Any]:
    """Blink rate and durations from the EyeBlink channels.

    A blink is a run of frames where the mean of ``EyeBlinkLeft`` and
    ``EyeBlinkRight`` exceeds ``low`` and reaches ``peak``; its duration runs
    between the (linearly interpolated) crossings of ``low``.

    Returns
    -------
    dict
        ``blinks`` (count), ``blink_rate_per_min``, ``blink_duration_mean_s``,
        ``blink_duration_min_s``, ``blink_duration_max_s`` and
        ``blink_durations_s`` (list).
    """
    b = _channel(curves, "EyeBlink")
    above = b > low
    edges = np.diff(np.concatenate([[0], above.view(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # [start, end) runs
    durations = []
    for s, e in zip(starts, ends, strict=True):
        if b[s:e].max() < peak:
            continue
        t0 = s - (b[s] - low) / (b[s] - b[s - 1]) if s > 0 else float(s)
        t1 = (e - 1) + (b[e - 1] - low) / (b[e - 1] - b[e]) if e < len(b) else float(e - 1)
        durations.append((t1 - t0) / fps)
    minutes = len(b) / fps / 60.0
    d = np.asarray(durations)
    nan = float("nan")
    return {
        "blinks": len(durations),
        "blink_rate_per_min": len(durations) / minutes if minutes > 0 else nan,
        "blink_duration_mean_s": float(d.mean()) if d.size else nan,
        "blink_duration_min_s": float(d.min()) if d.size else nan,
        "blink_duration_max_s": float(d.max()) if d.size else nan,
        "blink_durations_s": d.tolist(),
    }


def jerk(curves: np.ndarray, fps: float, *, channels: Sequence[str] | None = None) -> float:
    """Root-mean-square jerk (third time derivative) of blendshape channels, weight/s³.

    Parameters
    ----------
    curves : np.ndarray [shape=(frames, 61)]
    fps : float
    channels : sequence of str, optional
        Channels to measure (default: the mouth and jaw ones).
    """
    cols = indices(list(channels if channels is not None else MOUTH_NAMES))
    x = curves[:, cols].astype(np.float64)
    if x.shape[0] < 4:
        return float("nan")
    d3 = np.diff(x, n=3, axis=0) * fps**3
    return float(np.sqrt(np.mean(d3**2)))


def evaluate(
    anim_or_curves: Any,
    fps: float | None = None,
    phones: Sequence[PhoneLike] | None = None,
    *,
    gap_fn: GapFn | None = None,
    width_fn: GapFn | None = None,
) -> dict[str, float]:
    """Every metric at once.

    Parameters
    ----------
    anim_or_curves : FaceAnimation or np.ndarray [shape=(frames, 61)]
    fps : float, optional
        Required for arrays; taken from a FaceAnimation otherwise.
    phones : sequence of PhoneLike, optional
        Reference phone intervals; without them only the blink and jerk
        statistics are computed.
    gap_fn, width_fn : callable, optional
        ``curves (frames, 61) -> (frames,)`` lip gap / mouth width in mm; default
        :func:`lip_gap_proxy` / :func:`mouth_width_proxy`.

    Returns
    -------
    dict
        ``bilabial_closure``, ``open_closed_contrast``, ``rounding_ratio``,
        ``labiodental_gap_mm``, the :func:`rest_stats` keys, ``blinks``,
        ``blink_rate_per_min``, ``blink_duration_mean_s/min_s/max_s``,
        ``jerk_mouth`` (scalars; NaN where a metric does not apply).
    """
    curves = getattr(anim_or_curves, "curves", anim_or_curves)
    fps = fps if fps is not None else getattr(anim_or_curves, "fps", None)
    if fps is None:
        raise ValueError("evaluate needs fps for a bare curve array")
    curves = np.asarray(curves)
    if curves.ndim != 2 or curves.shape[1] < N_ARKIT:
        raise ValueError(f"curves must have shape (frames, 61), got {curves.shape}")
    out: dict[str, float] = {}
    if phones is not None:
        seg = to_segments(phones)
        gap = np.asarray((gap_fn or lip_gap_proxy)(curves), np.float64)
        width = np.asarray((width_fn or mouth_width_proxy)(curves), np.float64)
        out["bilabial_closure"] = bilabial_closure(gap, fps=fps, phones=seg)
        out["open_closed_contrast"] = open_closed_contrast(gap, fps=fps, phones=seg)
        out["rounding_ratio"] = rounding_ratio(width, fps=fps, phones=seg)
        out["labiodental_gap_mm"] = labiodental_gap(gap, fps=fps, phones=seg)
        out.update(rest_stats(gap, fps=fps, phones=seg, curves=curves))
    blinks = blink_stats(curves, fps)
    blinks.pop("blink_durations_s")
    out.update(blinks)
    out["jerk_mouth"] = jerk(curves, fps)
    return out


def disentanglement(by_emotion: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Each emotion's metrics relative to neutral's.

    ``bilabial_closure`` becomes a difference in percentage points; the other
    metrics ratios to neutral.

    Parameters
    ----------
    by_emotion : mapping of emotion name to an :func:`evaluate` result
        Must include ``"neutral"``.
    """
    base = by_emotion["neutral"]
    out: dict[str, dict[str, float]] = {}
    for emotion, metrics in by_emotion.items():
        rel: dict[str, float] = {}
        for key, value in metrics.items():
            if key not in base or not isinstance(value, (int, float)):
                continue
            if key == "bilabial_closure":
                rel["bilabial_closure_points"] = 100.0 * (value - base[key])
            elif base[key]:
                rel[key] = value / base[key]
        out[emotion] = rel
    return out
