"""The canonical channel set: 52 ARKit blendshapes then 9 head/eye angles.

The order is Unreal's ``ELiveLinkFaceBlendShape`` enum (the order Live Link Face
streams in). The app's CSV *header* lists JawRight before JawLeft and MouthRight
before MouthLeft; the CSV writer and reader map by column name, so that
quirk never reaches this order.

Blendshapes are weights in [0, 1]; the last nine are angles in radians with the
Live Link Face app's signs, so a curve means the same in emote's files as in the
app's takes. This is the one place the conventions are recorded.

Head (``HeadYaw``, ``HeadPitch``, ``HeadRoll``)
    In the head's frame (+X the character's left, +Y up, +Z out of the face),
    applied as ``R = R_y(yaw) · R_x(pitch) · R_z(-roll)``: positive yaw turns
    the face to the character's left, positive pitch tips it down, positive roll
    tilts the top of the head towards the character's left shoulder. (The
    public app takes checked, ``alex_rom_3/4`` and ``MySlate_1``, were recorded
    with head rotation off, so the head signs could not be measured there.)

Eyes (``LeftEyeYaw/Pitch/Roll``, ``RightEyeYaw/Pitch/Roll``), one triple per eye
    As the app writes them, measured on its takes: positive **yaw turns that
    eye's gaze to the character's right** (``LeftEyeYaw ≈ 0.6 × (EyeLookInLeft
    − EyeLookOutLeft)``, ``RightEyeYaw ≈ 0.6 × (EyeLookOutRight −
    EyeLookInRight)``: correlation 1.00 in every take), positive **pitch looks
    down** (≈ 0.6 × ``EyeLookDown``), and the app's **roll is the small twist**
    ``tan(yaw) · tan(pitch)`` of each eye (fits its takes to within 1 %).
    The two eyes differ: when looking near they converge (each looks *in*).
    The eye convention is the head's mirrored left to right, so an eye turns in
    the rig frame by ``R(RIG_SIGN · angles)`` (yaw and roll negated):
    :data:`RIG_SIGN` and :func:`rig_angles` are what every rig, exporter and
    the Blender add-on use to turn eyeballs and bones.
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


# Multiply an angle channel by its sign to get the angle in the rig frame's convention
# (R_y(yaw) R_x(pitch) R_z(-roll), yaw to the character's left): eyes are mirrored.
RIG_SIGN: dict[str, float] = {
    "HeadYaw": 1.0, "HeadPitch": 1.0, "HeadRoll": 1.0,
    "LeftEyeYaw": -1.0, "LeftEyePitch": 1.0, "LeftEyeRoll": -1.0,
    "RightEyeYaw": -1.0, "RightEyePitch": 1.0, "RightEyeRoll": -1.0,
}  # fmt: skip


def rig_angles(curves, names: tuple[str, str, str]) -> tuple:
    """Yaw, pitch and roll of ``names`` from ``(frames, 61)`` curves, in the rig frame's convention.

    Works on numpy arrays and torch tensors alike (columns times :data:`RIG_SIGN`).
    """
    return tuple(curves[:, INDEX[n]] * RIG_SIGN[n] for n in names)


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
