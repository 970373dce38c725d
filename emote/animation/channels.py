"""The canonical channel set: 52 ARKit blendshapes then 9 head/eye angles.

The order is Unreal's ``ELiveLinkFaceBlendShape`` enum (the order Live Link Face
streams in). The app's CSV *header* lists JawRight before JawLeft and MouthRight
before MouthLeft; the CSV writer and reader map by column name, so that
quirk never reaches this order.

Blendshapes are weights in [0, 1]; the last nine are angles in radians, in the
head's frame (+X the character's left, +Y up, +Z out of the face), applied as
``R = R_y(yaw) · R_x(pitch) · R_z(-roll)``: positive yaw turns the face (or gaze)
to the character's left, positive pitch tips it down, positive roll tilts the top
of the head towards the character's left shoulder.
"""

from __future__ import annotations

ARKIT_NAMES: tuple[str, ...] = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft",
    "EyeLookUpLeft", "EyeSquintLeft", "EyeWideLeft",
    "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight",
    "EyeLookUpRight", "EyeSquintRight", "EyeWideRight",
    "JawForward", "JawLeft", "JawRight", "JawOpen",
    "MouthClose", "MouthFunnel", "MouthPucker", "MouthLeft", "MouthRight",
    "MouthSmileLeft", "MouthSmileRight", "MouthFrownLeft", "MouthFrownRight",
    "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft", "MouthStretchRight",
    "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper",
    "MouthPressLeft", "MouthPressRight", "MouthLowerDownLeft", "MouthLowerDownRight",
    "MouthUpperUpLeft", "MouthUpperUpRight",
    "BrowDownLeft", "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight",
    "CheekPuff", "CheekSquintLeft", "CheekSquintRight",
    "NoseSneerLeft", "NoseSneerRight", "TongueOut",
)  # fmt: skip

POSE_NAMES: tuple[str, ...] = (
    "HeadYaw", "HeadPitch", "HeadRoll",
    "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)  # fmt: skip

CHANNELS: tuple[str, ...] = ARKIT_NAMES + POSE_NAMES
N_ARKIT = len(ARKIT_NAMES)  # 52
N_CHANNELS = len(CHANNELS)  # 61

INDEX: dict[str, int] = {name: i for i, name in enumerate(CHANNELS)}

# Channel groups used by the engines, the emotion layer and the metrics.
MOUTH_NAMES: tuple[str, ...] = tuple(
    n for n in ARKIT_NAMES if n.startswith(("Jaw", "Mouth", "Cheek", "Tongue"))
)
# FACS's upper face: brows, lids, the cheek raiser (AU6, ARKit CheekSquint), and the nose wrinkle.
UPPER_FACE_NAMES: tuple[str, ...] = tuple(
    n for n in ARKIT_NAMES if n.startswith(("Eye", "Brow", "Nose", "CheekSquint"))
)


def index(name: str) -> int:
    """Column of channel ``name`` in a ``(frames, 61)`` curve array.

    Raises ``KeyError`` with the known names for an unknown channel.
    """
    try:
        return INDEX[name]
    except KeyError:
        raise KeyError(f"unknown channel {name!r}; channels are {', '.join(CHANNELS)}") from None


def indices(names: tuple[str, ...] | list[str]) -> list[int]:
    """Columns of several channels, in the given order."""
    return [index(n) for n in names]
