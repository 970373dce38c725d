"""Real paired data into the dataset format: audio + captured curves → a shard.

A studio's takes train the same networks as the TTS corpus (``emote train``
fine-tunes on them). Each take is an audio file and its curves, either

- an animation file emote reads (:func:`emote.export.read`): a **Live Link Face
  CSV** take, a MetaHuman curves CSV, emote JSON or NPZ; or
- **per-frame curves with named channels**: a ``.npy`` array ``(frames, K)``
  with a names file (one name per line, or comma-separated), or a ``.csv``
  whose header row names the channels (a ``time``/``frame``/``timecode``
  column is skipped); both need ``fps``.

Channels that are not ARKit keep their own names (a model can be trained on
any channel set). Curves are resampled to the dataset's 50 Hz; the audio's
features are cut or padded to the curves' length (a take whose audio and
curves differ by more than ``max_mismatch`` seconds is refused: probably a
wrong pairing). A TextGrid beside the audio (same stem) supplies reference
phones (closure weighting, evaluation).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from emote.animation.channels import ARKIT_NAMES, CHANNELS
from emote.animation.frames import resample_curves
from emote.errors import EmoteError, FormatError, file_error
from emote.nn.features import FeatureSettings, align_mel, speech_features
from emote.training.data.shards import (
    MANIFEST,
    Item,
    dataset_features,
    read_manifest,
    summarize,
    write_manifest,
    write_shard,
)

__all__ = ["FACE_CHANNELS", "Take", "import_takes", "read_curves"]

FACE_CHANNELS: tuple[str, ...] = tuple(n for n in ARKIT_NAMES if not n.startswith(("EyeBlink", "EyeLook")))
"""Default channels kept from a capture: the blendshapes minus blinks and eye look
(the performance layer makes those procedurally; audio cannot predict them)."""

_TIME_COLUMNS = {"time", "frame", "timecode", "t", "seconds", "frame_index"}


@dataclass(frozen=True)
class Take:
    """One take to import.

    Attributes
    ----------
    audio : path
    curves : path
        Animation file, ``.npy`` or ``.csv`` curves.
    names : path, optional
        Channel names of a ``.npy`` (or a header-less ``.csv``).
    emotion : str, optional
        The emotion the actor performed (a constant track); None: neutral.
    intensity : float
    """

    audio: str
    curves: str
    names: str | None = None
    emotion: str | None = None
    intensity: float = 1.0


def _read_names(path: str | PathLike[str]) -> list[str]:
    text = Path(path).read_text(encoding="utf-8")
    names = [n.strip() for n in text.replace(",", "\n").splitlines() if n.strip()]
    if not names:
        raise file_error(FormatError, path, "no channel names in it")
    return names


def read_curves(path: str | PathLike[str], *, names: str | PathLike[str] | None = None,
                fps: float | None = None) -> tuple[np.ndarray, tuple[str, ...], float]:  # fmt: skip
    """Curves, channel names and frame rate of a capture file.

    Returns
    -------
    curves : np.ndarray [shape=(frames, K), dtype=float32]
    names : tuple[str, ...]
    fps : float

    Raises
    ------
    FormatError
        Unreadable file, missing names or fps, shape mismatch; the message names the file.
    """
    p = Path(path)
    if p.suffix.lower() == ".npy":
        if names is None or fps is None:
            raise file_error(FormatError, p, "a .npy needs channel names (--names) and a frame rate (--fps)")
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise file_error(FormatError, p, f"not a NumPy array ({err})") from None
        chans = _read_names(names)
        if arr.ndim != 2 or arr.shape[1] != len(chans):
            raise file_error(FormatError, p, f"shape {arr.shape} does not match {len(chans)} channel names")
        return arr.astype(np.float32), tuple(chans), float(fps)
    if names is None:
        from emote import export

        try:
            anim = export.read(p, fps=fps) if p.suffix.lower() == ".csv" else export.read(p)
            return anim.curves.astype(np.float32), CHANNELS, float(anim.fps)
        except FormatError:
            if p.suffix.lower() != ".csv":
                raise
    return _read_named_csv(p, names=names, fps=fps)


def _read_named_csv(
    p: Path, *, names: str | PathLike[str] | None, fps: float | None
) -> tuple[np.ndarray, tuple[str, ...], float]:
    if fps is None:
        raise file_error(FormatError, p, "a curves CSV that is not a Live Link Face take needs --fps")
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except OSError as err:
        raise file_error(FormatError, p, f"cannot read ({err.strerror or err})") from None
    if names is not None:
        header, body = _read_names(names), rows
    else:
        header, body = [h.strip() for h in rows[0]], rows[1:] if rows else []
    keep = [i for i, h in enumerate(header) if h.lower() not in _TIME_COLUMNS]
    try:
        arr = np.array([[float(r[i]) for i in keep] for r in body if r], np.float32)
    except (ValueError, IndexError):
        raise file_error(
            FormatError, p, "non-numeric or short rows (expected a header of channel names, then numbers)"
        ) from None
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise file_error(FormatError, p, "no frames")
    return arr, tuple(header[i] for i in keep), float(fps)


def import_takes(
    takes: Sequence[Take],
    out: str | PathLike[str],
    *,
    fps: float | None = None,
    channels: Sequence[str] | None = None,
    split: str = "train",
    name: str = "import",
    style: str | None = None,
    max_mismatch: float = 1.0,
    features: FeatureSettings | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Import takes as one shard of the dataset in ``out`` (created or extended).

    Parameters
    ----------
    takes : sequence of Take
    out : path
        Dataset folder.
    fps : float, optional
        Frame rate of ``.npy``/generic CSV curves (Live Link takes carry their own).
    channels : sequence of str, optional
        Channels to keep (default :data:`FACE_CHANNELS` for ARKit captures, all for others).
    split : str
        ``"train"`` or ``"val"``.
    name : str
        Shard name (``shard-<name>.npz``; an existing one is replaced).
    style : str, optional
        Style/speaker name stored with every take (for a style code).
    max_mismatch : float
        Largest tolerated difference of audio and curve durations, seconds.

    Returns
    -------
    dict
        The updated manifest.
    """
    from emote.audio.io import load_audio
    from emote.performance.track import EmotionTrack

    root = Path(out)
    fs = features or dataset_features(root) or FeatureSettings(phones=True)
    items: list[Item] = []
    kept: tuple[str, ...] | None = None
    for k, take in enumerate(takes):
        curves, names, src_fps = read_curves(take.curves, names=take.names, fps=fps)
        wanted = (
            tuple(channels) if channels else (FACE_CHANNELS if set(FACE_CHANNELS) <= set(names) else names)
        )
        missing = [c for c in wanted if c not in names]
        if missing:
            raise file_error(FormatError, take.curves, f"channel(s) {', '.join(missing[:5])} missing")
        if kept is None:
            kept = wanted
        elif kept != wanted:
            raise file_error(
                FormatError, take.curves, "has other channels than the first take of this import"
            )
        curves = resample_curves(
            curves[:, [names.index(c) for c in wanted]], fps=src_fps, to_fps=fs.frame_rate
        )
        audio = load_audio(take.audio)
        audio_seconds = audio.samples.size / audio.sr
        curve_seconds = (curves.shape[0] - 1) / fs.frame_rate
        if abs(audio_seconds - curve_seconds) > max_mismatch:
            raise file_error(EmoteError, take.curves,
                             f"lasts {curve_seconds:.2f} s but {take.audio} lasts {audio_seconds:.2f} s")  # fmt: skip
        mel = align_mel(
            speech_features(audio.samples, sr=audio.sr, settings=fs), curves.shape[0], settings=fs
        )
        phones = []
        textgrid = Path(take.audio).with_suffix(".TextGrid")
        if textgrid.is_file():
            from emote.audio.timings import read_timings

            phones = read_timings(textgrid).phones
        track = EmotionTrack.constant(take.emotion, take.intensity).to_dict() if take.emotion else None
        meta = {"source": str(take.audio), "curves": str(take.curves), "duration": round(curve_seconds, 4),
                "emotion": take.emotion or "unknown", "emotion_track": track, "style": style or ""}  # fmt: skip
        items.append(Item(mel=mel, curves=curves.astype(np.float32), phones=phones, meta=meta))
        if progress:
            progress((k + 1) / len(takes))
    if not items or kept is None:
        raise EmoteError("nothing to import")
    file = f"shard-{name}.npz"
    header = {"fps": fs.frame_rate, "kind": "final", "features": fs.to_dict(), "source": "import"}
    write_shard(root / file, items, channels=kept, header=header, mel_dtype="float16")
    manifest = (
        read_manifest(root)
        if (root / MANIFEST).exists()
        else {"format": "emote-dataset", "kind": "import", "shards": []}
    )
    entries = [e for e in manifest["shards"] if e["file"] != file]
    entries.append({"file": file, "voice": style or name, "split": split,
                    "seconds": round(sum(it.meta["duration"] for it in items), 3)})  # fmt: skip
    manifest["shards"] = entries
    manifest["counts"] = summarize(root, entries)
    write_manifest(root, manifest)
    return json.loads(json.dumps(manifest))
