"""The sharded dataset format: speech features + curves + metadata, one ``.npz`` per shard.

A dataset is a folder::

    manifest.json          what is there: shards, splits, hours, voices, emotions, phones
    shard-<name>.npz       one shard (usually one voice or one capture session)

A shard holds ``n`` items (utterances, takes) back to back:

==================  ==========================  ============================================
array               shape, dtype                meaning
==================  ==========================  ============================================
``mel``             (2 F, n_mels) uint8/f16     speech features (:mod:`emote.nn.features`)
``curves``          (F, C) float16              per-frame curves at ``fps``, columns ``channels``
``channels``        (C,) str                    curve names (ARKit or the capture's own)
``offsets``         (n + 1,) int64              item ``i`` is frames ``offsets[i]:offsets[i+1]``
``phone_start/end``  (P,) float32               phone intervals, seconds from the item start
``phone_label``     (P,) uint8/uint16           index into ``phone_names``, else :data:`PHONE_LABELS`
``phone_names``     (K,) str, optional           the shard's labels, when any is IPA (``"/ɲ/"``)
``phone_offsets``   (n + 1,) int64              item ``i``'s phones
``frame_weight``    (F,) uint8, optional         per-frame trust in the target, ``code / 255``
``meta``            () str (JSON)               per-item metadata list + shard header
==================  ==========================  ============================================

``header["kind"]`` says what ``curves`` are: ``"speech"`` — the phonetic
teacher's emotion-free mouth; the training target is the performance layer's
composition of it with the item's emotion track (so any other track can be
composed too: exact targets under content–emotion exchange); ``"final"`` — the
target itself (real captures).

``frame_weight`` (absent: every frame 1) says how far each frame's target is
to be trusted: the training losses of the speech-to-motion stage weight each
frame by it. Recorded speech without a transcript gets the phone recogniser's
confidence there (:mod:`emote.training.data.speech`); 0 masks a frame out. ``header["split"]``
names the split a shard belongs to (the manifest's ``split`` is the one read).

A ``"compact"`` shard (``header["mel_layout"]``, written with ``compact=True``)
stores the same uint8 codes in a third less space, losslessly: ``mel`` holds
the ``n_mels`` log-mel columns as differences of consecutive rows (modulo
256: noise-like spectra compress far better as changes), and ``post`` holds
the phone-posterior columns once per curve frame (they arrive at 50 Hz and
are repeated to the 100 Hz rows; reading repeats them again).

Features are stored as float16 or, to halve the size, as uint8 with an affine
map recorded in the header (``mel_code = [low, step]``: value = low + code × step;
default [-3.0, 1/48]: [-3.0, 2.31], the features' range [-floor / 4, ...] with
steps of 0.083 natural-log units of power, 0.36 dB, far under what the network
resolves). Shards written before the map was recorded used [-3.5, 1/64], whose
top (0.484) clipped the loudest bins; they still read correctly.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from emote.audio.phones import Phone
from emote.errors import EmoteError, FormatError, file_error
from emote.nn.features import FeatureSettings
from emote.phonetics.labels import ARPABET, SIL

__all__ = [
    "FORMAT_VERSION",
    "PHONE_LABELS",
    "Item",
    "Shard",
    "dataset_features",
    "hold_posteriors",
    "read_manifest",
    "read_shard",
    "summarize",
    "write_manifest",
    "write_shard",
]

FORMAT_VERSION = 1
PHONE_LABELS: tuple[str, ...] = (SIL, *ARPABET)
_PHONE_INDEX = {p: i for i, p in enumerate(PHONE_LABELS)}
MEL_CODE = (-3.0, 1.0 / 48.0)  # uint8 code c means low + c * step
_OLD_MEL_CODE = (-3.5, 1.0 / 64.0)  # shards without "mel_code" in their header
MANIFEST = "manifest.json"


@dataclass
class Item:
    """One utterance or take.

    Attributes
    ----------
    mel : np.ndarray [shape=(2 F, n_mels)]
    curves : np.ndarray [shape=(F, C)]
    phones : list[Phone]
        Reference phones (empty when unknown).
    meta : dict
        ``text``, ``voice``/``source``, ``emotion_track`` (dict or None), ``style``...
    weight : np.ndarray [shape=(F,)], optional
        Per-frame trust in ``curves``, in [0, 1] (None: 1 everywhere).
    """

    mel: np.ndarray
    curves: np.ndarray
    phones: list[Phone] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    weight: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.curves.shape[0])


@dataclass
class Shard:
    """A shard in memory (see the module docstring for the arrays)."""

    mel: np.ndarray
    curves: np.ndarray
    channels: tuple[str, ...]
    offsets: np.ndarray
    phone_start: np.ndarray
    phone_end: np.ndarray
    phone_label: np.ndarray
    phone_offsets: np.ndarray
    meta: list[dict[str, Any]]
    header: dict[str, Any]
    frame_weight: np.ndarray | None = None
    phone_names: tuple[str, ...] = PHONE_LABELS

    def __len__(self) -> int:
        return len(self.meta)

    @property
    def n_frames(self) -> int:
        return int(self.offsets[-1])

    def item(self, i: int) -> Item:
        """Item ``i`` with float32 arrays."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        m = self.mel_per_frame
        p0, p1 = int(self.phone_offsets[i]), int(self.phone_offsets[i + 1])
        phones = [Phone(float(s), float(e), self.phone_names[k]) for s, e, k in
                  zip(self.phone_start[p0:p1], self.phone_end[p0:p1], self.phone_label[p0:p1], strict=True)]  # fmt: skip
        return Item(
            self.mel[a * m : b * m].astype(np.float32),
            self.curves[a:b].astype(np.float32),
            phones,
            self.meta[i],
            None if self.frame_weight is None else self.frame_weight[a:b].astype(np.float32),
        )

    @property
    def weights(self) -> np.ndarray:
        """Per-frame target weights (F,) float32, 1 where the shard stores none."""
        if self.frame_weight is None:
            return np.ones(self.n_frames, np.float32)
        return self.frame_weight.astype(np.float32)

    @property
    def mel_per_frame(self) -> int:
        return int(self.header.get("mel_per_frame", 2))


