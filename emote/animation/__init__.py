"""The canonical animation: channel order, frame rate, and the `FaceAnimation` container.

The frame convention (frame ``i`` at ``i / fps``; a clip of ``d`` seconds has
``ceil(d * fps) + 1`` frames, both ends included; resampling keeps the span) and the one
resampler every stage uses are in :mod:`emote.animation.frames`.
"""

from emote.animation.channels import ARKIT_NAMES, CHANNELS, N_ARKIT, N_CHANNELS, POSE_NAMES, index
from emote.animation.face_animation import FaceAnimation
from emote.animation.frames import interpolate_frames, n_frames_for, resample_curves

__all__ = [
    "ARKIT_NAMES",
    "CHANNELS",
    "N_ARKIT",
    "N_CHANNELS",
    "POSE_NAMES",
    "FaceAnimation",
    "index",
    "interpolate_frames",
    "n_frames_for",
    "resample_curves",
]
