"""Bilabial closures heard in the audio: where the lips are shut for /p b m/, frame by frame.

A lip closure is what a face must never miss, and the phone recogniser
(:mod:`emote.audio.recognize`) misses many: a short /b/ or /m/ between vowels loses
its CTC spike to the blank or the vowel, in some languages on a third of the
bilabials, while the acoustics still show it (the murmur of /m/, the silence and
low, diffuse burst of /p b/, the formants of the neighbouring vowels falling into
a labial). This module reads those acoustics directly: a small network (one hidden layer)
over a ±100 ms window of level-normalised log-mel, of the recogniser's phone
posteriors pooled into nine articulatory groups, and of its network's last hidden
layer (a probe of what the recogniser heard, short of its CTC decision) gives, every 20 ms (the
recogniser's frames), the probability that the lips are closed for a bilabial.

Frame-wise detection of phonetic features from spectral context follows the
landmark and distinctive-feature detectors of K. N. Stevens, "Toward a model for
lexical access based on acoustic landmarks and distinctive features", JASA 111(4),
2002, and of M. Hasegawa-Johnson et al., "Landmark-based speech recognition",
ICASSP 2005 (one binary detector per feature, over a window of spectral frames).

The weights (``bilabial.json``, beside this module, about 120 kilobytes) are learned by
``python -m emote.training.bilabial`` from speech that no benchmark scores:
espeak-ng voice variants in two dozen languages reading the system's translated
program messages, and LJSpeech with forced-aligned phones; the threshold is chosen
on held-out voices, languages and clips (the file records what it was trained on).

:func:`closure_spans` gives the stretches where the lips are closed;
:func:`mark_closures` writes them into a phone sequence: a bilabial already there
is stretched to cover the closure heard, and where there is none one is inserted
(recognition) or nothing is done (a transcript decides which phones exist).
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np

from emote.audio.convert import SAMPLE_RATE
from emote.audio.features import log_mel
from emote.audio.phones import Phone
from emote.phonetics.features import IpaPhone
from emote.phonetics.labels import SIL, ipa_label, normalize_label
from emote.phonetics.phoneset import BILABIALS

__all__ = [
    "GROUPS",
    "ClosureDetector",
    "closure_features",
    "closure_spans",
    "detector",
    "is_bilabial",
    "mark_closures",
    "runs",
]

FRAME = 0.02  # s: the recogniser's frame, and the detector's
N_MELS = 24
# 10 ms log-mel frames either side of the frame judged (±100 ms): a burst lasts about 10 ms.
MEL_CONTEXT = range(-10, 11)
# The recogniser's posteriors come about 60 ms late (its spikes follow the onsets):
# their window leans forward.
POSTERIOR_CONTEXT = range(-3, 7)
# The network's hidden frames (144 wide) every other frame over the same late-leaning span.
ENCODING_CONTEXT = range(-2, 7, 2)
ENCODING_WIDTH = 144
LEVEL_FLOOR = 12.0  # natural-log power units under the speech level where log-mel is clipped
POSTERIOR_FLOOR = 8.0  # log-probabilities under -8 are clipped

GROUPS: tuple[str, ...] = (
    "bilabial", "labiodental", "nasal", "stop", "fricative", "approximant", "rounded vowel", "vowel", "blank",
)  # fmt: skip
"""The articulatory groups the recogniser's phone probabilities are pooled into."""

WIDTH = (
    len(MEL_CONTEXT) * (N_MELS + 1)
    + len(POSTERIOR_CONTEXT) * len(GROUPS)
    + len(ENCODING_CONTEXT) * ENCODING_WIDTH
)
"""Columns of :func:`closure_features`."""


def group_of(phone: IpaPhone) -> int:
    """The :data:`GROUPS` index of one of the recogniser's phones."""
    if phone.vowel:
        return GROUPS.index("rounded vowel" if phone.rounded else "vowel")
    if phone.place == "bilabial":
        return GROUPS.index("bilabial")
    if phone.place == "labiodental":
        return GROUPS.index("labiodental")
    if phone.manner == "nasal":
        return GROUPS.index("nasal")
    if phone.manner in ("stop", "affricate"):
        return GROUPS.index("stop")
    if phone.manner in ("fricative", "lateral-fricative"):
        return GROUPS.index("fricative")
    return GROUPS.index("approximant")


def group_pool(classes: Sequence[IpaPhone]) -> np.ndarray:
    """(classes + blank, groups) matrix: the recogniser's IPA phone columns, then its blank, into :data:`GROUPS`."""
    pool = np.zeros((len(classes) + 1, len(GROUPS)), np.float32)
    for k, phone in enumerate(classes):
        pool[k, group_of(phone)] = 1.0
    pool[len(classes), GROUPS.index("blank")] = 1.0
    return pool


