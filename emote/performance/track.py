"""Emotion tracks: which emotion, how strongly, when; with smooth transitions and blends.

A track is a list of non-overlapping segments. Each holds one emotion at an
intensity in [0, 1], optionally blended with a second emotion. Between
segments, and before the first one when it starts after 0, the face is
neutral. Every change of state is a raised-cosine crossfade of ``transition``
seconds centred on the boundary.

JSON format (``--emotion-track track.json``)::

    {
      "segments": [
        {"start": 0, "end": 2.5, "emotion": "happy", "intensity": 0.8},
        {"start": 2.5, "emotion": "sad", "intensity": 0.6,
         "blend": {"emotion": "surprised", "weight": 0.3}}
      ],
      "transition": 0.4
    }

- ``start`` (s, required, >= 0); ``end`` (s, optional: until the next segment
  starts, or for ever for the last one);
- ``emotion`` (required): one of :data:`emotion.EMOTIONS` or an alias
  (``surprise``, ``anger``, ``joy``...);
- ``intensity`` (optional, default 1) in [0, 1] — out of range is an error,
  never clamped;
- ``blend`` (optional): ``{"emotion": ..., "weight": w}``, w in [0, 1]: the
  segment shows ``(1 - w) * emotion + w * blend`` at its intensity;
- ``transition`` (optional, default 0.3 s, >= 0).

A bare list of segments is accepted as well. Segments may be listed in any
order; overlapping ones are an error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np

from emote.errors import EmotionError, file_error
from emote.performance.emotions import EMOTIONS, resolve_emotion

DEFAULT_TRANSITION = 0.3
_SEGMENT_KEYS = frozenset({"start", "end", "emotion", "intensity", "blend"})
_BLEND_KEYS = frozenset({"emotion", "weight"})


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EmotionError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _unit(value: Any, what: str) -> float:
    x = _number(value, what)
    if not 0.0 <= x <= 1.0:
        raise EmotionError(f"{what} {x:g} is outside [0, 1]")
    return x


@dataclass(frozen=True)
class EmotionSegment:
    """One stretch of an emotion track.

    Attributes
    ----------
    start : float
        Seconds (>= 0).
    end : float or None
        Seconds (> start), or None: until the next segment (or the end).
    emotion : str
        Canonical emotion name.
    intensity : float
        In [0, 1].
    blend : str or None
        A second emotion mixed in.
    blend_weight : float
        Share of ``blend`` in [0, 1].
    """

    start: float
    end: float | None
    emotion: str
    intensity: float = 1.0
    blend: str | None = None
    blend_weight: float = 0.0

    def vector(self) -> np.ndarray:
        """Per-emotion weights, shape (8,), in :data:`EMOTIONS` order (neutral fills to 1)."""
        v = np.zeros(len(EMOTIONS), np.float64)
        share = self.blend_weight if self.blend is not None else 0.0
        v[EMOTIONS.index(self.emotion)] += self.intensity * (1.0 - share)
        if self.blend is not None:
            v[EMOTIONS.index(self.blend)] += self.intensity * share
        v[0] = 0.0
        v[0] = 1.0 - v.sum()
        return v

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"start": self.start}
        if self.end is not None:
            d["end"] = self.end
        d["emotion"] = self.emotion
        d["intensity"] = self.intensity
        if self.blend is not None:
            d["blend"] = {"emotion": self.blend, "weight": self.blend_weight}
        return d


def _segment_from_dict(raw: Any, where: str) -> EmotionSegment:
    if not isinstance(raw, dict):
        raise EmotionError(f"{where} must be an object with start, emotion, intensity; got {raw!r}")
    unknown = set(raw) - _SEGMENT_KEYS
    if unknown:
        raise EmotionError(f"{where}: unknown key(s) {', '.join(sorted(map(repr, unknown)))}; "
                           f"allowed: {', '.join(sorted(_SEGMENT_KEYS))}")  # fmt: skip
    for key in ("start", "emotion"):
        if key not in raw:
            raise EmotionError(f"{where}: missing {key!r}")
    blend, weight = None, 0.0
    if raw.get("blend") is not None:
        b = raw["blend"]
        if not isinstance(b, dict) or "emotion" not in b or set(b) - _BLEND_KEYS:
            raise EmotionError(f'{where}: blend must be {{"emotion": ..., "weight": w}}, got {b!r}')
        blend = _resolve(b["emotion"], f"{where}: blend")
        weight = _unit(b.get("weight", 0.5), f"{where}: blend weight")
    return EmotionSegment(
        start=_number(raw["start"], f"{where}: start"),
        end=None if raw.get("end") is None else _number(raw["end"], f"{where}: end"),
        emotion=_resolve(raw["emotion"], where),
        intensity=_unit(raw.get("intensity", 1.0), f"{where}: intensity"),
        blend=blend,
        blend_weight=weight,
    )


def _resolve(name: Any, where: str) -> str:
    if not isinstance(name, str):
        raise EmotionError(f"{where}: emotion must be a name, got {name!r}")
    try:
        return resolve_emotion(name)
    except EmotionError as err:
        raise EmotionError(f"{where}: {err}") from None


def raised_cosine_step(x: np.ndarray) -> np.ndarray:
    """0 for ``x <= -0.5``, 1 for ``x >= 0.5``, a raised cosine in between."""
    x = np.clip(x, -0.5, 0.5)
    return 0.5 - 0.5 * np.cos(np.pi * (x + 0.5))


@dataclass(frozen=True)
class EmotionTrack:
    """A time-varying emotion: segments plus a crossfade length.

    Attributes
    ----------
    segments : tuple[EmotionSegment, ...]
        Sorted by start, non-overlapping.
    transition : float
        Crossfade length in seconds at every change (0: cuts).

    Examples
    --------
    >>> track = EmotionTrack.from_dict({"segments": [
    ...     {"start": 0, "end": 2.5, "emotion": "happy", "intensity": 0.8},
    ...     {"start": 2.5, "emotion": "sad", "intensity": 0.6}]})
    >>> w = track.weights(np.array([0.0, 2.5, 4.0]))
    >>> w.shape, round(float(w[0, 1]), 3), round(float(w[2, 2]), 3)
    ((3, 8), 0.8, 0.6)
    """

    segments: tuple[EmotionSegment, ...]
    transition: float = DEFAULT_TRANSITION

    def __post_init__(self) -> None:
        transition = _number(self.transition, "transition")
        if transition < 0:
            raise EmotionError(f"transition must be >= 0 seconds, got {transition:g}")
        if not self.segments:
            raise EmotionError("emotion track has no segments")
        order = sorted(range(len(self.segments)), key=lambda i: self.segments[i].start)
        segs = tuple(self.segments[i] for i in order)
        for k, i in enumerate(order):
            s = segs[k]
            name = f"segment {i + 1}"
            if s.emotion not in EMOTIONS or (s.blend is not None and s.blend not in EMOTIONS):
                raise EmotionError(f"{name}: unknown emotion; choose one of {', '.join(EMOTIONS)}")
            _unit(s.intensity, f"{name}: intensity")
            _unit(s.blend_weight, f"{name}: blend weight")
            if _number(s.start, f"{name}: start") < 0:
                raise EmotionError(f"{name}: start {s.start:g} is negative")
            if s.end is not None and _number(s.end, f"{name}: end") <= s.start:
                raise EmotionError(f"{name}: end {s.end:g} is not after start {s.start:g}")
            if k + 1 < len(segs):
                nxt, j = segs[k + 1], order[k + 1]
                if nxt.start == s.start:
                    raise EmotionError(f"segments {i + 1} and {j + 1} overlap (both start at {s.start:g})")
                if s.end is not None and s.end > nxt.start:
                    raise EmotionError(
                        f"segments {i + 1} and {j + 1} overlap "
                        f"({i + 1} ends at {s.end:g}, {j + 1} starts at {nxt.start:g})"
                    )
        object.__setattr__(self, "segments", segs)
        object.__setattr__(self, "transition", transition)

    # -- construction ---------------------------------------------------------
    @classmethod
    def constant(
        cls, emotion: str = "neutral", intensity: float = 1.0, *, transition: float = DEFAULT_TRANSITION
    ) -> EmotionTrack:
        """One emotion for the whole clip (``--emotion angry --intensity 0.8``)."""
        return cls((EmotionSegment(0.0, None, resolve_emotion(emotion), _unit(intensity, "intensity")),),
                   transition)  # fmt: skip

    @classmethod
    def from_dict(cls, data: Any) -> EmotionTrack:
        """Build from the JSON structure in the module docstring (or a bare segment list)."""
        if isinstance(data, list):
            data = {"segments": data}
        if not isinstance(data, dict):
            raise EmotionError(f"emotion track must be an object with 'segments', got {type(data).__name__}")
        unknown = set(data) - {"segments", "transition", "version"}
        if unknown:
            raise EmotionError(f"emotion track: unknown key(s) {', '.join(sorted(map(repr, unknown)))}")
        raw = data.get("segments")
        if not isinstance(raw, list):
            raise EmotionError("emotion track needs 'segments': a list of {start, end, emotion, intensity}")
        segs = tuple(_segment_from_dict(r, f"segment {i + 1}") for i, r in enumerate(raw))
        return cls(segs, data.get("transition", DEFAULT_TRANSITION))

    @classmethod
    def from_json(cls, path: str | PathLike[str]) -> EmotionTrack:
        """Read a track file; every problem is an :class:`EmotionError` naming the file."""
        from emote.limits import read_bounded

        data_bytes = read_bounded(path, "text_bytes", EmotionError, "emotion track file")
        try:
            text = data_bytes.decode("utf-8")
        except UnicodeDecodeError as err:
            raise file_error(
                EmotionError, path, f"cannot read emotion track ({err.__class__.__name__})"
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise file_error(EmotionError, path, f"not valid JSON (line {err.lineno}: {err.msg})") from None
        except (ValueError, RecursionError) as err:  # a 5000-digit number, nesting 100k deep
            raise file_error(
                EmotionError, path, f"not a usable JSON emotion track ({err.__class__.__name__})"
            ) from None
        try:
            return cls.from_dict(data)
        except EmotionError as err:
            raise file_error(EmotionError, path, str(err)) from None

    def to_dict(self) -> dict[str, Any]:
        """The JSON structure :meth:`from_dict` reads (for files and metadata)."""
        return {"segments": [s.to_dict() for s in self.segments], "transition": self.transition}

    # -- evaluation -------------------------------------------------------------
    def _changes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Initial state, change times and the state after each change."""
        neutral = np.eye(len(EMOTIONS))[0]
        first = self.segments[0]
        initial = first.vector() if first.start <= 0 else neutral
        times: list[float] = []
        states: list[np.ndarray] = []
        for k, s in enumerate(self.segments):
            if s.start > 0:
                times.append(s.start)
                states.append(s.vector())
            nxt = self.segments[k + 1].start if k + 1 < len(self.segments) else math.inf
            if s.end is not None and s.end < nxt:
                times.append(s.end)
                states.append(neutral)
        return initial, np.asarray(times), np.asarray(states).reshape(-1, len(EMOTIONS))

    def weights(self, times: np.ndarray) -> np.ndarray:
        """Per-emotion weights at ``times``.

        ``W(t) = W_0 + sum_k (S_k - S_{k-1}) * step((t - t_k) / transition)``
        with a raised-cosine ``step``: each row is a convex combination of the
        segments' states, rows sum to 1 (neutral takes the rest).

        Parameters
        ----------
        times : np.ndarray [shape=(frames,)]
            Seconds.

        Returns
        -------
        np.ndarray [shape=(frames, 8), dtype=float32]
            Columns in :data:`EMOTIONS` order.
        """
        t = np.asarray(times, np.float64).reshape(-1)
        initial, change_t, states = self._changes()
        w = np.broadcast_to(initial, (t.size, len(EMOTIONS))).copy()
        if change_t.size:
            deltas = np.diff(np.vstack([initial, states]), axis=0)  # (changes, 8)
            if self.transition > 0:
                ramps = raised_cosine_step((t[:, None] - change_t[None, :]) / self.transition)
            else:
                ramps = (t[:, None] >= change_t[None, :]).astype(np.float64)
            w += ramps @ deltas
        return np.clip(w, 0.0, 1.0).astype(np.float32)

    def emotion_at(self, time: float) -> str:
        """The dominant non-neutral emotion at ``time`` (``"neutral"`` if none)."""
        w = self.weights(np.array([time]))[0]
        return EMOTIONS[int(np.argmax(w[1:])) + 1] if w[1:].max() > 0 else "neutral"


def as_track(track: EmotionTrack | str | Sequence[Any] | dict[str, Any] | None) -> EmotionTrack:
    """Accept a track, an emotion name, a dict/list (JSON structure) or None (neutral)."""
    if track is None:
        return EmotionTrack.constant("neutral")
    if isinstance(track, EmotionTrack):
        return track
    if isinstance(track, str):
        return EmotionTrack.constant(track)
    return EmotionTrack.from_dict(track)
