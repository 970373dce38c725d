"""Per-emotion prosody and sampled emotion tracks for the TTS corpus.

Emotional speech changes rate, pitch, pitch range and loudness in consistent
directions (Scherer 2003, "Vocal communication of emotion: a review of research
paradigms"; Juslin & Laukka 2003): anger and happiness are faster, louder and
livelier; sadness slower, lower, quieter and flatter; fear faster and higher.
:data:`EMOTION_PROSODY` holds those directions at intensity 1; a line is spoken
with its emotion's prosody scaled by intensity and jittered per utterance, so
rate and pitch vary across the corpus even within one emotion.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from emote.performance.emotions import EMOTIONS
from emote.performance.track import EmotionSegment, EmotionTrack
from emote.training.data.tts import Prosody

__all__ = ["EMOTION_PROSODY", "TrackSampling", "dominant_emotion", "sample_prosody", "sample_track"]

# emotion -> (rate, pitch, pitch range, loudness dB) at intensity 1
EMOTION_PROSODY: MappingProxyType = MappingProxyType({
    "neutral":   (1.00, 1.00, 1.00, 0.0),
    "happy":     (1.08, 1.15, 1.35, 2.0),
    "sad":       (0.82, 0.90, 0.65, -5.0),
    "surprised": (1.02, 1.22, 1.50, 2.0),
    "fear":      (1.12, 1.20, 1.20, -1.0),
    "disgusted": (0.90, 0.94, 0.90, 0.0),
    "angry":     (1.12, 1.08, 1.30, 5.0),
    "contempt":  (0.94, 0.95, 0.80, -1.0),
})  # fmt: skip


def sample_prosody(emotion: str, intensity: float, rng: np.random.Generator) -> tuple[Prosody, float]:
    """Prosody and loudness (dB) for one line spoken with ``emotion`` at ``intensity``.

    The emotion's factors are raised to the power ``intensity`` (geometric
    interpolation from neutral) and multiplied by per-line jitter: rate ×[0.8, 1.25],
    pitch ×[0.85, 1.18], range ×[0.75, 1.3], loudness ±3 dB.

    Returns
    -------
    prosody : Prosody
    gain_db : float
    """
    rate, pitch, prange, loud = EMOTION_PROSODY[emotion]
    jitter = np.exp(rng.uniform(np.log([0.8, 0.85, 0.75]), np.log([1.25, 1.18, 1.3])))
    prosody = Prosody(
        rate=float(rate**intensity * jitter[0]),
        pitch=float(pitch**intensity * jitter[1]),
        pitch_range=float(prange**intensity * jitter[2]),
    )
    return prosody, float(loud * intensity + rng.uniform(-3.0, 3.0))


@dataclass(frozen=True)
class TrackSampling:
    """How emotion tracks are drawn.

    Attributes
    ----------
    p_constant, p_change, p_three, p_blend : float
        Shares of tracks that hold one emotion, change once mid-utterance, hold
        three segments, or blend two emotions (normalised).
    p_full : float
        Share of segments at intensity exactly 1 (the rest uniform in [0.2, 1]).
    transition : tuple[float, float]
        Range of crossfade lengths, seconds.
    """

    p_constant: float = 0.4
    p_change: float = 0.3
    p_three: float = 0.15
    p_blend: float = 0.15
    p_full: float = 0.35
    transition: tuple[float, float] = (0.1, 0.6)


def _intensity(rng: np.random.Generator, s: TrackSampling) -> float:
    return 1.0 if rng.random() < s.p_full else float(rng.uniform(0.2, 1.0))


def sample_track(
    duration: float, rng: np.random.Generator, settings: TrackSampling | None = None
) -> EmotionTrack:
    """A random emotion track over ``duration`` seconds (mid-utterance changes included).

    Every emotion is equally likely in every segment, neutral included.

    Parameters
    ----------
    duration : float
        Seconds.
    rng : np.random.Generator
    settings : TrackSampling, optional

    Returns
    -------
    EmotionTrack
    """
    s = settings or TrackSampling()
    kinds = ("constant", "change", "three", "blend")
    p = np.array([s.p_constant, s.p_change, s.p_three, s.p_blend])
    kind = kinds[int(rng.choice(4, p=p / p.sum()))]
    transition = float(rng.uniform(*s.transition))

    def pick() -> str:
        return EMOTIONS[int(rng.integers(len(EMOTIONS)))]

    if kind == "constant" or duration < 1.0:
        segments = [EmotionSegment(0.0, None, pick(), _intensity(rng, s))]
    elif kind == "blend":
        a, b = rng.choice(len(EMOTIONS) - 1, size=2, replace=False) + 1
        segments = [
            EmotionSegment(
                0.0, None, EMOTIONS[a], _intensity(rng, s), EMOTIONS[b], float(rng.uniform(0.2, 0.6))
            )
        ]
    else:
        n = 2 if kind == "change" else 3
        cuts = np.sort(rng.uniform(0.2, 0.8, size=n - 1)) * duration
        starts = [0.0, *cuts.tolist()]
        segments = [EmotionSegment(float(t), None, pick(), _intensity(rng, s)) for t in starts]
    return EmotionTrack(tuple(segments), transition)


def dominant_emotion(track: EmotionTrack) -> tuple[str, float]:
    """The emotion (and its intensity) of a track's first segment; what its prosody follows."""
    seg = track.segments[0]
    return seg.emotion, seg.intensity
