"""Timed phones and words: the interface between phone timings and the engines.

Every source of timings (a TextGrid, a CSV, forced alignment, phone recognition)
produces one :class:`Alignment`: phones that tile the speech, labelled in
ARPAbet without stress digits (``AA AE AH ... ZH``), silence as ``"SIL"``, plus
the words when they are known. :func:`normalize_label` maps what other tools
write (``AA1``, ``sil``, ``sp``, IPA from MFA) onto that set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from emote.audio.ipa import ipa_to_arpabet

__all__ = [
    "ARPABET",
    "SIL",
    "Alignment",
    "Phone",
    "Word",
    "normalize_label",
]

ARPABET: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH",
    "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V",
    "W", "Y", "Z", "ZH",
)  # fmt: skip
"""The 39 phones of the CMU Pronouncing Dictionary, stress removed."""

SIL = "SIL"
"""The label of silence (and of non-speech: noise, breath, laughter)."""

PHONE_SET = frozenset((*ARPABET, SIL))

# What aligners and corpora write for silence and non-speech. Compared after
# lower-casing and stripping brackets: "<sil>", "[NOISE]", "+SPN+", "{SL}".
_SILENCE = frozenset(
    {"", "sil", "sp", "spn", "sl", "pau", "h#", "#", "silence", "noise", "nsn", "breath", "laugh", "cough",
     "eps", "<eps>", "garbage", "ns", "bg", "epi", "pause", "lg", "ls", "br"}
)  # fmt: skip
_BRACKETS = "<>[]{}+"
# TIMIT/Buckeye and festival's "radio" set extend ARPAbet with reduced and allophonic
# phones; each is realised by the mouth like the CMU phone it maps to.
_EXTENDED = {
    "AX": "AH", "AXH": "AH", "AXR": "ER", "IX": "IH", "UX": "UW", "DX": "T", "NX": "N", "Q": "T",
    "EL": "L", "EM": "M", "EN": "N", "ENG": "NG", "HV": "HH",
}  # fmt: skip
_STRESS = re.compile(r"[012]$")


@dataclass(frozen=True)
class Phone:
    """One phone: ``start``/``end`` in seconds, ``label`` in ARPAbet or ``"SIL"``."""

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
        In time order, non-overlapping; labels in :data:`ARPABET` or ``"SIL"``.
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
            if p.label not in PHONE_SET:
                raise ValueError(f"phone label {p.label!r} at {p.start:.3f} s is not ARPAbet or 'SIL'")

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


def normalize_label(label: str) -> list[str] | None:
    """ARPAbet phones for a phone label as other tools write it, or None if unknown.

    - silence and non-speech (``""``, ``sil``, ``sp``, ``spn``, ``<sil>``, ``+NSN+``,
      ``[NOISE]``...) become ``["SIL"]``;
    - ARPAbet in any case, with or without stress (``AA1``, ``aa``) is itself, and
      the TIMIT/festival extensions map to the CMU phone (``AX`` -> ``AH``, ``DX`` -> ``T``);
    - IPA (MFA's ``english_mfa`` set, espeak, hama) is mapped by
      :func:`emote.audio.ipa.ipa_to_arpabet`;
    - several ARPAbet phones run together (``PT`` in a hand-made tier, a closure and
      release labelled as one) become the list of them, which a reader then splits
      evenly over the interval.

    Examples
    --------
    >>> normalize_label("AA1"), normalize_label("sp"), normalize_label("ɫ"), normalize_label("PT")
    (['AA'], ['SIL'], ['L'], ['P', 'T'])
    """
    text = label.strip()
    if text.strip(_BRACKETS).lower() in _SILENCE or text.upper() == SIL:
        return [SIL]
    arpa = _STRESS.sub("", text).upper()
    if text.isascii() and (arpa in PHONE_SET or arpa in _EXTENDED):
        return [_EXTENDED.get(arpa, arpa)]
    if (text.isascii() and text.isupper()) or (text.isascii() and " " in text):
        split = _split_arpabet(text.upper().split())
        if split is not None:
            return split
    return ipa_to_arpabet(text)


def _split_arpabet(tokens: list[str]) -> list[str] | None:
    """Split run-together ARPAbet ("PT", "NG K") greedily, longest symbol first."""
    out: list[str] = []
    for token in tokens:
        token = re.sub(r"[012]", "", token)
        i = 0
        while i < len(token):
            for size in (2, 1):
                if token[i : i + size] in PHONE_SET:
                    out.append(token[i : i + size])
                    i += size
                    break
            else:
                return None
    return out
