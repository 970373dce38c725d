"""`FaceAnimation`: the canonical result every engine produces and every exporter reads."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import numpy as np

from emote.animation.channels import CHANNELS, N_ARKIT, N_CHANNELS, index
from emote.version import __version__


def package_version() -> str:
    return __version__


@dataclass
class FaceAnimation:
    """Facial animation as curves sampled at a fixed frame rate.

    Attributes
    ----------
    fps : float
        Frames per second (> 0).
    curves : np.ndarray [shape=(frames, 61), dtype=float32]
        Channels in :data:`emote.animation.channels.CHANNELS` order: 52 ARKit
        blendshape weights in [0, 1], then head yaw/pitch/roll and left/right eye
        yaw/pitch/roll in radians. Frame ``i`` is the face at time ``i / fps``; a clip of
        ``d`` seconds has ``ceil(d * fps) + 1`` frames (the convention:
        :mod:`emote.animation.frames`).
    metadata : dict
        JSON-serialisable facts about how it was made: ``engine``,
        ``emotion_track`` (list of segments), ``audio`` (path), ``audio_duration``
        (s), ``seed``, ``version`` (emote's). Exporters keep it where the format
        allows.

    Examples
    --------
    >>> anim = FaceAnimation.zeros(61, fps=30)       # a 2 s clip: both ends included
    >>> anim.duration                                # as video: 61 frames held 1/30 s each
    2.033333333333333
    >>> anim.resample(60).n_frames
    121
    """

    fps: float
    curves: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (isinstance(self.fps, (int, float)) and math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a positive number, got {self.fps!r}")
        self.fps = float(self.fps)
        curves = np.asarray(self.curves, dtype=np.float32)
        if curves.ndim != 2 or curves.shape[1] != N_CHANNELS:
            raise ValueError(f"curves must have shape (frames, {N_CHANNELS}), got {curves.shape}")
        if not np.isfinite(curves).all():
            raise ValueError("curves contain NaN or Inf")
        self.curves = np.ascontiguousarray(curves)
        self.metadata = dict(self.metadata)
        self.metadata.setdefault("version", package_version())

    # -- construction -------------------------------------------------------
    @classmethod
    def zeros(cls, n_frames: int, *, fps: float = 30.0, **metadata: Any) -> FaceAnimation:
        """A neutral, still face of ``n_frames`` frames."""
        return cls(fps, np.zeros((n_frames, N_CHANNELS), np.float32), metadata)

    @classmethod
    def load(cls, path: str | PathLike[str], *, format: str | None = None) -> FaceAnimation:
        """Read a file written by :meth:`save` (or a Live Link Face CSV take)."""
        from emote.export import read

        return read(path, format=format)

    # -- properties ---------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return int(self.curves.shape[0])

    @property
    def duration(self) -> float:
        """Length in seconds (``n_frames / fps``)."""
        return self.n_frames / self.fps

    @property
    def times(self) -> np.ndarray:
        """Frame times in seconds, shape (frames,)."""
        return np.arange(self.n_frames, dtype=np.float64) / self.fps

    @property
    def blendshapes(self) -> np.ndarray:
        """The 52 ARKit weights, shape (frames, 52) (a view)."""
        return self.curves[:, :N_ARKIT]

    @property
    def pose(self) -> np.ndarray:
        """Head and eye angles in radians, shape (frames, 9) (a view)."""
        return self.curves[:, N_ARKIT:]

    def channel(self, name: str) -> np.ndarray:
        """One channel by name, shape (frames,) (a view)."""
        return self.curves[:, index(name)]

    def __len__(self) -> int:
        return self.n_frames

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FaceAnimation):
            return NotImplemented
        return (
            self.fps == other.fps
            and self.curves.shape == other.curves.shape
            and bool(np.array_equal(self.curves, other.curves))
            and self.metadata == other.metadata
        )

    def __repr__(self) -> str:
        engine = self.metadata.get("engine", "?")
        return f"FaceAnimation({self.n_frames} frames @ {self.fps:g} fps, {self.duration:.2f} s, engine={engine})"

    # -- transforms -----------------------------------------------------------
    def resample(self, fps: float) -> FaceAnimation:
        """The same motion at another frame rate, by linear interpolation in time.

        The result keeps the span from first to last frame (:mod:`emote.animation.frames`):
        61 frames at 30 fps (a 2 s clip) become 121 at 60 fps, and 61 again going back.
        """
        from emote.animation.frames import resample_curves

        if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        if fps == self.fps:
            return FaceAnimation(self.fps, self.curves.copy(), self.metadata)
        return FaceAnimation(fps, resample_curves(self.curves, fps=self.fps, to_fps=fps), self.metadata)

    def slice(self, start: float = 0.0, end: float | None = None) -> FaceAnimation:
        """Frames whose time lies in ``[start, end)`` seconds (a copy).

        ``metadata["start_time"]`` records where the slice began in the source.
        """
        i0 = max(math.ceil(start * self.fps - 1e-9), 0)
        i1 = self.n_frames if end is None else min(math.ceil(end * self.fps - 1e-9), self.n_frames)
        meta = dict(self.metadata)
        meta["start_time"] = float(meta.get("start_time", 0.0)) + i0 / self.fps
        return FaceAnimation(self.fps, self.curves[i0 : max(i1, i0)].copy(), meta)

    @classmethod
    def concatenate(cls, parts: list[FaceAnimation]) -> FaceAnimation:
        """Join animations end to end; all must share one fps.

        The metadata of the first part is kept; ``metadata["parts"]`` counts the parts.
        """
        if not parts:
            raise ValueError("concatenate needs at least one FaceAnimation")
        fps = parts[0].fps
        for p in parts[1:]:
            if p.fps != fps:
                raise ValueError(f"cannot concatenate {p.fps:g} fps onto {fps:g} fps; resample first")
        meta = dict(parts[0].metadata)
        meta["parts"] = len(parts)
        return cls(fps, np.concatenate([p.curves for p in parts], axis=0), meta)

    def clamped(self) -> FaceAnimation:
        """A copy with the blendshape weights clipped to [0, 1]."""
        curves = self.curves.copy()
        np.clip(curves[:, :N_ARKIT], 0.0, 1.0, out=curves[:, :N_ARKIT])
        return FaceAnimation(self.fps, curves, self.metadata)

    # -- output ---------------------------------------------------------------
    def save(self, path: str | PathLike[str], *, format: str | None = None) -> None:
        """Write to ``path``, the format chosen by its extension unless ``format`` is given.

        ``.csv`` Live Link Face CSV, ``.json`` emote JSON, ``.npz`` NumPy archive,
        ``.metahuman.csv`` (or ``format="metahuman"``) MetaHuman curves. Writes
        are atomic: a crash never leaves a partial file at ``path``.
        """
        from emote.export import write

        write(self, path, format=format)


__all__ = ["CHANNELS", "FaceAnimation"]
