"""Timed phones and words: the interface between phone timings and the engines.

Every source of timings (a TextGrid, a CSV, forced alignment, phone recognition)
produces one :class:`Alignment`: phones that tile the speech, labelled in
ARPAbet without stress digits (``AA AE AH ... ZH``), silence as ``"SIL"``, plus
the words when they are known. :func:`emote.phonetics.labels.normalize_label` maps
what other tools write (``AA1``, ``sil``, ``sp``, IPA from MFA) onto that set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from emote.phonetics.labels import PHONE_SET, SIL, ipa_of

__all__ = ["Alignment", "Phone", "Word"]


@dataclass(frozen=True)
class Phone:
    """One phone: ``start``/``end`` in seconds, ``label`` in ARPAbet, IPA in slashes (``"/ɲ/"``) or ``"SIL"``."""

    start: float
    end: float
    label: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Word:
    """One word: ``start``/``end`` in seconds and its text (lower case)."""

    start: float
    end: float
    label: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Alignment:
    """Phone (and word) timings of one clip.

    Attributes
    ----------
    phones : list[Phone]
        In time order, non-overlapping; labels in :data:`ARPABET`, ``"SIL"``, or IPA in
        slashes (:func:`emote.phonetics.labels.ipa_label`: the multilingual aligner's and
        the recogniser's phones in any language).
        Gaps between phones are silence (sources may or may not spell it out).
    words : list[Word]
        In time order; empty when the source has no words (phone recognition,
        a phone-only CSV).
    source : str
        Where the timings came from: ``"textgrid"``, ``"csv"`` (user files),
        ``"pocketsphinx-align"`` (forced alignment), ``"hama"`` or
        ``"pocketsphinx-allphone"`` (phone recognition).
    warnings : list[str]
        What the source could not do exactly (a word missing from the
        dictionary, a stretch whose words were interpolated); empty when clean.
    """

    phones: list[Phone]
    words: list[Word] = field(default_factory=list)
    source: str = ""
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check_intervals(self.phones, "phone")
        _check_intervals(self.words, "word")
        for p in self.phones:
            if p.label not in PHONE_SET and ipa_of(p.label) is None:
                raise ValueError(
                    f"phone label {p.label!r} at {p.start:.3f} s is not ARPAbet, IPA in slashes or 'SIL'"
                )

    @property
    def duration(self) -> float:
        """End of the last phone or word (s); 0 when empty."""
        ends = [x.end for x in (*self.phones[-1:], *self.words[-1:])]
        return max(ends, default=0.0)

    @property
    def speech(self) -> list[Phone]:
        """The phones that are not silence."""
        return [p for p in self.phones if p.label != SIL]

    def labels(self) -> list[str]:
        """Phone labels in order, silences included."""
        return [p.label for p in self.phones]

    def phone_index(self, times: np.ndarray) -> np.ndarray:
        """Index into :attr:`phones` of the phone covering each time, -1 in gaps.

        Parameters
        ----------
        times : np.ndarray [shape=(n,)]
            Seconds (e.g. frame times ``np.arange(frames) / fps``).

        Returns
        -------
        index : np.ndarray [shape=(n,), dtype=int64]
        """
        times = np.asarray(times, dtype=np.float64)
        if not self.phones:
            return np.full(times.shape, -1, np.int64)
        starts = np.array([p.start for p in self.phones])
        ends = np.array([p.end for p in self.phones])
        idx = np.searchsorted(starts, times, side="right") - 1
        inside = (idx >= 0) & (times < ends[np.clip(idx, 0, None)])
        return np.where(inside, idx, -1).astype(np.int64)

    def shifted(self, offset: float) -> Alignment:
        """The same timings moved by ``offset`` seconds."""
        return replace(
            self,
            phones=[Phone(p.start + offset, p.end + offset, p.label) for p in self.phones],
            words=[Word(w.start + offset, w.end + offset, w.label) for w in self.words],
        )

    @staticmethod
    def concatenate(parts: Sequence[Alignment], *, source: str | None = None) -> Alignment:
        """Join alignments of consecutive stretches (already on one time line)."""
        return Alignment(
            phones=[p for a in parts for p in a.phones],
            words=[w for a in parts for w in a.words],
            source=source if source is not None else (parts[0].source if parts else ""),
            warnings=[m for a in parts for m in a.warnings],
        )


def _check_intervals(items: Sequence[Phone | Word], kind: str) -> None:
    previous_end = -np.inf
    for x in items:
        if not (np.isfinite(x.start) and np.isfinite(x.end) and x.start >= 0 and x.end >= x.start):
            raise ValueError(f"{kind} {x.label!r}: bad interval [{x.start}, {x.end}]")
        if x.start < previous_end - 1e-6:
            raise ValueError(
                f"{kind} {x.label!r} at {x.start:.3f} s overlaps the one before (ends {previous_end:.3f} s)"
            )
        previous_end = x.end
