"""An emotion judge made of rules: which FACS action units a clip shows, and which emotion they make.

The neural engine is trained with an emotion classifier's loss, so that classifier
cannot grade it. This judge has no parameters fitted to anything: it reads action
units (AUs) off the ARKit curves through a fixed map and names the emotion whose
prototype they fill, after the emotion prototypes of Ekman & Friesen's Facial
Action Coding System (Ekman & Friesen 1978, *Facial Action Coding System*;
Friesen & Ekman 1983, *EMFACS-7*; Ekman, Friesen & Hager 2002, *FACS
Investigator's Guide*, the table of emotion predictions):

============  ==========================  =============================================
emotion       required AUs                distinguishing it from its neighbours
============  ==========================  =============================================
happy         6 + 12                      cheek raiser with lip-corner puller
sad           1 + 4 + 15                  inner brows up *and* drawn together, corners down
surprised     1 + 2 + 5                   brows up, lids wide, no AU 4 (26 not required:
                                          the jaw also moves for speech)
fear          1 + 2 + 4 + 5 + 20          surprise's brows and lids plus AU 4 and stretched lips
disgusted     9 + 15 (or 10 for 9)        nose wrinkler / upper-lip raiser
angry         4 + 7 + 23                  lowered brows, tightened lids, tightened lips (5 optional)
contempt      unilateral 12 or 14         one-sided smirk
neutral       none of the above
============  ==========================  =============================================

**AU <- ARKit read-out** (:data:`AU_FROM_ARKIT`): a bilateral AU is the *smaller*
of its left and right channels (the part both sides show, so a one-sided smirk is
not read as a smile); the unilateral ``U12``/``U14`` are the left–right difference
of the smile/dimple pair (either side):
AU1 BrowInnerUp; AU2 BrowOuterUp; AU4 BrowDown; AU5 EyeWide; AU6 CheekSquint;
AU7 EyeSquint; AU9 NoseSneer; AU10 MouthUpperUp; AU12 MouthSmile; AU14
MouthDimple; AU15 MouthFrown; AU20 MouthStretch; AU23 MouthPress.

**Speech vs expression.** Speech moves the lower face all the time (a /p/ presses
the lips, an /ee/ stretches them), an emotion holds its AUs for seconds. A clip's
AU intensity is therefore the *median* of its frames for the upper-face AUs (1–9,
which speech leaves alone) and the *25th percentile* for the lower-face ones, so
that only a held expression counts. An AU is present to the degree
``clip(intensity / PRESENT, 0, 1)``; an emotion's score is the mean presence of its
required AUs minus half the mean presence of the other emotions' AUs it does not
have (fear's AU 4 and 20 keep it from being surprise, surprise's missing AU 4 from
being fear). The clip is labelled with the best-scoring emotion when its score is
at least ``MIN_SCORE``, else neutral.

The rules were written from the literature, not tuned on any output; the
performance layer authors its expressions from the same prototypes
(:mod:`emote.performance.emotions`), so what the judge checks is that an engine's
output shows each emotion's FACS action units clearly enough to be read off the
curves — not that it matches a learned classifier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from emote.animation.channels import INDEX

__all__ = ["AU_FROM_ARKIT", "RULES", "FacsJudgement", "action_units", "judge_emotion"]

# fmt: off
AU_FROM_ARKIT: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "AU1":  ("BrowInnerUp",),
    "AU2":  ("BrowOuterUpLeft", "BrowOuterUpRight"),
    "AU4":  ("BrowDownLeft", "BrowDownRight"),
    "AU5":  ("EyeWideLeft", "EyeWideRight"),
    "AU6":  ("CheekSquintLeft", "CheekSquintRight"),
    "AU7":  ("EyeSquintLeft", "EyeSquintRight"),
    "AU9":  ("NoseSneerLeft", "NoseSneerRight"),
    "AU10": ("MouthUpperUpLeft", "MouthUpperUpRight"),
    "AU12": ("MouthSmileLeft", "MouthSmileRight"),
    "AU14": ("MouthDimpleLeft", "MouthDimpleRight"),
    "AU15": ("MouthFrownLeft", "MouthFrownRight"),
    "AU20": ("MouthStretchLeft", "MouthStretchRight"),
    "AU23": ("MouthPressLeft", "MouthPressRight"),
})
UNILATERAL: Mapping[str, tuple[str, str]] = MappingProxyType({
    "U12": ("MouthSmileRight", "MouthSmileLeft"),   # one-sided lip-corner puller (either side)
    "U14": ("MouthDimpleRight", "MouthDimpleLeft"),  # one-sided dimpler
})
# Each emotion: a tuple of requirements; a requirement is one AU or alternatives ("AU9|AU10").
RULES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "happy":     ("AU6", "AU12"),
    "sad":       ("AU1", "AU4", "AU15"),
    "surprised": ("AU1", "AU2", "AU5"),
    "fear":      ("AU1", "AU2", "AU4", "AU5", "AU20"),
    "disgusted": ("AU9|AU10", "AU15"),
    "angry":     ("AU4", "AU7", "AU23"),
    "contempt":  ("U12|U14",),
})
# fmt: on
UPPER_FACE = frozenset({"AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9"})
PRESENT = 0.15  # ARKit weight of a clearly visible AU (FACS grade B/C of a held expression)
MIN_SCORE = 0.5
LOWER_PERCENTILE = 25.0


def _both(curves: np.ndarray, names: Sequence[str]) -> np.ndarray:
    return curves[:, [INDEX[n] for n in names]].astype(np.float64).min(axis=1)


def action_units(curves: np.ndarray) -> dict[str, float]:
    """Held intensity of each AU over a clip (frames, 61): median (upper face) or 25th percentile (lower face)."""
    curves = np.asarray(curves)
    out: dict[str, float] = {}
    for au, names in AU_FROM_ARKIT.items():
        x = _both(curves, names)
        out[au] = float(np.median(x) if au in UPPER_FACE else np.percentile(x, LOWER_PERCENTILE))
    for au, (a, b) in UNILATERAL.items():
        d = np.abs(curves[:, INDEX[a]].astype(np.float64) - curves[:, INDEX[b]])
        out[au] = float(np.percentile(d, LOWER_PERCENTILE))
    return out


@dataclass(frozen=True)
class FacsJudgement:
    """The judge's verdict on one clip: the label, every emotion's score and the AU intensities."""

    label: str
    scores: dict[str, float]
    aus: dict[str, float]


def _presence(aus: Mapping[str, float], requirement: str) -> float:
    return max(min(aus[a] / PRESENT, 1.0) for a in requirement.split("|"))


def judge_emotion(curves: np.ndarray) -> FacsJudgement:
    """Label a clip's emotion from the FACS action units its curves show (see the module docstring)."""
    aus = action_units(curves)
    every = {a for reqs in RULES.values() for r in reqs for a in r.split("|")}
    scores: dict[str, float] = {}
    for emotion, reqs in RULES.items():
        own = {a for r in reqs for a in r.split("|")}
        shown = float(np.mean([_presence(aus, r) for r in reqs]))
        foreign = [min(aus[a] / PRESENT, 1.0) for a in sorted(every - own)]
        scores[emotion] = shown - 0.5 * float(np.mean(foreign))
    best = max(scores, key=scores.__getitem__)
    return FacsJudgement(best if scores[best] >= MIN_SCORE else "neutral", scores, aus)
