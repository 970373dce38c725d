"""The canonical animation: channel order, frame rate, and the `FaceAnimation` container."""

from emote.animation.channels import ARKIT_NAMES, CHANNELS, N_ARKIT, N_CHANNELS, POSE_NAMES, index
from emote.animation.face_animation import FaceAnimation

__all__ = ["ARKIT_NAMES", "CHANNELS", "N_ARKIT", "N_CHANNELS", "POSE_NAMES", "FaceAnimation", "index"]
