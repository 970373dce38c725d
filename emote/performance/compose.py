"""Emotion on top of speech, with articulation winning where it must.

The emotion's expression is added to the speech curves. On the mouth, that
sum would let a surprised jaw drop (AU26) or a disgusted lower lip (AU16)
open a /b/; so wherever the speech holds a closure the emotion's
*lip-opening* components are suppressed by an articulation lock ``L`` in
[0, 1]::

    mouth_opening = speech + emotion * (1 - L)
    MouthClose    = speech_close + L * (JawOpen_out - JawOpen_speech)

so that any jaw opening the emotion still adds during a lock is closed over by
the lips (ARKit's ``MouthClose``: lips together while the jaw is open). Corner
movements (smile, frown, stretch, dimple) and pressing stay: lips close while
smiling. The upper face is the emotion's, untouched.

``L`` is read back from the speech curves: the phonetic engine marks
bilabials with ``MouthPress`` and labiodentals with ``MouthRollLower``
(:mod:`emote.engines.phonetic.visemes`), and a network trained on it inherits
the marks; a caller that knows the closures can pass ``lock`` directly.
"""

from __future__ import annotations

import numpy as np

from emote.animation.channels import N_ARKIT, N_CHANNELS, index, indices
from emote.performance.emotions import EMOTIONS, EXPRESSIONS
from emote.phonetics.marks import BILABIAL_PRESS, LABIODENTAL_ROLL

# Channels whose emotional part would part the lips; suppressed under a lock.
OPENING_CHANNELS: tuple[str, ...] = (
    "JawOpen", "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight",
    "MouthFunnel", "MouthShrugUpper",
)  # fmt: skip
_OPEN = indices(OPENING_CHANNELS)
_JAW = index("JawOpen")
_LIP_OPEN = indices([c for c in OPENING_CHANNELS if c != "JawOpen"])
_CLOSE = index("MouthClose")
_PRESS = indices(["MouthPressLeft", "MouthPressRight"])
_ROLL = index("MouthRollLower")


def articulation_lock(speech: np.ndarray, *, low: float = 0.25, high: float = 0.75) -> np.ndarray:
    """How much each frame of speech is a lip closure, from the speech curves alone.

    With ``m = max(press / BILABIAL_PRESS, roll / LABIODENTAL_ROLL)``, the share
    of the closure mark present, the lock rises smoothly (smoothstep) from 0 at
    ``m = low`` to 1 at ``m = high``: full on the closure, easing in and out with
    it, and 0 on the vowels between closures, which coarticulation leaves
    slightly marked.

    Parameters
    ----------
    speech : np.ndarray [shape=(frames, 61)]

    Returns
    -------
    np.ndarray [shape=(frames,), dtype=float64]
    """
    press = speech[:, _PRESS].astype(np.float64).mean(axis=1) / BILABIAL_PRESS
    roll = speech[:, _ROLL].astype(np.float64) / LABIODENTAL_ROLL
    x = np.clip((np.maximum(press, roll) - low) / (high - low), 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def close_lips(curves: np.ndarray, lock: np.ndarray) -> np.ndarray:
    """Bring the lips together where ``lock`` is 1, easing with it.

    The lip-opening channels (:data:`OPENING_CHANNELS` but the jaw) fade
    by ``1 - lock``, ``MouthClose`` rises towards ``JawOpen`` (lips together over
    whatever jaw there is) and ``MouthPress`` to at least the phonetic engine's
    bilabial mark, so :func:`articulation_lock` reads the closure back and an
    emotion added later keeps it. Corners (smile, frown, dimple) are untouched.

    Parameters
    ----------
    curves : np.ndarray [shape=(frames, 61)]
    lock : np.ndarray [shape=(frames,)]
        In [0, 1].

    Returns
    -------
    np.ndarray [shape=(frames, 61), dtype=float32]
    """
    out = np.array(curves, np.float32)
    lk = np.clip(np.asarray(lock, np.float32), 0.0, 1.0)
    if lk.shape != (out.shape[0],):
        raise ValueError(f"lock must have shape ({out.shape[0]},), got {lk.shape}")
    out[:, _LIP_OPEN] *= (1.0 - lk)[:, None]
    out[:, _CLOSE] += lk * (out[:, _JAW] - out[:, _CLOSE])
    out[:, _PRESS] = np.maximum(out[:, _PRESS], (lk * BILABIAL_PRESS)[:, None])
    return out


def emotion_curves(weights: np.ndarray) -> np.ndarray:
    """The expression of per-frame emotion weights.

    Parameters
    ----------
    weights : np.ndarray [shape=(frames, 8)]
        From :meth:`EmotionTrack.weights`, columns in :data:`EMOTIONS` order.

    Returns
    -------
    np.ndarray [shape=(frames, 61), dtype=float64]
    """
    weights = np.asarray(weights, np.float64)
    if weights.ndim != 2 or weights.shape[1] != len(EMOTIONS):
        raise ValueError(f"weights must have shape (frames, {len(EMOTIONS)}), got {weights.shape}")
    return weights @ EXPRESSIONS.astype(np.float64)


def apply_emotion(speech: np.ndarray, weights: np.ndarray, *, lock: np.ndarray | None = None) -> np.ndarray:
    """Add the emotion's expression to speech curves; closures keep closing.

    Parameters
    ----------
    speech : np.ndarray [shape=(frames, 61)]
        Speech curves (mouth/jaw; any other channel is kept and added to).
    weights : np.ndarray [shape=(frames, 8)]
        Per-emotion weights (:meth:`EmotionTrack.weights`).
    lock : np.ndarray [shape=(frames,)], optional
        Articulation lock in [0, 1]; default :func:`articulation_lock` of ``speech``.

    Returns
    -------
    np.ndarray [shape=(frames, 61), dtype=float32]
        Blendshapes clipped to [0, 1]; pose channels as in ``speech``.
    """
    speech = np.asarray(speech, np.float64)
    if speech.ndim != 2 or speech.shape[1] != N_CHANNELS:
        raise ValueError(f"speech must have shape (frames, {N_CHANNELS}), got {speech.shape}")
    emo = emotion_curves(weights)
    if emo.shape[0] != speech.shape[0]:
        raise ValueError(f"weights have {emo.shape[0]} frames, speech {speech.shape[0]}")
    lk = articulation_lock(speech) if lock is None else np.clip(np.asarray(lock, np.float64), 0.0, 1.0)
    emo[:, _OPEN] *= (1.0 - lk)[:, None]
    out = speech + emo
    out[:, :N_ARKIT] = np.clip(out[:, :N_ARKIT], 0.0, 1.0)
    # Whatever jaw the emotion still adds under a (partial) lock, the lips close over.
    extra_jaw = out[:, _JAW] - np.clip(speech[:, _JAW], 0.0, 1.0)
    out[:, _CLOSE] = np.clip(speech[:, _CLOSE] + lk * extra_jaw, 0.0, out[:, _JAW])
    return out.astype(np.float32)