def encode_mel(mel: np.ndarray, dtype: str, code: tuple[float, float] = MEL_CODE) -> np.ndarray:
    """Features as stored: ``"float16"`` or ``"uint8"`` (see the module docstring)."""
    if dtype == "float16":
        return mel.astype(np.float16)
    if dtype == "uint8":
        low, step = code
        return np.clip(np.rint((mel - low) / step), 0, 255).astype(np.uint8)
    raise ValueError(f"mel dtype must be 'float16' or 'uint8', got {dtype!r}")


def decode_mel(stored: np.ndarray, code: tuple[float, float] = MEL_CODE) -> np.ndarray:
    """Stored features back to float32."""
    if stored.dtype == np.uint8:
        low, step = code
        return (low + stored.astype(np.float32) * step).astype(np.float32)
    return stored.astype(np.float32)


def encode_weight(weight: np.ndarray) -> np.ndarray:
    """Per-frame weights in [0, 1] as stored: uint8 codes, ``weight = code / 255``."""
    return np.rint(np.clip(weight, 0.0, 1.0) * 255.0).astype(np.uint8)


def hold_posteriors(features: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """Features with the posterior columns of every curve frame's rows made equal to its first row, in place.

    The recogniser's posteriors arrive once per curve frame and are repeated to
    the 100 Hz rows, except in the one row :func:`emote.nn.features.align_mel`
    may pad at a clip's end (the log-mel floor in every column): that row gets
    its frame's posteriors, so the compact layout can store them once per frame.
    """
    m, n_mels = settings.mel_per_frame, settings.n_mels
    if settings.phones:
        for j in range(1, m):
            features[j::m, n_mels:] = features[::m, n_mels:]
    return features


def _compact(codes: np.ndarray, m: int, header: dict[str, Any]) -> dict[str, np.ndarray]:
    """The compact layout of uint8 feature codes (2 F, width): row deltas of the log-mel, posteriors per frame."""
    n_mels = int(header["features"]["n_mels"])
    if codes.dtype != np.uint8 or not header["features"].get("phones"):
        raise ValueError("the compact layout needs uint8 features with phone posteriors")
    post = codes[:, n_mels:]
    once = post[::m]
    if not np.array_equal(np.repeat(once, m, axis=0), post):
        raise ValueError("phone posterior rows are not repeated per curve frame; cannot store them compactly")
    mel = codes[:, :n_mels]
    delta = np.diff(mel, axis=0, prepend=np.zeros((1, n_mels), np.uint8))  # uint8: modulo 256
    return {"mel": delta, "post": once}


def _expand(mel: np.ndarray, post: np.ndarray, m: int) -> np.ndarray:
    """Inverse of :func:`_compact`: the uint8 feature codes (2 F, width)."""
    codes = np.cumsum(mel, axis=0, dtype=np.uint8)  # wraps modulo 256, undoing the deltas
    return np.concatenate([codes, np.repeat(post, m, axis=0)], axis=1)


def write_shard(
    path: str | PathLike[str],
    items: Sequence[Item],
    *,
    channels: Sequence[str],
    header: dict[str, Any],
    mel_dtype: str = "float16",
    compact: bool = False,
) -> Path:
    """Write items as one shard, atomically.

    Parameters
    ----------
    path : path
        ``.npz`` file to write.
    items : sequence of Item
        ``curves`` columns in ``channels`` order, ``mel`` rows ``mel_per_frame``
        (header, default 2) per curve frame.
    channels : sequence of str
    header : dict
        ``fps``, ``kind`` (``"speech"`` or ``"final"``), ``features`` (settings dict)...
    mel_dtype : str
        ``"float16"`` or ``"uint8"``.
    compact : bool
        With ``"uint8"`` and ``header["features"]["phones"]``: the compact
        layout (see the module docstring; the same codes come back).

    Returns
    -------
    Path
    """
    from emote.io.atomic import atomic_path

    m = int(header.get("mel_per_frame", 2))
    if compact:
        header = {**header, "mel_layout": "compact"}
    for k, it in enumerate(items):
        if it.curves.shape[1] != len(channels):
            raise ValueError(f"item {k}: {it.curves.shape[1]} curve columns for {len(channels)} channels")
        if it.mel.shape[0] != m * it.curves.shape[0]:
            raise ValueError(
                f"item {k}: {it.mel.shape[0]} feature rows for {it.curves.shape[0]} frames (want x{m})"
            )
    offsets = np.cumsum([0] + [it.n_frames for it in items]).astype(np.int64)
    phones = [p for it in items for p in it.phones]
    phone_offsets = np.cumsum([0] + [len(it.phones) for it in items]).astype(np.int64)
    n_mels = items[0].mel.shape[1] if items else 0
    arrays = {
        "mel": encode_mel(np.concatenate([it.mel for it in items]) if items else np.zeros((0, n_mels)), mel_dtype),
        "curves": (np.concatenate([it.curves for it in items]) if items else np.zeros((0, len(channels)))).astype(np.float16),
        "channels": np.asarray(list(channels), dtype=str),
        "offsets": offsets,
        "phone_start": np.asarray([p.start for p in phones], np.float32),
        "phone_end": np.asarray([p.end for p in phones], np.float32),
        "phone_offsets": phone_offsets,
        "meta": np.asarray(json.dumps({"header": {"version": FORMAT_VERSION, "mel_per_frame": m, "mel_code": list(MEL_CODE), **header},
                                       "items": [it.meta for it in items]})),
    }  # fmt: skip
    arrays.update(_phone_labels([p.label for p in phones]))
    if compact:
        arrays.update(_compact(arrays["mel"], m, header))
    if any(it.weight is not None for it in items):
        for k, it in enumerate(items):
            if it.weight is not None and it.weight.shape != (it.n_frames,):
                raise ValueError(f"item {k}: weight shape {it.weight.shape} for {it.n_frames} frames")
        weight = np.concatenate([np.ones(it.n_frames) if it.weight is None else it.weight for it in items])
        arrays["frame_weight"] = encode_weight(weight)
    path = Path(path)
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def _phone_labels(labels: list[str]) -> dict[str, np.ndarray]:
    """``phone_label`` indices into :data:`PHONE_LABELS` (ARPAbet shards stay as they always were),
    or, when any label is IPA (a multilingual voice), into the shard's own ``phone_names``."""
    if all(label in _PHONE_INDEX for label in labels):
        return {"phone_label": np.asarray([_PHONE_INDEX[label] for label in labels], np.uint8)}
    names = sorted(set(labels))
    index = {name: i for i, name in enumerate(names)}
    return {
        "phone_label": np.asarray([index[label] for label in labels], np.uint16),
        "phone_names": np.asarray(names, dtype=str),
    }


def read_shard(path: str | PathLike[str]) -> Shard:
    """Read a shard; a damaged or foreign file is a :class:`FormatError` naming it."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            code = tuple(meta["header"].get("mel_code", _OLD_MEL_CODE))
            stored = z["mel"]
            if meta["header"].get("mel_layout") == "compact":
                stored = _expand(stored, z["post"], int(meta["header"].get("mel_per_frame", 2)))
            shard = Shard(
                mel=decode_mel(stored, code).astype(np.float16),
                curves=z["curves"],
                channels=tuple(str(c) for c in z["channels"]),
                offsets=z["offsets"],
                phone_start=z["phone_start"],
                phone_end=z["phone_end"],
                phone_label=z["phone_label"],
                phone_offsets=z["phone_offsets"],
                meta=meta["items"],
                header=meta["header"],
                frame_weight=(
                    z["frame_weight"].astype(np.float32) / 255.0 if "frame_weight" in z.files else None
                ),
                phone_names=(
                    tuple(str(n) for n in z["phone_names"]) if "phone_names" in z.files else PHONE_LABELS
                ),
            )
    except FileNotFoundError:
        raise file_error(FormatError, path, "shard not found") from None
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as err:
        raise file_error(
            FormatError, path, f"not an emote dataset shard ({err.__class__.__name__}: {err})"
        ) from None
    if shard.header.get("version") != FORMAT_VERSION:
        raise file_error(
            FormatError,
            path,
            f"shard format version {shard.header.get('version')!r}, expected {FORMAT_VERSION}",
        )
    return shard


def check_settings(root: Path, wanted: dict[str, Any], what: str) -> None:
    """Refuse a folder whose manifest was written with other settings: a resumed run adds
    shards to the dataset it started, never to another (``what``: "corpus", "dataset")."""
    if (root / MANIFEST).exists() and read_manifest(root).get("settings") != wanted:
        raise EmoteError(f"{root}: holds a {what} made with other settings; use an empty folder")


def finished_shard(path: Path) -> Shard | None:
    """The shard an interrupted run already wrote at ``path``; None where there is none, or it
    is damaged (logged) and must be made again."""
    if not path.exists():
        return None
    try:
        return read_shard(path)
    except EmoteError:
        logging.getLogger("emote.data").warning("%s: damaged, generating it again", path)
        return None


def summarize(root: str | PathLike[str], shards: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts over a dataset's shards: hours per split and voice, emotions, phones."""
    hours: Counter = Counter()
    voices: Counter = Counter()
    emotions: Counter = Counter()
    phones: Counter = Counter()
    items = 0
    for entry in shards:
        shard = read_shard(Path(root) / entry["file"])
        for k, meta in enumerate(shard.meta):
            seconds = float(
                meta.get("duration", (shard.offsets[k + 1] - shard.offsets[k]) / shard.header["fps"])
            )
            hours[entry["split"]] += seconds / 3600
            voices[meta.get("voice", meta.get("source", "?"))] += seconds / 3600
            emotions[meta.get("emotion", "unknown")] += 1
            items += 1
        phones.update(shard.phone_names[k] for k in np.asarray(shard.phone_label).tolist())
    return {
        "items": items,
        "hours": {k: round(v, 4) for k, v in sorted(hours.items())},
        "hours_total": round(sum(hours.values()), 4),
        "voices_hours": {k: round(v, 4) for k, v in sorted(voices.items())},
        "emotions_items": dict(sorted(emotions.items())),
        "phones": dict(sorted(phones.items())),
    }


def write_manifest(root: str | PathLike[str], manifest: dict[str, Any]) -> Path:
    """Write ``manifest.json`` atomically."""
    from emote.io.atomic import atomic_write

    path = Path(root) / MANIFEST
    with atomic_write(path, "w") as f:
        json.dump(manifest, f, indent=1)
    return path


def dataset_features(root: str | PathLike[str]) -> FeatureSettings | None:
    """The feature settings of a dataset's shards (None: no dataset, or no shard yet)."""
    root = Path(root)
    if not (root / MANIFEST).exists():
        return None
    shards = read_manifest(root).get("shards", [])
    if not shards:
        return None
    return FeatureSettings(**read_shard(root / shards[0]["file"]).header["features"])


def read_manifest(root: str | PathLike[str]) -> dict[str, Any]:
    """Read a dataset's ``manifest.json``."""
    path = Path(root) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise file_error(
            FormatError, path, "no dataset manifest here (run `emote data generate` or `emote data import`)"
        ) from None
    except (OSError, json.JSONDecodeError) as err:
        raise file_error(FormatError, path, f"unreadable manifest ({err})") from None
