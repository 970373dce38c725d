"""The performance layer shared by every engine: emotion, blinks, gaze, head motion.

>>> from emote.performance import EmotionTrack, perform
>>> track = EmotionTrack.constant("happy", 0.8)
"""

from emote.performance.blinks import BlinkSettings
from emote.performance.compose import apply_emotion, articulation_lock
from emote.performance.emotions import ALIASES, EMOTIONS, expression, resolve_emotion
from emote.performance.gaze import GazeSettings
from emote.performance.head import HeadSettings
from emote.performance.layer import PerformanceSettings, pauses_from_energy, perform
from emote.performance.track import EmotionSegment, EmotionTrack, as_track

__all__ = [
    "ALIASES",
    "EMOTIONS",
    "BlinkSettings",
    "EmotionSegment",
    "EmotionTrack",
    "GazeSettings",
    "HeadSettings",
    "PerformanceSettings",
    "apply_emotion",
    "articulation_lock",
    "as_track",
    "expression",
    "pauses_from_energy",
    "perform",
    "resolve_emotion",
]