def closure_features(
    y: np.ndarray, ipa_log_probs: np.ndarray, encoding: np.ndarray, pool: np.ndarray
) -> np.ndarray:
    """The detector's input, one row per 20 ms frame of the recogniser.

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
        Mono speech at 16 kHz.
    ipa_log_probs : np.ndarray [shape=(frames, classes + 1)]
        The recogniser's IPA phone log-probabilities and blank
        (:func:`emote.audio.recognize.ipa_posteriors`, or its tokens pooled alike).
    encoding : np.ndarray [shape=(frames, 144)]
        The recogniser network's last hidden layer (:func:`emote.audio.recognize.hama_encoding`).
    pool : np.ndarray [shape=(classes + 1, len(GROUPS))]
        :func:`group_pool` of the recogniser's classes.

    Returns
    -------
    np.ndarray [shape=(frames, WIDTH)]
        Per frame: the window of 10 ms log-mel frames (bands less their mean over the
        speech, and the frame's level under the utterance's loud level) and the window
        of grouped posteriors, divided by 4 so every column is of order 1; then the
        window of the network's hidden frames.
    """
    n = ipa_log_probs.shape[0]
    y = np.asarray(y, np.float32)
    if y.size < 400:
        y = np.pad(y, (0, 400 - y.size))
    mel = _fit(log_mel(y=y, sr=SAMPLE_RATE, n_mels=N_MELS, fmin=50.0, fmax=7600.0), 2 * n)
    level = np.log(np.exp(mel).sum(axis=1) + 1e-10)
    loud = float(np.percentile(level, 95))
    speech = level > loud - LEVEL_FLOOR / 2
    shape = mel - (mel[speech].mean(axis=0) if speech.any() else mel.mean(axis=0))
    relative = np.maximum(level - loud, -LEVEL_FLOOR)[:, None]
    spectral = np.concatenate([np.clip(shape, -LEVEL_FLOOR, LEVEL_FLOOR), relative], axis=1) / 4.0
    grouped = np.log(np.maximum(np.exp(ipa_log_probs) @ pool, 1e-10))
    grouped = np.maximum(grouped, -POSTERIOR_FLOOR) / 4.0
    hidden = np.clip(_fit(np.asarray(encoding, np.float32), n), -10.0, 10.0)
    return np.concatenate(
        [
            _window(spectral, MEL_CONTEXT, n, stride=2),
            _window(grouped, POSTERIOR_CONTEXT, n),
            _window(hidden, ENCODING_CONTEXT, n),
        ],
        axis=1,
    )


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` with exactly ``n`` rows: cut, or the last row repeated."""
    if x.shape[0] >= n:
        return x[:n]
    return np.concatenate([x, np.repeat(x[-1:], n - x.shape[0], axis=0)])


def _window(x: np.ndarray, offsets: range, n: int, *, stride: int = 1) -> np.ndarray:
    """For ``t < n``: rows ``stride * t + o`` of ``x`` for every offset, side by side (edges repeat)."""
    idx = np.clip(stride * np.arange(n)[:, None] + np.array(offsets)[None, :], 0, x.shape[0] - 1)
    return x[idx].reshape(n, -1)


@dataclass(frozen=True)
class ClosureDetector:
    """A small network from :func:`closure_features` to P(lips closed for a bilabial).

    ``layers`` are (weights [in, out], bias [out]) pairs: rectified-linear hidden layers,
    then one output unit and a logistic; with a single pair it is a logistic regression.

    Attributes
    ----------
    layers : tuple of (np.ndarray, np.ndarray)
    threshold : float
        Probability from which a frame counts as closed (chosen on held-out speech).
    """

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    threshold: float

    @property
    def width(self) -> int:
        """Feature columns read."""
        return self.layers[0][0].shape[0]

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(closed) per row of ``features`` [shape=(frames, features)]."""
        if features.ndim != 2 or features.shape[1] != self.width:
            raise ValueError(f"expected {self.width} feature columns, got shape {features.shape}")
        h = np.asarray(features, np.float32)
        for k, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if k + 1 < len(self.layers):
                h = np.maximum(h, 0.0)
        return 1.0 / (1.0 + np.exp(-np.clip(h[:, 0], -30.0, 30.0)))

    @classmethod
    def from_json(cls, data: dict) -> ClosureDetector:
        """Read the dictionary :meth:`to_json` writes."""
        if data.get("format") != "emote-bilabial-detector":
            raise ValueError("not an emote bilabial detector")
        layers = tuple((_unpack(w), _unpack(b)) for w, b in data["layers"])
        return cls(layers, float(data["threshold"]))

    def to_json(self, **provenance: object) -> dict:
        """The detector as a JSON-ready dictionary (weights as base64 float16), with what it was trained on."""
        return {
            "format": "emote-bilabial-detector",
            "features": {
                "n_mels": N_MELS,
                "mel_context_10ms": [MEL_CONTEXT.start, MEL_CONTEXT.stop - 1],
                "posterior_context_20ms": [POSTERIOR_CONTEXT.start, POSTERIOR_CONTEXT.stop - 1],
                "encoding_context_20ms": list(ENCODING_CONTEXT),
                "groups": list(GROUPS),
            },
            "threshold": round(self.threshold, 4),
            **provenance,
            "layers": [[_pack(w), _pack(b)] for w, b in self.layers],
        }


def _pack(a: np.ndarray) -> dict:
    return {"shape": list(a.shape), "float16": base64.b64encode(a.astype("<f2").tobytes()).decode()}


def _unpack(d: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(d["float16"]), "<f2").astype(np.float32).reshape(d["shape"])


@functools.lru_cache(maxsize=1)
def detector() -> ClosureDetector:
    """The shipped detector (``emote/audio/bilabial.json``)."""
    data = json.loads(resources.files("emote.audio").joinpath("bilabial.json").read_text())
    return ClosureDetector.from_json(data)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(first, stop)`` frame indices of each run of True in ``mask`` (``stop`` exclusive)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def closure_spans(
    probability: np.ndarray, threshold: float, *, offset: float = 0.0
) -> list[tuple[float, float]]:
    """(start, end) in seconds of each run of frames at or above ``threshold``.

    Frame ``k`` stands for ``[k - 1/2, k + 1/2] * 20 ms`` (+ ``offset``).
    """
    return [
        (offset + max(a - 0.5, 0.0) * FRAME, offset + (b - 0.5) * FRAME)
        for a, b in runs(probability >= threshold)
    ]


def is_bilabial(label: str) -> bool:
    """A phone label (ARPAbet or IPA) that the lips close for."""
    return any(p in BILABIALS for p in normalize_label(label) or [])


def mark_closures(
    phones: Sequence[Phone],
    spans: Sequence[tuple[float, float]],
    *,
    insert: bool,
    label: str = ipa_label("b"),
) -> list[Phone]:
    """``phones`` with each closure span covered by a bilabial.

    A bilabial that overlaps the span (or touches it within 20 ms) is stretched over
    it, taking at most half of each neighbour (every phone stays); without one, with
    ``insert``, a bilabial ``label`` is put there, and the phones it covers lose that
    time (one covered entirely goes). The result tiles the same stretch. A span in
    silence more than 40 ms from any phone is left alone: closed lips at rest need no phone.
    """
    out = list(phones)
    for a, b in spans:
        near = [i for i, p in enumerate(out) if p.end > a - FRAME and p.start < b + FRAME]
        # A closure just before speech is that speech's first stop (its hold is silent);
        # one further from any phone is the lips at rest.
        if not any(p.label != SIL and p.end > a - 2 * FRAME and p.start < b + 2 * FRAME for p in out):
            continue
        own = [i for i in near if is_bilabial(out[i].label)]
        if own:
            i = min(own, key=lambda k: abs(0.5 * (out[k].start + out[k].end) - 0.5 * (a + b)))
            _stretch(out, i, a, b)
        elif insert:
            # A hold in the silence before speech runs up to the speech.
            b = min([p.start for p in out if p.label != SIL and b <= p.start < b + 2 * FRAME], default=b)
            out = _place(out, Phone(a, b, label))
    return out


def _stretch(phones: list[Phone], i: int, a: float, b: float) -> None:
    """Stretch ``phones[i]`` over ``[a, b]`` in place, into at most half of each neighbour."""
    p = phones[i]
    start, end = min(p.start, a), max(p.end, b)
    if i > 0:
        prev = phones[i - 1]
        start = max(start, 0.5 * (prev.start + prev.end))
        phones[i - 1] = Phone(prev.start, min(prev.end, start), prev.label)
    if i + 1 < len(phones):
        after = phones[i + 1]
        end = min(end, 0.5 * (after.start + after.end))
        phones[i + 1] = Phone(max(after.start, end), after.end, after.label)
    phones[i] = Phone(start, end, p.label)


def _place(phones: list[Phone], new: Phone) -> list[Phone]:
    """``phones`` with ``new`` laid over them (sorted; overlapped phones cut, or split, or dropped)."""
    out: list[Phone] = []
    for p in phones:
        if p.end <= new.start or p.start >= new.end:
            out.append(p)
            continue
        if p.start < new.start:
            out.append(Phone(p.start, new.start, p.label))
        if p.end > new.end:
            out.append(Phone(new.end, p.end, p.label))
    out.append(new)
    return sorted((p for p in out if p.end - p.start > 1e-6), key=lambda p: p.start)
