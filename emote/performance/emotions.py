"""The eight emotions as ARKit expressions built from FACS action units.

Each emotion is a prototype of action units (AUs) with intensities, after
Ekman & Friesen's EMFACS prototypes (Friesen & Ekman 1983, "EMFACS-7:
Emotional Facial Action Coding System"; Ekman, Friesen & Hager 2002, *Facial
Action Coding System: Investigator's Guide*):

============  =======================================  ============================
emotion       AU prototype                             authored intensities
============  =======================================  ============================
neutral       —                                        —
happy         6 + 12                                   AU6 0.7, AU12 0.9
sad           1 + 4 + 15 (+ 17)                        1: 0.8, 4: 0.5, 15: 0.7, 17: 0.3
surprised     1 + 2 + 5 + 26                           1: 0.8, 2: 0.8, 5: 0.6, 26: 0.35
fear          1 + 2 + 4 + 5 + 7 + 20 + 26              0.8, 0.5, 0.5, 0.7, 0.3, 0.6, 0.2
disgusted     9 + 15 + 16                              9: 0.8, 15: 0.5, 16: 0.35
angry         4 + 5 + 7 + 23                           4: 0.9, 5: 0.35, 7: 0.6, 23: 0.6
contempt      R12A + R14A (unilateral) + R6 trace      R12: 0.35, R14: 0.6, R6: 0.3
============  =======================================  ============================

Intensities correspond to FACS grades (A trace ≈ 0.2 … E maximum ≈ 1.0) of a
clear, posed expression at emotion intensity 1 (MEAD's strongest level);
contempt's "A" (trace) grades are raised to be visible on a blendshape rig, and
a trace of the cheek raiser on the smirk's side (R6) is added: a one-sided AU12
draws the cheek up with it, and without it contempt would be the one emotion
with no sign at all in the upper face (AUs 1–7), where the neural engine's
emotion classifier looks.
``R`` is the subject's right side: ARKit's ``…Right`` shapes.

An AU becomes ARKit weights through :data:`AU_TO_ARKIT`; an emotion's
expression is ``sum_AU intensity_AU * AU_TO_ARKIT[AU]`` (clipped to [0, 1]).
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from emote.animation.channels import N_CHANNELS, index
from emote.errors import EmotionError

EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "surprised", "fear", "disgusted", "angry", "contempt")

ALIASES: MappingProxyType = MappingProxyType(
    {
        "calm": "neutral",
        "none": "neutral",
        "happiness": "happy",
        "joy": "happy",
        "sadness": "sad",
        "surprise": "surprised",
        "fearful": "fear",
        "afraid": "fear",
        "scared": "fear",
        "disgust": "disgusted",
        "anger": "angry",
        "contemptuous": "contempt",
    }
)

# fmt: off
# Action unit → ARKit weights at full (E) intensity. "L"/"R" prefixed AUs are one side only.
AU_TO_ARKIT: MappingProxyType = MappingProxyType({
    "AU1":  {"BrowInnerUp": 1.0},                                         # inner brow raiser
    "AU2":  {"BrowOuterUpLeft": 1.0, "BrowOuterUpRight": 1.0},            # outer brow raiser
    "AU4":  {"BrowDownLeft": 1.0, "BrowDownRight": 1.0},                  # brow lowerer
    "AU5":  {"EyeWideLeft": 1.0, "EyeWideRight": 1.0},                    # upper lid raiser
    "AU6":  {"CheekSquintLeft": 1.0, "CheekSquintRight": 1.0,             # cheek raiser (orbicularis oculi)
             "EyeSquintLeft": 0.3, "EyeSquintRight": 0.3},
    "AU7":  {"EyeSquintLeft": 1.0, "EyeSquintRight": 1.0},                # lid tightener
    "AU9":  {"NoseSneerLeft": 1.0, "NoseSneerRight": 1.0,                 # nose wrinkler (lifts the upper lip too)
             "MouthUpperUpLeft": 0.3, "MouthUpperUpRight": 0.3},
    "AU10": {"MouthUpperUpLeft": 1.0, "MouthUpperUpRight": 1.0},          # upper lip raiser
    "AU12": {"MouthSmileLeft": 1.0, "MouthSmileRight": 1.0},              # lip corner puller
    "AU14": {"MouthDimpleLeft": 1.0, "MouthDimpleRight": 1.0},            # dimpler
    "AU15": {"MouthFrownLeft": 1.0, "MouthFrownRight": 1.0},              # lip corner depressor
    "AU16": {"MouthLowerDownLeft": 1.0, "MouthLowerDownRight": 1.0},      # lower lip depressor
    "AU17": {"MouthShrugLower": 1.0},                                     # chin raiser
    "AU20": {"MouthStretchLeft": 1.0, "MouthStretchRight": 1.0},          # lip stretcher
    "AU23": {"MouthPressLeft": 1.0, "MouthPressRight": 1.0},              # lip tightener
    "AU24": {"MouthPressLeft": 1.0, "MouthPressRight": 1.0,               # lip pressor
             "MouthRollUpper": 0.2, "MouthRollLower": 0.2},
    "AU26": {"JawOpen": 1.0},                                             # jaw drop
    "AU27": {"JawOpen": 1.0, "MouthStretchLeft": 0.4, "MouthStretchRight": 0.4},  # mouth stretch
    "R12":  {"MouthSmileRight": 1.0},
    "R14":  {"MouthDimpleRight": 1.0},
    "R6":   {"CheekSquintRight": 1.0, "EyeSquintRight": 0.3},
})

PROTOTYPES: MappingProxyType = MappingProxyType({
    "neutral":   {},
    "happy":     {"AU6": 0.7, "AU12": 0.9},
    "sad":       {"AU1": 0.8, "AU4": 0.5, "AU15": 0.7, "AU17": 0.3},
    "surprised": {"AU1": 0.8, "AU2": 0.8, "AU5": 0.6, "AU26": 0.35},
    "fear":      {"AU1": 0.8, "AU2": 0.5, "AU4": 0.5, "AU5": 0.7, "AU7": 0.3, "AU20": 0.6, "AU26": 0.2},
    "disgusted": {"AU9": 0.8, "AU15": 0.5, "AU16": 0.35},
    "angry":     {"AU4": 0.9, "AU5": 0.35, "AU7": 0.6, "AU23": 0.6},
    "contempt":  {"R12": 0.35, "R14": 0.6, "R6": 0.3},
})
# fmt: on


def resolve_emotion(name: str) -> str:
    """The canonical emotion name for ``name`` (case-insensitive, aliases allowed).

    Raises
    ------
    EmotionError
        For an unknown name, listing the valid ones.

    Examples
    --------
    >>> resolve_emotion("Surprise"), resolve_emotion("anger")
    ('surprised', 'angry')
    """
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in EMOTIONS:
        raise EmotionError(f"unknown emotion {name!r}; choose one of {', '.join(EMOTIONS)}")
    return key


def au_expression(aus: dict[str, float]) -> np.ndarray:
    """Canonical curves of a combination of action units.

    Parameters
    ----------
    aus : dict of AU name (``"AU12"``, ``"R14"``) to intensity in [0, 1]

    Returns
    -------
    np.ndarray [shape=(61,), dtype=float32]
        Blendshape weights clipped to [0, 1]; pose channels 0.
    """
    out = np.zeros(N_CHANNELS, np.float64)
    for au, amount in aus.items():
        if au not in AU_TO_ARKIT:
            raise EmotionError(f"unknown action unit {au!r}; known: {', '.join(AU_TO_ARKIT)}")
        for channel, weight in AU_TO_ARKIT[au].items():
            out[index(channel)] += amount * weight
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def expression(emotion: str, intensity: float = 1.0) -> np.ndarray:
    """The ARKit expression of one emotion at ``intensity`` (linear in it).

    Returns
    -------
    np.ndarray [shape=(61,), dtype=float32]
    """
    return (au_expression(PROTOTYPES[resolve_emotion(emotion)]) * float(intensity)).astype(np.float32)


EXPRESSIONS: np.ndarray = np.stack([expression(e) for e in EMOTIONS])  # (8, 61), in EMOTIONS order
EXPRESSIONS.setflags(write=False)


def describe_emotions() -> str:
    """A table of the emotions, their action units and aliases (for ``emote emotions``)."""
    lines = []
    for name in EMOTIONS:
        aus = PROTOTYPES[name]
        au_text = " + ".join(f"{au}({v:g})" for au, v in aus.items()) or "no action units (rest face)"
        aliases = sorted(a for a, target in ALIASES.items() if target == name)
        alias_text = f"  [also: {', '.join(aliases)}]" if aliases else ""
        lines.append(f"{name:<10} {au_text}{alias_text}")
    return "\n".join(lines)
