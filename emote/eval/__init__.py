"""Quality metrics without 3D ground truth: closure, contrast, rounding, rest, blinks, jerk."""

from emote.eval.metrics import (
    bilabial_closure,
    blink_stats,
    disentanglement,
    evaluate,
    jerk,
    labiodental_gap,
    lip_gap_proxy,
    mouth_width_proxy,
    open_closed_contrast,
    rest_stats,
    rounding_ratio,
)

__all__ = [
    "bilabial_closure",
    "blink_stats",
    "disentanglement",
    "evaluate",
    "jerk",
    "labiodental_gap",
    "lip_gap_proxy",
    "mouth_width_proxy",
    "open_closed_contrast",
    "rest_stats",
    "rounding_ratio",
]
