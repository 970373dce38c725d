"""The performance layer: emotion, blinks, gaze and head motion on top of speech curves.

Shared by every engine. The engine makes the speech (mouth and jaw); this
layer adds the rest of the performance:

1. the emotion track's expression, composed so articulation wins
   (:func:`emote.performance.compose.apply_emotion`);
2. natural blinks timed against speech pauses (:mod:`~emote.performance.blinks`);
3. gaze saccades, as eye angles and ARKit look shapes (:mod:`~emote.performance.gaze`);
4. prosody-driven head motion (:mod:`~emote.performance.head`).

Each part can be switched off; all randomness comes from one seed, split into
independent streams so that turning one part off leaves the others as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emote.animation.channels import N_ARKIT, N_CHANNELS, indices
from emote.animation.tracks import resample_track, smooth
from emote.performance.blinks import BlinkSettings, blink_curve
from emote.performance.compose import apply_emotion
from emote.performance.gaze import GazeSettings, eye_channels, gaze_angles
from emote.performance.head import HeadSettings, head_angles
from emote.performance.track import EmotionTrack, as_track

_BLINK = indices(["EyeBlinkLeft", "EyeBlinkRight"])
_WIDE = indices(["EyeWideLeft", "EyeWideRight"])
_HEAD = indices(["HeadYaw", "HeadPitch", "HeadRoll"])


@dataclass
class PerformanceSettings:
    """What the performance layer adds, and its randomness.

    Attributes
    ----------
    blinks, gaze, head : bool
        Switch each part on or off.
    expression : bool
        Put the emotion track's expression on the face (default). Off for curves
        that already carry it (the neural engine's): the track then still shapes
        blinks and head motion.
    seed : int
        Seed of every random choice: same seed, same performance.
    pause_threshold : float
        When pauses are not given, frames quieter than this share of the
        clip's loud speech (95th percentile of energy) are silent...
    pause_min : float
        ...and silent runs at least this long (s) are pauses.
    blink_settings, gaze_settings, head_settings
        Details of each part.
    """

    blinks: bool = True
    gaze: bool = True
    head: bool = True
    expression: bool = True
    seed: int = 0
    pause_threshold: float = 0.1
    pause_min: float = 0.25
    blink_settings: BlinkSettings = field(default_factory=BlinkSettings)
    gaze_settings: GazeSettings = field(default_factory=GazeSettings)
    head_settings: HeadSettings = field(default_factory=HeadSettings)


def pauses_from_energy(
    energy: np.ndarray, *, fps: float, threshold: float = 0.1, min_pause: float = 0.25
) -> list[tuple[float, float]]:
    """Silent stretches of at least ``min_pause`` seconds.

    Parameters
    ----------
    energy : np.ndarray [shape=(frames,)]
        Loudness per animation frame.
    threshold : float
        Share of the 95th-percentile energy under which a frame is silent.

    Returns
    -------
    list of (start, end)
        Seconds.
    """
    e = smooth(np.asarray(energy, np.float64), fps=fps, seconds=0.02)
    ref = float(np.percentile(e, 95)) if e.size else 0.0
    quiet = e <= threshold * ref if ref > 0 else np.ones(e.size, bool)
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(s / fps, e_ / fps) for s, e_ in zip(starts, ends, strict=True) if (e_ - s) / fps >= min_pause]


def speaking_mask(n_frames: int, *, fps: float, pauses: Sequence[tuple[float, float]]) -> np.ndarray:
    """1 on frames outside every pause, 0 inside; shape (frames,)."""
    t = np.arange(n_frames) / fps
    speaking = np.ones(n_frames)
    for s, e in pauses:
        speaking[(t >= s) & (t < e)] = 0.0
    return speaking


def perform(
    speech_curves: np.ndarray,
    *,
    fps: float,
    track: EmotionTrack | str | None = None,
    energy: np.ndarray | None = None,
    pauses: Sequence[tuple[float, float]] | None = None,
    pitch: np.ndarray | None = None,
    settings: PerformanceSettings | None = None,
) -> np.ndarray:
    """Turn speech curves into a full facial performance.

    Parameters
    ----------
    speech_curves : np.ndarray [shape=(frames, 61)]
        An engine's output (mouth and jaw).
    fps : float
    track : EmotionTrack or str, optional
        The emotion over time (a name means that emotion at intensity 1;
        default neutral).
    energy : np.ndarray [shape=(m,)], optional
        Loudness in [0, 1] over the clip (resampled to the frame count); finds
        pauses when ``pauses`` is not given, and drives head beats.
    pauses : sequence of (start, end), optional
        Speech pauses in seconds (blinks gravitate to them; the blink rate
        and head motion drop in them).
    pitch : np.ndarray [shape=(m,)], optional
        F0 in Hz (0 or NaN unvoiced) over the clip; drives head pitch.
    settings : PerformanceSettings, optional

    Returns
    -------
    np.ndarray [shape=(frames, 61), dtype=float32]
        Blendshapes in [0, 1], head/eye angles in radians.
    """
    s = settings or PerformanceSettings()
    speech = np.asarray(speech_curves, np.float32)
    if speech.ndim != 2 or speech.shape[1] != N_CHANNELS:
        raise ValueError(f"speech_curves must have shape (frames, {N_CHANNELS}), got {speech.shape}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    n = speech.shape[0]
    times = np.arange(n) / fps
    weights = as_track(track).weights(times)
    curves = (apply_emotion(speech, weights) if s.expression else speech).astype(np.float64)

    e = resample_track(energy, n) if energy is not None else None
    if pauses is None and e is not None:
        pauses = pauses_from_energy(e, fps=fps, threshold=s.pause_threshold, min_pause=s.pause_min)
    pauses = list(pauses or [])
    speaking = speaking_mask(n, fps=fps, pauses=pauses) if (pauses or e is not None) else None

    rng_blink, rng_gaze, rng_head = (
        np.random.default_rng(x) for x in np.random.SeedSequence(s.seed).spawn(3)
    )
    blink = gaze = head = None
    if s.blinks and n:
        blink = blink_curve(n, fps=fps, rng=rng_blink, speaking=speaking, pauses=pauses,
                            emotion_weights=weights, settings=s.blink_settings)  # fmt: skip
    if s.gaze and n:
        gaze = gaze_angles(n, fps=fps, rng=rng_gaze, settings=s.gaze_settings)
    if s.head and n:
        head = head_angles(n, fps=fps, rng=rng_head, energy=e, pitch=pitch, speaking=speaking,
                           emotion_weights=weights, settings=s.head_settings)  # fmt: skip
    return add_motion(curves, blink=blink, gaze=gaze, head=head, gaze_settings=s.gaze_settings)


def add_motion(
    curves: np.ndarray,
    *,
    blink: np.ndarray | None = None,
    gaze: np.ndarray | None = None,
    head: np.ndarray | None = None,
    gaze_settings: GazeSettings | None = None,
) -> np.ndarray:
    """Put blinks, gaze and head motion on expressive curves (the last step of :func:`perform`).

    Parameters
    ----------
    curves : np.ndarray [shape=(frames, 61)]
        Speech with the emotion's expression.
    blink : np.ndarray [shape=(frames,)], optional
        Lid closure in [0, 1] (:func:`~emote.performance.blinks.blink_curve`).
    gaze : np.ndarray [shape=(frames, 2)], optional
        Gaze yaw and pitch in degrees (:func:`~emote.performance.gaze.gaze_angles`).
    head : np.ndarray [shape=(frames, 3)], optional
        Head yaw, pitch, roll in radians (:func:`~emote.performance.head.head_angles`).

    Returns
    -------
    np.ndarray [shape=(frames, 61), dtype=float32]
        Blendshapes clipped to [0, 1].
    """
    curves = np.array(curves, np.float64)
    if blink is not None:
        b = np.asarray(blink, np.float64)
        curves[:, _BLINK] = np.maximum(curves[:, _BLINK], b[:, None])
        curves[:, _WIDE] *= (1.0 - b)[:, None]  # a shut lid cannot be wide open
    if gaze is not None:
        eye_channels(np.asarray(gaze, np.float64), curves, settings=gaze_settings)
    if head is not None:
        curves[:, _HEAD] += head
    curves[:, :N_ARKIT] = np.clip(curves[:, :N_ARKIT], 0.0, 1.0)
    return curves.astype(np.float32)


__all__ = ["PerformanceSettings", "add_motion", "pauses_from_energy", "perform", "speaking_mask"]
