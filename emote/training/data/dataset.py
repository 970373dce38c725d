"""Training windows from a sharded dataset: features, exact targets, emotion conditions.

The items of a split are laid end to end in one *stream* (utterances start and
end in silence, so a window that spans two of them is still natural speech).
Targets are composed once at load (:func:`prepare_targets`): for ``"speech"``
shards the performance layer's composition of the teacher's mouth with an
emotion track (:func:`emote.performance.compose.apply_emotion`) — under the
items' stored tracks and under several freshly sampled ones — for ``"final"``
shards the stored curves. A batch (:func:`sample_batch`) is ``B`` random
windows of ``T`` frames with features, a condition, its target, and an
*exchange* condition (another variant: same audio, other emotion) with its
exact target — EMOTE's content–emotion exchange, with exact targets as a
bonus of synthetic data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np

from emote.animation.channels import CHANNELS, INDEX, N_CHANNELS
from emote.errors import EmoteError
from emote.performance.compose import apply_emotion
from emote.performance.emotions import EMOTIONS
from emote.performance.track import EmotionTrack
from emote.phonetics.phoneset import BILABIALS, LABIODENTALS, frames_in, normalize_label
from emote.training.data.prosody import TrackSampling, sample_track
from emote.training.data.shards import read_manifest, read_shard

__all__ = [
    "Batch",
    "Stream",
    "Targets",
    "compose_targets",
    "load_stream",
    "prepare_targets",
    "sample_batch",
    "target_channels",
]

_CLOSING = BILABIALS | LABIODENTALS


@dataclass
class Stream:
    """All items of one split, end to end.

    Attributes
    ----------
    mel : (2 N, M) float16
    curves : (N, K) float16
        Stored curves; column ``k`` is canonical channel ``canonical[k]`` (or -1 if not canonical).
    names : tuple[str, ...]
        Names of the K stored columns.
    compose : (N,) bool
        Frames of ``"speech"`` items (target = composition).
    weights : (N, 8) float16
        The stored emotion track of each frame (neutral when unknown).
    closure : (N,) bool
    frame_weight : (N,) float16
        Trust in each frame's target, in [0, 1] (the shard's ``frame_weight``; 1 where it has none).
    style : (N,) int16
        Index into ``styles`` (-1: none).
    starts : (n_items + 1,) int64
    fps : float
    """

    mel: np.ndarray
    curves: np.ndarray
    names: tuple[str, ...]
    compose: np.ndarray
    weights: np.ndarray
    closure: np.ndarray
    style: np.ndarray
    starts: np.ndarray
    styles: tuple[str, ...]
    fps: float
    frame_weight: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.frame_weight is None:
            self.frame_weight = np.ones(self.curves.shape[0], np.float16)

    @property
    def n_frames(self) -> int:
        return int(self.curves.shape[0])

    @property
    def hours(self) -> float:
        return self.n_frames / self.fps / 3600


def load_stream(
    root: str | PathLike[str] | Sequence[str | PathLike[str]],
    split: str,
    *,
    styles: Sequence[str] = (),
    limit: int | None = None,
) -> Stream:
    """Load every shard of ``split`` (``"train"`` or ``"val"``) from one dataset folder or several.

    Parameters
    ----------
    root : path or sequence of paths
        Dataset folders (several: a mix, e.g. TTS voices + recorded speech).
    split : str
    styles : sequence of str
        Style names to index (an item's ``meta["style"]``); others get -1.
    limit : int, optional
        Read at most this many shards (quick tests).
    """
    roots = [Path(root)] if isinstance(root, str | PathLike) else [Path(r) for r in root]
    paths = [r / e["file"] for r in roots for e in read_manifest(r)["shards"] if e["split"] == split][:limit]
    if not paths:
        raise EmoteError(f"{', '.join(map(str, roots))}: no {split!r} shards in the manifest")
    shards = [read_shard(p) for p in paths]
    names: list[str] = []
    for sh in shards:
        names += [c for c in sh.channels if c not in names]
    fps = float(shards[0].header["fps"])
    style_index = {s: i for i, s in enumerate(styles)}
    mel, curves, compose, weights, closure, style, lengths = [], [], [], [], [], [], []
    frame_weight = [sh.weights.astype(np.float16) for sh in shards]
    for sh in shards:
        if float(sh.header["fps"]) != fps:
            raise EmoteError(f"{root}: shards at different frame rates ({sh.header['fps']} and {fps})")
        cols = [names.index(c) for c in sh.channels]
        block = np.full((sh.n_frames, len(names)), np.nan, np.float16)
        block[:, cols] = sh.curves
        curves.append(block)
        mel.append(sh.mel)
        is_speech = sh.header.get("kind") == "speech"
        for i in range(len(sh)):
            a, b = int(sh.offsets[i]), int(sh.offsets[i + 1])
            n = b - a
            lengths.append(n)
            compose.append(np.full(n, is_speech))
            meta = sh.meta[i]
            track = meta.get("emotion_track")
            t = np.arange(n) / fps
            w = EmotionTrack.from_dict(track).weights(t) if track else np.eye(len(EMOTIONS))[[0] * n]
            weights.append(w.astype(np.float16))
            c = np.zeros(n, bool)
            item = sh.item(i)
            for p in item.phones:
                if _CLOSING.intersection(normalize_label(p.label)):  # ARPAbet, or IPA of any language
                    c[frames_in(p.start, p.end, fps=fps, n_frames=n)] = True
            closure.append(c)
            style.append(np.full(n, style_index.get(meta.get("style", ""), -1), np.int16))
    return Stream(
        mel=np.concatenate(mel),
        curves=np.concatenate(curves),
        names=tuple(names),
        compose=np.concatenate(compose),
        weights=np.concatenate(weights),
        closure=np.concatenate(closure),
        style=np.concatenate(style),
        starts=np.cumsum([0, *lengths]).astype(np.int64),
        styles=tuple(styles),
        fps=fps,
        frame_weight=np.concatenate(frame_weight),
    )


def target_channels(stream: Stream, *, threshold: float = 1e-3) -> tuple[str, ...]:
    """Every channel a target of this stream can move: stored ones plus what emotions add.

    In canonical order first, then any non-canonical names in stream order.
    """
    from emote.performance.emotions import EXPRESSIONS

    moved = set()
    finite = np.nan_to_num(stream.curves.astype(np.float32))
    for k, name in enumerate(stream.names):
        if np.abs(finite[:, k]).max(initial=0.0) > threshold:
            moved.add(name)
    if stream.compose.any():
        moved |= {CHANNELS[j] for j in np.flatnonzero(np.abs(EXPRESSIONS).max(axis=0) > threshold)}
    canonical = [c for c in CHANNELS if c in moved]
    return tuple(canonical + [c for c in stream.names if c in moved and c not in INDEX])


@dataclass
class Targets:
    """Training targets of a stream under several emotion conditions, composed once.

    Variant 0 follows each item's stored track; variants 1.. lay freshly sampled
    tracks (one every few seconds) over the whole stream. Composition is the
    performance layer's own (:func:`emote.performance.compose.apply_emotion`),
    run once at load, so the trainer only gathers windows (on the GPU).

    Attributes
    ----------
    weights : (V, N, 8) float16
    curves : (V, N, C) float16
        Targets in ``channels`` order (0 where masked).
    mask : (N, C) bool
        Where a target exists (a shard may lack a channel).
    channels : tuple[str, ...]
    """

    weights: np.ndarray
    curves: np.ndarray
    mask: np.ndarray
    channels: tuple[str, ...]

    @property
    def variants(self) -> int:
        return int(self.weights.shape[0])


def _column_maps(
    stream: Stream, channels: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays between stored columns, canonical channels and output channels."""
    col = {name: k for k, name in enumerate(stream.names)}
    out_from = np.array([col.get(name, -1) for name in channels])
    stored_canon = np.array([k for k, name in enumerate(stream.names) if name in INDEX], np.int64)
    canon_of_stored = np.array([INDEX[stream.names[k]] for k in stored_canon], np.int64)
    out_canon = np.array([j for j, name in enumerate(channels) if name in INDEX], np.int64)
    canon_of_out = np.array([INDEX[channels[j]] for j in out_canon], np.int64)
    return out_from, stored_canon, canon_of_stored, out_canon, canon_of_out


def compose_targets(
    stream: Stream, rows: np.ndarray, weights: np.ndarray, channels: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Targets (F, C) and their mask for stream frames ``rows`` under emotion ``weights`` (F, 8).

    ``"speech"`` frames: the teacher's mouth composed with the emotion by
    :func:`~emote.performance.compose.apply_emotion`; ``"final"`` frames: the
    stored curves. Channels a frame's shard lacks are masked.
    """
    out_from, stored_canon, canon_of_stored, out_canon, canon_of_out = _column_maps(stream, channels)
    stored = stream.curves[rows].astype(np.float32)  # (F, K), NaN where a shard lacks a channel
    out = np.where(out_from >= 0, stored[:, np.maximum(out_from, 0)], np.nan).astype(np.float32)
    comp = stream.compose[rows]
    if comp.any():
        speech = np.zeros((int(comp.sum()), N_CHANNELS), np.float32)
        speech[:, canon_of_stored] = np.nan_to_num(stored[comp][:, stored_canon])
        face = apply_emotion(speech, weights[comp])
        out[np.ix_(np.flatnonzero(comp), out_canon)] = face[:, canon_of_out]
    mask = np.isfinite(out)
    return np.nan_to_num(out), mask


def fresh_weights(
    n_frames: int, fps: float, rng: np.random.Generator, *, tracks: TrackSampling | None = None,
    segment: tuple[float, float] = (2.0, 10.0),
) -> np.ndarray:  # fmt: skip
    """Emotion weights (n_frames, 8) from random tracks laid end to end, each ``segment`` seconds long."""
    out = np.empty((n_frames, len(EMOTIONS)), np.float32)
    k = 0
    while k < n_frames:
        n = min(n_frames - k, max(1, round(rng.uniform(*segment) * fps)))
        out[k : k + n] = sample_track(n / fps, rng, tracks).weights(np.arange(n) / fps)
        k += n
    return out


def prepare_targets(
    stream: Stream,
    channels: Sequence[str],
    *,
    variants: int = 8,
    seed: int = 0,
    tracks: TrackSampling | None = None,
    chunk: int = 65536,
    neutral: bool = False,
) -> Targets:
    """Compose the stream's targets under its stored tracks and ``variants - 1`` fresh ones.

    ``neutral``: every variant of every composed frame is neutral (the
    neutral-only ablation: the network never sees an emotion; real takes keep
    their own condition).
    """
    if variants < 2:
        raise ValueError(f"need at least 2 variants (stored + fresh), got {variants}")
    rng = np.random.default_rng(seed)
    n = stream.n_frames
    weights = np.empty((variants, n, len(EMOTIONS)), np.float16)
    curves = np.empty((variants, n, len(channels)), np.float16)
    mask = np.zeros((n, len(channels)), bool)
    for v in range(variants):
        if neutral:
            w = np.zeros((n, len(EMOTIONS)), np.float32)
            w[:, EMOTIONS.index("neutral")] = 1.0
        elif v == 0:
            w = stream.weights.astype(np.float32)
        else:
            w = fresh_weights(n, stream.fps, rng, tracks=tracks)
        w[~stream.compose] = stream.weights[~stream.compose]  # real takes keep their own condition
        weights[v] = w
        for a in range(0, n, chunk):
            rows = np.arange(a, min(a + chunk, n))
            c, m = compose_targets(stream, rows, w[rows], channels)
            curves[v, rows] = c
            mask[rows] |= m
    return Targets(weights, curves, mask, tuple(channels))


@dataclass
class Batch:
    """One training batch (numpy, float32 unless noted).

    Attributes
    ----------
    mel : (B, 2T, M)
    weights, weights2 : (B, T, 8)
        The condition, and the exchange condition (another emotion, same audio).
    target, target2 : (B, T, C)
    mask, mask2 : (B, T, C) bool
        ``mask2`` only where composition makes the exchange target exact.
    closure : (B, T)
        1 on bilabial and labiodental frames.
    style : (B,) int64
    frame_weight : (B, T)
        Trust in each frame's target (the stream's ``frame_weight``).
    """

    mel: np.ndarray
    weights: np.ndarray
    target: np.ndarray
    mask: np.ndarray
    closure: np.ndarray
    style: np.ndarray
    weights2: np.ndarray
    target2: np.ndarray
    mask2: np.ndarray
    frame_weight: np.ndarray


def window_rows(start: np.ndarray, window: int) -> np.ndarray:
    """Stream rows (B, T) of windows starting at ``start`` (B,)."""
    return start[:, None] + np.arange(window)[None, :]


def sample_batch(
    stream: Stream,
    targets: Targets,
    rng: np.random.Generator,
    *,
    batch: int,
    window: int,
    stored_share: float = 0.5,
) -> Batch:
    """``batch`` random windows of ``window`` frames (the reference sampler; the trainer gathers the same on GPU).

    The condition is the stored tracks' variant with probability
    ``stored_share``, else a random fresh variant; the exchange condition is
    another variant.
    """
    n = stream.n_frames
    if n < window:
        raise EmoteError(f"dataset has {n} frames, fewer than one window of {window}")
    start = rng.integers(0, n - window + 1, size=batch)
    rows = window_rows(start, window)
    v = targets.variants
    v1, v2 = pick_variants(
        rng.random(batch), rng.integers(1, v, size=batch), rng.integers(1, v, size=batch), v, stored_share
    )
    m = stream.mel.shape[0] // n
    mel_rows = (m * start[:, None] + np.arange(m * window)[None, :]).reshape(-1)
    comp = stream.compose[rows]
    return Batch(
        mel=stream.mel[mel_rows].astype(np.float32).reshape(batch, m * window, -1),
        weights=targets.weights[v1[:, None], rows].astype(np.float32),
        target=targets.curves[v1[:, None], rows].astype(np.float32),
        mask=targets.mask[rows],
        closure=stream.closure[rows].astype(np.float32),
        style=stream.style[start].astype(np.int64),
        weights2=targets.weights[v2[:, None], rows].astype(np.float32),
        target2=targets.curves[v2[:, None], rows].astype(np.float32),
        mask2=targets.mask[rows] & comp[..., None],
        frame_weight=stream.frame_weight[rows].astype(np.float32),
    )


def pick_variants(u, fresh, offset, variants: int, stored_share: float):
    """Main and exchange variant of each window (numpy or torch arrays).

    Main: the stored tracks (0) where ``u < stored_share``, else ``fresh`` (in
    ``1..V-1``); exchange: ``offset`` (in ``1..V-1``) variants further on, so
    never the main one.
    """
    v1 = fresh * (u >= stored_share)
    v2 = (v1 + offset) % variants
    return v1, v2
