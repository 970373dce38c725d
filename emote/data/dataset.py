"""Training windows from a sharded dataset: features, exact targets, emotion conditions.

The items of a split are laid end to end in one *stream* (utterances start and
end in silence, so a window that spans two of them is still natural speech).
A batch is ``B`` random windows of ``T`` frames:

- ``mel`` (B, 2T, M) features;
- ``weights`` (B, T, 8) the emotion condition (the item's stored track);
- ``target`` (B, T, C) and ``mask`` (B, T, C): for ``"speech"`` shards the
  performance layer's composition of the teacher's mouth with ``weights``
  (:func:`emote.performance.compose.apply_emotion`), for ``"final"`` shards
  the stored curves; channels a shard lacks are masked;
- ``closure`` (B, T) 1 on bilabial and labiodental frames (from the phones);
- the *exchange* condition ``weights2`` — a freshly sampled track — and its
  exact target ``target2``/``mask2`` where composition applies (EMOTE's
  content–emotion exchange, with exact targets as a bonus of synthetic data).

Everything is numpy: batches are made on CPU worker processes while the GPU trains.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np

from emote.animation.channels import CHANNELS, INDEX, N_CHANNELS
from emote.data.prosody import TrackSampling, sample_track
from emote.data.shards import read_manifest, read_shard
from emote.engines.phonetic.phoneset import BILABIALS, LABIODENTALS, frames_in
from emote.errors import EmoteError
from emote.performance.compose import apply_emotion
from emote.performance.emotions import EMOTIONS
from emote.performance.track import EmotionTrack

__all__ = ["Batch", "Stream", "load_stream", "sample_batch", "target_channels"]

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

    @property
    def n_frames(self) -> int:
        return int(self.curves.shape[0])

    @property
    def hours(self) -> float:
        return self.n_frames / self.fps / 3600


def load_stream(
    root: str | PathLike[str], split: str, *, styles: Sequence[str] = (), limit: int | None = None
) -> Stream:
    """Load every shard of ``split`` (``"train"`` or ``"val"``) from a dataset folder.

    Parameters
    ----------
    root : path
    split : str
    styles : sequence of str
        Style names to index (an item's ``meta["style"]``); others get -1.
    limit : int, optional
        Read at most this many shards (quick tests).
    """
    manifest = read_manifest(root)
    entries = [e for e in manifest["shards"] if e["split"] == split][:limit]
    if not entries:
        raise EmoteError(f"{root}: no {split!r} shards in the manifest")
    shards = [read_shard(Path(root) / e["file"]) for e in entries]
    names: list[str] = []
    for sh in shards:
        names += [c for c in sh.channels if c not in names]
    fps = float(shards[0].header["fps"])
    style_index = {s: i for i, s in enumerate(styles)}
    mel, curves, compose, weights, closure, style, lengths = [], [], [], [], [], [], []
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
                if p.label in _CLOSING:
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
class Batch:
    """One training batch (numpy, float32 unless noted); see the module docstring."""

    mel: np.ndarray
    weights: np.ndarray
    target: np.ndarray
    mask: np.ndarray
    closure: np.ndarray
    style: np.ndarray
    weights2: np.ndarray
    target2: np.ndarray
    mask2: np.ndarray


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


def _compose(
    stream: Stream, idx: np.ndarray, weights: np.ndarray, channels: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Targets (F, C) and mask for stream frames ``idx`` under per-frame emotion ``weights`` (F, 8)."""
    out_from, stored_canon, canon_of_stored, out_canon, canon_of_out = _column_maps(stream, channels)
    stored = stream.curves[idx].astype(np.float32)  # (F, K), NaN where a shard lacks a channel
    out = np.where(out_from >= 0, stored[:, np.maximum(out_from, 0)], np.nan).astype(np.float32)
    comp = stream.compose[idx]
    if comp.any():
        speech = np.zeros((int(comp.sum()), N_CHANNELS), np.float32)
        speech[:, canon_of_stored] = np.nan_to_num(stored[comp][:, stored_canon])
        face = apply_emotion(speech, weights[comp])
        rows = np.flatnonzero(comp)
        out[np.ix_(rows, out_canon)] = face[:, canon_of_out]
    mask = np.isfinite(out)
    return np.nan_to_num(out), mask


def sample_batch(
    stream: Stream,
    rng: np.random.Generator,
    *,
    batch: int,
    window: int,
    channels: Sequence[str],
    exchange: bool = True,
    tracks: TrackSampling | None = None,
    fresh_tracks: float = 0.5,
) -> Batch:
    """``batch`` random windows of ``window`` frames.

    Parameters
    ----------
    stream : Stream
    rng : np.random.Generator
    batch, window : int
    channels : sequence of str
        Output channels of the model.
    exchange : bool
        Also make the exchange condition (a second, freshly sampled track).
    tracks : TrackSampling, optional
        How fresh tracks are drawn.
    fresh_tracks : float
        Share of windows whose *main* condition is also a fresh track instead
        of the stored one (only for composable frames): endless emotion variety.
    """
    n = stream.n_frames
    if n < window:
        raise EmoteError(f"dataset has {n} frames, fewer than one window of {window}")
    start = rng.integers(0, n - window + 1, size=batch)
    idx = (start[:, None] + np.arange(window)[None, :]).reshape(-1)
    t = np.arange(window) / stream.fps

    def fresh() -> np.ndarray:
        return np.stack(
            [sample_track(window / stream.fps, rng, tracks).weights(t) for _ in range(batch)]
        ).reshape(-1, 8)

    weights = stream.weights[idx].astype(np.float32)
    comp = stream.compose[idx]
    swap = np.repeat(rng.random(batch) < fresh_tracks, window) & comp
    if swap.any():
        weights[swap] = fresh()[swap]
    target, mask = _compose(stream, idx, weights, channels)
    m = stream.mel.shape[0] // n
    mel_idx = (m * start[:, None] + np.arange(m * window)[None, :]).reshape(-1)
    shape = (batch, window)
    if exchange:
        weights2 = np.where(comp[:, None], fresh(), weights).astype(np.float32)
        target2, mask2 = _compose(stream, idx, weights2, channels)
        mask2 &= comp[:, None]
    else:
        weights2, target2, mask2 = weights, target, mask
    return Batch(
        mel=stream.mel[mel_idx].astype(np.float32).reshape(batch, m * window, -1),
        weights=weights.reshape(*shape, 8),
        target=target.reshape(*shape, -1),
        mask=mask.reshape(*shape, -1),
        closure=stream.closure[idx].reshape(shape).astype(np.float32),
        style=stream.style[start].astype(np.int64),
        weights2=weights2.reshape(*shape, 8),
        target2=target2.reshape(*shape, -1),
        mask2=mask2.reshape(*shape, -1),
    )


def batches(stream: Stream, seed: int, **kwargs) -> Iterator[Batch]:
    """Endless batches from ``SeedSequence(seed)``."""
    rng = np.random.default_rng(seed)
    while True:
        yield sample_batch(stream, rng, **kwargs)
