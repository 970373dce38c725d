"""Visemes: the mouth target of every phone class, and how strongly it holds it.

A viseme is a target in a small *articulatory* space whose axes are ARKit
mouth/jaw blendshapes with the left/right pairs merged (``PARAMS``); one axis,
``seal``, is not a blendshape but the fraction of the jaw opening that the lips
close over: ARKit's ``MouthClose`` means "lips together while the jaw is open",
so lips that meet need ``MouthClose == JawOpen`` whatever the jaw does, and the
engine writes ``MouthClose = seal * JawOpen``. :func:`to_arkit` makes the
(frames, 61) curves.

Each viseme also carries its Cohen–Massaro dominance: a magnitude per
parameter *group* (``jaw``; ``lips``: closure, aperture and lip raising;
``shape``: rounding and spreading) and the time constants of its anticipatory
and carry-over decay. Consonants made by the tongue (t d n k g l h) have small
lip and shape dominance, so the lips take the neighbouring vowels' shape
(the /k/ of "key" is spread, of "coo" rounded); bilabials and labiodentals
have a lip dominance far above everyone's, so their closure is not undershot;
sibilants hold the jaw nearly shut; rounding anticipates over several
consonants (long anticipatory constant of /uw w/).

Target values are authored by eye against Live Link Face captures' typical
ranges: a loud /aa/ opens the jaw to about 0.45 (≈ 14 mm of lip gap on
:func:`emote.eval.lip_gap_proxy`), /iy/ about 0.12; ``TongueOut`` stays 0.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from emote.animation.channels import N_CHANNELS, index
from emote.phonetics.features import IpaPhone, parse_ipa
from emote.phonetics.labels import SIL
from emote.phonetics.marks import BILABIAL_PRESS, LABIODENTAL_ROLL

# Articulatory parameters (blended by the dominance pass), and their ARKit channels.
PARAMS: tuple[str, ...] = (
    "jaw", "seal", "press", "funnel", "pucker", "stretch", "smile",
    "lower_down", "upper_up", "roll_lower", "roll_upper", "shrug_lower", "shrug_upper",
)  # fmt: skip
P: dict[str, int] = {name: i for i, name in enumerate(PARAMS)}

# Dominance groups: which magnitude of a viseme applies to which parameter.
GROUPS: tuple[str, ...] = ("jaw", "lips", "shape")
PARAM_GROUP: tuple[int, ...] = tuple(
    0 if p == "jaw" else 2 if p in ("pucker", "stretch", "smile") else 1 for p in PARAMS
)

# Parameters that open the lips or show the teeth: speech energy scales them,
# a closure forces them to 0.
OPENING_PARAMS: tuple[str, ...] = ("lower_down", "upper_up", "funnel")

_ARKIT: dict[str, tuple[str, ...]] = {
    "jaw": ("JawOpen",),
    "press": ("MouthPressLeft", "MouthPressRight"),
    "funnel": ("MouthFunnel",),
    "pucker": ("MouthPucker",),
    "stretch": ("MouthStretchLeft", "MouthStretchRight"),
    "smile": ("MouthSmileLeft", "MouthSmileRight"),
    "lower_down": ("MouthLowerDownLeft", "MouthLowerDownRight"),
    "upper_up": ("MouthUpperUpLeft", "MouthUpperUpRight"),
    "roll_lower": ("MouthRollLower",),
    "roll_upper": ("MouthRollUpper",),
    "shrug_lower": ("MouthShrugLower",),
    "shrug_upper": ("MouthShrugUpper",),
}


@dataclass(frozen=True)
class Viseme:
    """A mouth target and its dominance.

    Attributes
    ----------
    targets : mapping of parameter name to weight in [0, 1]
        Unnamed parameters are 0.
    jaw, lips, shape : float
        Dominance magnitude (Cohen & Massaro's alpha) of each parameter group.
    anticipation, carryover : float
        Time constants in seconds of the dominance decay before and after the
        phone (Cohen & Massaro's 1/theta, left and right).
    lock : bool
        The lips must reach this target (bilabial closure, labiodental contact):
        the closure pass enforces it on the phone's frames.
    """

    targets: MappingProxyType
    jaw: float = 1.0
    lips: float = 1.0
    shape: float = 1.0
    anticipation: float = 0.06
    carryover: float = 0.05
    lock: bool = False
    vector: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        vec = np.zeros(len(PARAMS), np.float64)
        for name, value in self.targets.items():
            vec[P[name]] = value
        object.__setattr__(self, "vector", vec)


def _v(targets: dict[str, float], **kw: float | bool) -> Viseme:
    return Viseme(MappingProxyType(targets), **kw)  # type: ignore[arg-type]


# fmt: off
VISEMES: MappingProxyType = MappingProxyType({
    # Silence: relaxed, lips lightly together, teeth a little apart.
    SIL:  _v({"jaw": 0.03, "seal": 1.0}, jaw=0.8, lips=0.8, shape=0.8, anticipation=0.05, carryover=0.06),
    # Bilabial stop/nasal: lips sealed and pressed; rounding may come from neighbours ("boo").
    "PBM": _v({"jaw": 0.05, "seal": 1.0, "press": BILABIAL_PRESS},
              jaw=1.0, lips=3.0, shape=0.4, anticipation=0.025, carryover=0.02, lock=True),
    # Labiodental: lower lip rolled in under the upper teeth, upper lip slightly raised.
    "FV":  _v({"jaw": 0.07, "seal": 0.5, "roll_lower": LABIODENTAL_ROLL, "upper_up": 0.12, "shrug_lower": 0.2},
              jaw=1.0, lips=3.0, shape=0.5, anticipation=0.025, carryover=0.02, lock=True),
    # Dental fricatives: tongue tip between the teeth (TongueOut left at 0), lips slightly parted.
    "TH":  _v({"jaw": 0.12, "lower_down": 0.15}, jaw=0.7, lips=0.5, shape=0.3),
    # Alveolar stops, nasal, lateral: tongue articulation, lips follow the vowels.
    "TDN": _v({"jaw": 0.14, "lower_down": 0.1}, jaw=0.5, lips=0.3, shape=0.2),
    "L":   _v({"jaw": 0.2, "lower_down": 0.1}, jaw=0.4, lips=0.3, shape=0.2),
    # Sibilants: teeth nearly together (the jaw is held), lips a little apart and spread.
    "SZ":  _v({"jaw": 0.06, "stretch": 0.2, "lower_down": 0.15, "upper_up": 0.1},
              jaw=1.2, lips=0.5, shape=0.4),
    # Post-alveolars: lips protruded and flared.
    "SH":  _v({"jaw": 0.08, "funnel": 0.5, "pucker": 0.25, "upper_up": 0.1},
              jaw=1.0, lips=2.0, shape=2.0, anticipation=0.08),
    # Velars and /h/: almost no lip target of their own.
    "KG":  _v({"jaw": 0.15}, jaw=0.4, lips=0.2, shape=0.2),
    "HH":  _v({"jaw": 0.25}, jaw=0.15, lips=0.1, shape=0.1),
    # Approximants.
    "R":   _v({"jaw": 0.12, "pucker": 0.35, "funnel": 0.25}, jaw=0.5, lips=1.0, shape=1.2),
    "W":   _v({"jaw": 0.08, "pucker": 0.8, "funnel": 0.3},
              jaw=0.8, lips=2.5, shape=4.0, anticipation=0.12, carryover=0.06),
    "Y":   _v({"jaw": 0.1, "stretch": 0.3, "smile": 0.2}, jaw=0.6, lips=0.6, shape=0.8),
    # Vowels: the jaw carries openness, the lips rounding or spreading.
    "AA":  _v({"jaw": 0.45, "lower_down": 0.25, "upper_up": 0.1}, jaw=1.0, lips=0.7, shape=0.5),
    "AE":  _v({"jaw": 0.38, "stretch": 0.3, "lower_down": 0.25, "upper_up": 0.2}, jaw=1.0, lips=0.7, shape=0.7),
    "AH":  _v({"jaw": 0.32, "lower_down": 0.15}, jaw=0.9, lips=0.5, shape=0.4),
    "AO":  _v({"jaw": 0.38, "funnel": 0.35, "pucker": 0.15}, jaw=1.0, lips=0.8, shape=1.0),
    "O":   _v({"jaw": 0.3, "funnel": 0.5, "pucker": 0.3}, jaw=1.0, lips=1.0, shape=1.5, anticipation=0.1),
    "EH":  _v({"jaw": 0.3, "stretch": 0.25, "lower_down": 0.2, "upper_up": 0.1}, jaw=0.9, lips=0.6, shape=0.7),
    "ER":  _v({"jaw": 0.16, "funnel": 0.3, "pucker": 0.3}, jaw=0.7, lips=0.8, shape=1.0),
    "IH":  _v({"jaw": 0.18, "stretch": 0.3, "smile": 0.12, "lower_down": 0.15}, jaw=0.8, lips=0.6, shape=0.7),
    "IY":  _v({"jaw": 0.12, "stretch": 0.4, "smile": 0.3, "lower_down": 0.1, "upper_up": 0.1},
              jaw=0.9, lips=0.8, shape=1.2),
    "UH":  _v({"jaw": 0.2, "pucker": 0.4, "funnel": 0.3}, jaw=0.8, lips=0.8, shape=1.5, anticipation=0.1),
    "UW":  _v({"jaw": 0.12, "pucker": 0.75, "funnel": 0.35},
              jaw=0.9, lips=1.5, shape=3.0, anticipation=0.15, carryover=0.07),
    # A label the engine does not know: a half-open neutral mouth that follows its neighbours.
    "?":   _v({"jaw": 0.15}, jaw=0.3, lips=0.2, shape=0.2),
})

# Phone → (viseme, share of the phone's duration), in order. Diphthongs glide between two.
PHONE_VISEMES: MappingProxyType = MappingProxyType({
    SIL: ((SIL, 1.0),),
    "P": (("PBM", 1.0),), "B": (("PBM", 1.0),), "M": (("PBM", 1.0),),
    "F": (("FV", 1.0),), "V": (("FV", 1.0),),
    "TH": (("TH", 1.0),), "DH": (("TH", 1.0),),
    "T": (("TDN", 1.0),), "D": (("TDN", 1.0),), "N": (("TDN", 1.0),), "L": (("L", 1.0),),
    "S": (("SZ", 1.0),), "Z": (("SZ", 1.0),),
    "SH": (("SH", 1.0),), "ZH": (("SH", 1.0),), "CH": (("SH", 1.0),), "JH": (("SH", 1.0),),
    "K": (("KG", 1.0),), "G": (("KG", 1.0),), "NG": (("KG", 1.0),), "HH": (("HH", 1.0),),
    "R": (("R", 1.0),), "W": (("W", 1.0),), "Y": (("Y", 1.0),),
    "AA": (("AA", 1.0),), "AE": (("AE", 1.0),), "AH": (("AH", 1.0),), "AO": (("AO", 1.0),),
    "EH": (("EH", 1.0),), "ER": (("ER", 1.0),), "IH": (("IH", 1.0),), "IY": (("IY", 1.0),),
    "UH": (("UH", 1.0),), "UW": (("UW", 1.0),),
    "AW": (("AA", 0.55), ("UH", 0.45)), "AY": (("AA", 0.55), ("IH", 0.45)),
    "EY": (("EH", 0.5), ("IY", 0.5)), "OW": (("O", 0.6), ("UH", 0.4)),
    "OY": (("AO", 0.5), ("IY", 0.5)),
})
# fmt: on

VISEME_NAMES: tuple[str, ...] = tuple(VISEMES)
VISEME_INDEX: dict[str, int] = {name: i for i, name in enumerate(VISEME_NAMES)}


@dataclass(frozen=True)
class VisemeTable:
    """Per-viseme arrays for the vectorised passes; a segment's viseme is a row index.

    Attributes
    ----------
    targets, dominance : np.ndarray [shape=(visemes, params)]
    anticipation, carryover : np.ndarray [shape=(visemes,)]
    locks : np.ndarray [shape=(visemes,), dtype=bool]
    """

    targets: np.ndarray
    dominance: np.ndarray
    anticipation: np.ndarray
    carryover: np.ndarray
    locks: np.ndarray

    @classmethod
    def of(cls, visemes: Sequence[Viseme]) -> VisemeTable:
        return cls(
            targets=np.stack([v.vector for v in visemes]),
            dominance=np.array([[(v.jaw, v.lips, v.shape)[g] for g in PARAM_GROUP] for v in visemes]),
            anticipation=np.array([v.anticipation for v in visemes]),
            carryover=np.array([v.carryover for v in visemes]),
            locks=np.array([v.lock for v in visemes]),
        )


BASE_TABLE: VisemeTable = VisemeTable.of(list(VISEMES.values()))
"""The named visemes, rows in :data:`VISEME_NAMES` order; a call with IPA phones appends its own."""

# The base table's arrays, by their historical names.
TARGETS: np.ndarray = BASE_TABLE.targets  # (visemes, params)
DOMINANCE: np.ndarray = BASE_TABLE.dominance  # (visemes, params)
ANTICIPATION: np.ndarray = BASE_TABLE.anticipation
CARRYOVER: np.ndarray = BASE_TABLE.carryover
LOCKS: np.ndarray = BASE_TABLE.locks

REST_JAW: float = VISEMES[SIL].targets["jaw"]


def phone_visemes(label: str) -> tuple[tuple[str, float], ...]:
    """The viseme(s) of a normalised ARPAbet phone label; unknown labels get ``"?"``."""
    return PHONE_VISEMES.get(label, (("?", 1.0),))


# -- any phone of any language: visemes by rule from articulatory features ----------------------
#
# English is the special case: an ARPAbet label takes its authored viseme above. An IPA
# phone (emote.phonetics.features) takes one by rule: consonants by place and manner onto
# the consonant classes above (so an English consonant written in IPA lands on its
# ARPAbet class, tests/test_languages.py checks it), labialisation adding /w/'s rounding;
# vowels anywhere on the IPA chart by interpolating the English vowels placed on it:
# the jaw and lip aperture follow openness and backness over all of them, the lip shape
# (rounding, spreading) over those of the same rounding. A vowel on an English vowel's
# spot gets exactly that vowel.

# The English vowel visemes at their place on the IPA chart: (openness, backness, rounded).
_VOWEL_ANCHORS: dict[str, tuple[float, float, bool]] = {
    "IY": (0.0, 0.0, False), "IH": (1 / 6, 0.15, False), "EH": (2 / 3, 0.0, False),
    "AE": (5 / 6, 0.0, False), "AH": (2 / 3, 1.0, False), "AA": (1.0, 1.0, False),
    "UW": (0.0, 1.0, True), "UH": (1 / 6, 0.85, True), "O": (1 / 3, 1.0, True), "AO": (2 / 3, 1.0, True),
}  # fmt: skip
_APERTURE = ("jaw", "lower_down", "upper_up", "seal")
_BACKNESS_WEIGHT = 0.5  # backness moves the jaw less than openness does


def _consonant_class(ph: IpaPhone) -> str:
    """The consonant viseme of a place and manner of articulation."""
    place, manner = ph.place, ph.manner
    if place in ("labial-velar", "labial-palatal"):
        return "W"
    if place == "bilabial":
        return "PBM"
    if place == "labiodental":
        return "FV"
    if manner in ("lateral", "lateral-fricative"):
        return "L"
    if place == "dental":
        return "TH" if manner == "fricative" else "TDN"
    if ph.sibilant:
        return "SH" if place in ("postalveolar", "retroflex") else "SZ"
    if manner == "approximant" and place in ("postalveolar", "retroflex", "alveolar"):
        return "R"
    if place in ("alveolar", "postalveolar", "retroflex"):
        return "TDN"
    if place == "palatal":
        return "TDN" if manner == "nasal" else "Y" if manner in ("approximant", "fricative") else "KG"
    if place in ("velar", "uvular"):
        return "KG"
    return "HH"  # pharyngeal, glottal


def _vowel_viseme(ph: IpaPhone) -> Viseme:
    if ph.rhotic:
        return VISEMES["ER"]
    for name, (openness, backness, rounded) in _VOWEL_ANCHORS.items():
        if (openness, backness, rounded) == (ph.openness, ph.backness, ph.rounded):
            return VISEMES[name]

    # Aperture: piecewise linear in openness through the anchors (those at one height averaged).
    levels = sorted({o for o, _, _ in _VOWEL_ANCHORS.values()})
    at = {lv: [n for n, (o, _, _) in _VOWEL_ANCHORS.items() if o == lv] for lv in levels}
    # Lip shape: Shepard's inverse squared distance over the anchors of the same rounding.
    alike = [n for n, (_, _, r) in _VOWEL_ANCHORS.items() if r == ph.rounded]
    d2 = np.array([
        (ph.openness - _VOWEL_ANCHORS[n][0]) ** 2 + (_BACKNESS_WEIGHT * (ph.backness - _VOWEL_ANCHORS[n][1])) ** 2
        for n in alike
    ])  # fmt: skip
    w_alike = 1.0 / np.maximum(d2, 1e-9)
    w_alike /= w_alike.sum()
    targets = {}
    for p in PARAMS:
        if p in _APERTURE:
            ys = [np.mean([VISEMES[n].vector[P[p]] for n in at[lv]]) for lv in levels]
            value = float(np.interp(ph.openness, levels, ys))
        else:
            value = float(sum(wk * VISEMES[n].vector[P[p]] for n, wk in zip(alike, w_alike, strict=True)))
        if value > 1e-6:
            targets[p] = value
    mix = {k: float(sum(wk * getattr(VISEMES[n], k) for n, wk in zip(alike, w_alike, strict=True)))
           for k in ("jaw", "lips", "shape", "anticipation", "carryover")}  # fmt: skip
    return Viseme(MappingProxyType(targets), **mix)


def _labialised(v: Viseme) -> Viseme:
    """A consonant with /w/'s rounding added (``kʷ``, ``sʷ``); closures keep theirs."""
    rounding = VISEMES["W"].targets
    targets = dict(v.targets)
    for p in ("pucker", "funnel"):
        targets[p] = max(targets.get(p, 0.0), 0.8 * rounding[p])
    return Viseme(MappingProxyType(targets), v.jaw, v.lips, max(v.shape, 2.0),
                  max(v.anticipation, 0.08), v.carryover, v.lock)  # fmt: skip


@functools.lru_cache(maxsize=4096)
def ipa_viseme(ph: IpaPhone) -> Viseme:
    """The viseme of one IPA phone, derived from its articulatory features by rule."""
    if ph.vowel:
        return _vowel_viseme(ph)
    name = _consonant_class(ph)
    v = VISEMES[name]
    if ph.rounded and name not in ("W", "PBM"):
        return _labialised(v)
    return v


def ipa_visemes(ipa: str) -> tuple[tuple[Viseme, float], ...]:
    """The visemes of an IPA label (one per phone it spells, sharing its time), unknown -> ``"?"``.

    Examples
    --------
    >>> [v is VISEMES["PBM"] for v, _ in ipa_visemes("mˈa")]
    [True, False]
    """
    phones = parse_ipa(ipa)
    if not phones:
        return ((VISEMES["?"], 1.0),)
    return tuple((ipa_viseme(ph), 1.0 / len(phones)) for ph in phones)


def to_arkit(params: np.ndarray) -> np.ndarray:
    """Articulatory parameters to canonical curves with only mouth/jaw channels set.

    Parameters
    ----------
    params : np.ndarray [shape=(frames, len(PARAMS))]

    Returns
    -------
    np.ndarray [shape=(frames, 61), dtype=float32]
        ``MouthClose = seal * JawOpen``; every other parameter copied to its
        ARKit channel(s), left and right alike; all clipped to [0, 1].
    """
    params = np.clip(params, 0.0, 1.0)
    curves = np.zeros((params.shape[0], N_CHANNELS), np.float32)
    for name, channels in _ARKIT.items():
        for ch in channels:
            curves[:, index(ch)] = params[:, P[name]]
    curves[:, index("MouthClose")] = params[:, P["seal"]] * params[:, P["jaw"]]
    return curves
