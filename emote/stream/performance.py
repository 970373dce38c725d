"""The performance layer for a stream: a live emotion track, switches that fade, and motion plans.

Offline, :func:`emote.performance.perform` sees the whole clip. A stream sees a
window that slides forward, and what it already sent cannot change. So:

- the emotion is a :class:`LiveEmotion`: every change starts *after* the last frame
  sent and glides along the track's raised cosine (no pop);
- blinks and gaze come from :class:`MotionPlans`: fixed blocks of absolute time,
  each drawn once from its own seed by the offline functions
  (:func:`~emote.performance.blinks.blink_curve`,
  :func:`~emote.performance.gaze.gaze_angles`) and crossfaded over their overlap;
- head motion is :func:`~emote.performance.head.head_angles` over the window with
  the same seed each time and ``t0``: its noise is a function of absolute time,
  its nods follow the window's pitch and loudness;
- switching blinks, gaze or head motion on or off fades it over ``fade`` seconds
  (:class:`Switch`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emote.performance import EmotionTrack, PerformanceSettings
from emote.performance.blinks import blink_curve
from emote.performance.gaze import gaze_angles
from emote.performance.track import DEFAULT_TRANSITION, raised_cosine_step

PLAN_SECONDS = 8.0
"""Length of one block of planned blinks and gaze."""

PLAN_OVERLAP = 1.0
"""Seconds two neighbouring plan blocks overlap and crossfade."""


class LiveEmotion(EmotionTrack):
    """An emotion track written as the stream goes: it glides to each new state.

    A change made at ``after`` seconds (the first frame not yet sent) moves the
    weights from whatever they are at that moment to the new state along the
    track's raised cosine over ``transition`` seconds, so a change made in the
    middle of another never jumps. It holds two states, whatever the stream's
    length. Being an :class:`EmotionTrack`, it goes wherever one goes (the
    expression step, the neural engine's condition).
    """

    def __init__(self, emotion: str | None, intensity: float, transition: float = DEFAULT_TRANSITION) -> None:
        base = EmotionTrack.constant(emotion or "neutral", intensity, transition=transition)
        super().__init__(base.segments, base.transition)
        state = base.segments[0].vector()
        object.__setattr__(self, "_glide", (state, state, 0.0))

    def change(self, emotion: str | None, intensity: float, *, after: float) -> None:
        """Move to ``emotion`` at ``intensity``, the glide starting at ``after`` seconds.

        Raises
        ------
        EmotionError
            Unknown emotion or intensity outside [0, 1].
        """
        target = EmotionTrack.constant(emotion or "neutral", intensity)  # validates both
        now = self.weights(np.array([after]))[0]
        object.__setattr__(self, "segments", target.segments)
        object.__setattr__(self, "_glide", (now, target.segments[0].vector(), float(after)))

    def weights(self, times: np.ndarray) -> np.ndarray:
        start, end, at = self._glide
        t = np.asarray(times, np.float64)
        if self.transition > 0:
            step = raised_cosine_step((t - at) / self.transition - 0.5)
        else:
            step = (t >= at).astype(np.float64)
        return start[None, :] + (end - start)[None, :] * step[:, None]


@dataclass
class Switch:
    """An on/off setting that fades over ``fade`` seconds when flipped at frame ``at``."""

    on: bool
    at: int = 0
    was: float = 1.0
    fade: float = 0.3

    def set(self, on: bool, *, frame: int, fps: float) -> None:
        if on == self.on:
            return
        self.was = float(self.gain(np.array([frame]), fps)[0])
        self.on, self.at = on, frame

    def gain(self, frames: np.ndarray, fps: float) -> np.ndarray:
        target = 1.0 if self.on else 0.0
        if self.fade <= 0:
            return np.full(frames.shape, target)
        step = raised_cosine_step((frames - self.at) / (self.fade * fps) - 0.5)
        return self.was + (target - self.was) * step


class MotionPlans:
    """Blinks and gaze in fixed blocks of absolute time, each drawn once from its own seed.

    Block ``k`` covers frames ``[k B, (k + 1) B + overlap)``; at most three blocks
    are kept. Blink curves of overlapping blocks combine by maximum (a blink is
    never cut), gaze angles crossfade over the overlap.
    """

    def __init__(self, fps: float, settings: PerformanceSettings) -> None:
        self.fps = fps
        self.settings = settings
        self.block = max(round(PLAN_SECONDS * fps), 1)
        self.overlap = max(round(PLAN_OVERLAP * fps), 1)
        self._plans: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _plan(self, k: int, emotion: LiveEmotion) -> tuple[np.ndarray, np.ndarray]:
        if k not in self._plans:
            n = self.block + self.overlap
            seq = np.random.SeedSequence([self.settings.seed, k])
            rng_blink, rng_gaze = (np.random.default_rng(s) for s in seq.spawn(2))
            weights = emotion.weights((k * self.block + np.arange(n)) / self.fps)
            blink = blink_curve(n, fps=self.fps, rng=rng_blink, emotion_weights=weights,
                                settings=self.settings.blink_settings).astype(np.float64)  # fmt: skip
            gaze = gaze_angles(n, fps=self.fps, rng=rng_gaze, settings=self.settings.gaze_settings)
            self._plans[k] = (blink, gaze)
            for old in [j for j in self._plans if j < k - 1]:
                del self._plans[old]
        return self._plans[k]

    def motion(self, first: int, n: int, emotion: LiveEmotion) -> tuple[np.ndarray, np.ndarray]:
        """Blink (n,) and gaze (n, 2) for frames ``[first, first + n)``."""
        frames = first + np.arange(n)
        blink = np.zeros(n)
        gaze = np.zeros((n, 2))
        for k in range(max((first - self.overlap) // self.block, 0), (first + n - 1) // self.block + 1):
            b, g = self._plan(k, emotion)
            local = frames - k * self.block
            inside = (local >= 0) & (local < b.size)
            if not inside.any():
                continue
            idx = local[inside]
            blink[inside] = np.maximum(blink[inside], b[idx])
            # Weight of block k: rises over its first ``overlap`` frames (block 0 starts at full).
            w = np.ones(idx.size) if k == 0 else raised_cosine_step(idx / self.overlap)
            tail = idx >= self.block  # in the next block's overlap this block fades out
            w[tail] = 1.0
            gaze[inside] = gaze[inside] * (1.0 - w)[:, None] + g[idx] * w[:, None]
        return blink, gaze
