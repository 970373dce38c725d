"""The phone classes and segments the engines, the training targets and the metrics agree on.

Phones arrive as objects with ``start``, ``end`` (seconds) and ``label``
(:class:`emote.audio.phones.Phone`, or anything shaped like it). Labels are
ARPAbet without stress, silence is ``"SIL"``. Labels from other sources are
tolerated: stress digits are stripped, case is ignored, the usual silence
spellings (``""``, ``sil``, ``sp``, ``spn``, ``pau``, ``<sil>``) become ``SIL``,
and a run-together label such as Montreal Forced Aligner's ``"PT"`` is split
into its phones (``P`` then ``T``, sharing the interval).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from emote.phonetics.features import parse_ipa
from emote.phonetics.labels import SIL, ipa_label, ipa_of
from emote.phonetics.labels import normalize_label as read_label

VOWELS: frozenset[str] = frozenset(
    ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"]
)  # fmt: skip
CONSONANTS: frozenset[str] = frozenset(
    ["B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH", "T", "TH", "V", "W", "Y", "Z", "ZH"]
)  # fmt: skip

# Phone groups named by DESIGN.md's quality metrics.
BILABIALS: frozenset[str] = frozenset({"P", "B", "M"})
LABIODENTALS: frozenset[str] = frozenset({"F", "V"})
OPEN_VOWELS: frozenset[str] = frozenset({"AA", "AE", "AH", "AO", "AW", "AY"})
ROUNDED: frozenset[str] = frozenset({"UW", "OW", "W"})
SPREAD: frozenset[str] = frozenset({"IY", "EY"})

_STRESS = re.compile(r"[0-9]+$")


class PhoneLike(Protocol):
    """Anything with a ``start`` and ``end`` time in seconds and a ``label``."""

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...

    @property
    def label(self) -> str: ...


def normalize_label(label: str, *, keep_ipa: bool = False) -> tuple[str, ...]:
    """Clean one label into ARPAbet phones (usually one; ``()`` never).

    The reading is :func:`emote.phonetics.labels.normalize_label`'s (silence spellings,
    stress, TIMIT symbols, IPA, run-together labels such as ``"PT"``); a label it does
    not know is kept, cleaned, and the engine gives it a neutral viseme. With
    ``keep_ipa``, an IPA label in slashes (:func:`emote.phonetics.labels.ipa_label`)
    stays IPA, one slashed label per phone it spells (``"/tʃa/"`` -> ``("/tʃ/", "/a/")``).

    Examples
    --------
    >>> normalize_label("AA1"), normalize_label("sp"), normalize_label("PT")
    (('AA',), ('SIL',), ('P', 'T'))
    """
    ipa = ipa_of(label.strip()) if keep_ipa else None
    if ipa is not None:
        units = parse_ipa(ipa)
        if units is None:
            return (label.strip(),)
        return tuple(ipa_label(u.symbol) for u in units) or (SIL,)
    phones = read_label(label)
    return tuple(phones) if phones else (_STRESS.sub("", label.strip().upper()),)


@dataclass(frozen=True)
class Segments:
    """Phone intervals after clean-up: sorted, non-overlapping, gaps filled with SIL.

    Attributes
    ----------
    start, end : np.ndarray [shape=(n,), dtype=float64]
        Interval bounds in seconds; ``end[i] == start[i + 1]``.
    labels : tuple[str, ...]
        One ARPAbet label (or ``"SIL"``, or an unknown cleaned label) per interval.
    """

    start: np.ndarray
    end: np.ndarray
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def where(self, group: Iterable[str]) -> np.ndarray:
        """Indices of the intervals whose label is in ``group``."""
        group = frozenset(group)
        return np.array([i for i, lab in enumerate(self.labels) if lab in group], dtype=np.int64)


def to_segments(
    phones: Sequence[PhoneLike], *, duration: float | None = None, keep_ipa: bool = False
) -> Segments:
    """Clean phone timings into :class:`Segments`.

    Labels go through :func:`normalize_label`; a split label shares its
    interval equally. Phones are sorted by start; an overlap is cut at the
    later phone's start; a gap becomes ``SIL``; so do the stretches before the
    first phone (from 0) and after the last (up to ``duration`` when given).

    Parameters
    ----------
    phones : sequence of PhoneLike
        Timed phones, any order.
    duration : float, optional
        Length of the animation in seconds; silence is added up to it.
    keep_ipa : bool
        Keep IPA labels in slashes as IPA (the phonetic engine reads their features);
        otherwise they are folded to ARPAbet like every other label.
    """
    items = sorted(((float(p.start), float(p.end), str(p.label)) for p in phones), key=lambda x: x[0])
    starts: list[float] = []
    ends: list[float] = []
    labels: list[str] = []

    def push(s: float, e: float, lab: str) -> None:
        if e - s <= 1e-9:
            return
        if labels and lab == SIL and labels[-1] == SIL and abs(ends[-1] - s) < 1e-9:
            ends[-1] = e  # merge adjacent silences: one long rest, not several short ones
            return
        starts.append(s)
        ends.append(e)
        labels.append(lab)

    cursor = min(0.0, items[0][0]) if items else 0.0
    for s, e, raw in items:
        s = max(s, cursor)
        if e <= s:
            continue
        if s > cursor + 1e-6:
            push(cursor, s, SIL)
        parts = normalize_label(raw, keep_ipa=keep_ipa)
        step = (e - s) / len(parts)
        for k, lab in enumerate(parts):
            push(s + k * step, s + (k + 1) * step, lab)
        cursor = e
    if duration is not None and duration > cursor + 1e-6:
        push(cursor, float(duration), SIL)
    if not labels:
        push(0.0, max(float(duration or 0.0), 1e-3), SIL)
    return Segments(np.asarray(starts, np.float64), np.asarray(ends, np.float64), tuple(labels))


def frames_in(start: float, end: float, *, fps: float, n_frames: int) -> np.ndarray:
    """Frames sampled inside ``[start, end]``; if none, the frame nearest its middle.

    This is how an interval shorter than a frame period still owns a frame:
    the rule the engine uses to place closures and the metrics use to test them.

    Returns
    -------
    np.ndarray [shape=(k,), dtype=int64]
        Frame indices (``k >= 1`` when the interval overlaps the animation).
    """
    first = int(np.ceil(start * fps - 1e-9))
    last = int(np.floor(end * fps + 1e-9))
    first, last = max(first, 0), min(last, n_frames - 1)
    if first <= last:
        return np.arange(first, last + 1, dtype=np.int64)
    mid = round(0.5 * (start + end) * fps)
    if 0 <= mid < n_frames:
        return np.array([mid], dtype=np.int64)
    return np.zeros(0, dtype=np.int64)
