"""What an import writes, decided without Blender.

The add-on's ``bpy`` glue only executes a plan made here: which canonical
curve goes to which shape key, which head/eye rotation goes to which bone,
at which frames and with which values. Everything in this module is pure numpy,
so the rules are tested without Blender.

Axes are Blender's: +Z up, the character faces -Y, +X is the character's left
(glTF's +Y up / +Z forward, as Blender's glTF importer converts it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

from emote.animation.channels import ARKIT_NAMES, INDEX, rig_angles
from emote.animation.face_animation import FaceAnimation

#: Roles of the pose channels, with their (yaw, pitch, roll) channel names.
POSE_ROLES: dict[str, tuple[str, str, str]] = {
    "head": ("HeadYaw", "HeadPitch", "HeadRoll"),
    "left_eye": ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll"),
    "right_eye": ("RightEyeYaw", "RightEyePitch", "RightEyeRoll"),
}


@dataclass(frozen=True)
class Track:
    """The keys of one F-curve.

    Attributes
    ----------
    data_path : str
        RNA path on the animated ID, e.g. ``key_blocks["JawOpen"].value``.
    index : int
        Array index for vector properties (quaternion W, X, Y, Z = 0..3).
    frames : np.ndarray [shape=(n,), float32]
        Scene frame of each key, increasing.
    values : np.ndarray [shape=(n,), float32]
    group : str
        F-curve group shown in the Graph Editor ("emote" or a bone name).
    """

    data_path: str
    index: int
    frames: np.ndarray
    values: np.ndarray
    group: str = "emote"

    def interleaved(self) -> np.ndarray:
        """``[f0, v0, f1, v1, ...]`` as float32, the layout of ``keyframe_points.foreach_set("co")``."""
        co = np.empty((self.frames.shape[0], 2), np.float32)
        co[:, 0] = self.frames
        co[:, 1] = self.values
        return co.ravel()


@dataclass
class ShapeKeyPlan:
    """Shape-key tracks for one mesh, and what could not be matched.

    Attributes
    ----------
    tracks : list[Track]
        One track per matched shape key.
    matched : dict[str, list[str]]
        Canonical ARKit name -> the shape keys it drives (usually one).
    unmatched : list[str]
        ARKit channels of the animation with no shape key on this mesh, in
        channel order.
    """

    tracks: list[Track] = field(default_factory=list)
    matched: dict[str, list[str]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)


def escape_name(name: str) -> str:
    """Quote-escape a name for use inside an RNA path (``bpy.utils.escape_identifier``)."""
    return name.replace("\\", "\\\\").replace('"', '\\"')


def shape_key_path(name: str) -> str:
    """RNA path of a shape key's value on its ``Key`` ID."""
    return f'key_blocks["{escape_name(name)}"].value'


def key_frames(n_frames: int, start_frame: float) -> np.ndarray:
    """Scene frames of ``n_frames`` consecutive animation frames starting at ``start_frame``.

    Returns
    -------
    np.ndarray [shape=(n_frames,), float32]
    """
    return start_frame + np.arange(n_frames, dtype=np.float32)


def compact(frames: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop the keys of a constant curve but the first.

    Most clips leave many channels at rest (a constant 0): one key holds it,
    which keeps long imports small. Moving curves keep every frame: their
    values were sampled at the animation's rate and are reproduced exactly.
    """
    if values.shape[0] > 1 and np.all(values == values[0]):
        return frames[:1], values[:1]
    return frames, values


def plan_shape_keys(
    anim: FaceAnimation,
    key_names: Sequence[str],
    *,
    start_frame: float = 1.0,
    matches: dict[int, str] | None = None,
) -> ShapeKeyPlan:
    """Which curve drives which shape key, and the keys to write.

    Parameters
    ----------
    anim : FaceAnimation
        Curves at the scene's frame rate (resample first if needed).
    key_names : sequence of str
        The mesh's shape key names, the reference ("Basis") key excluded.
    start_frame : float
        Scene frame of the animation's frame 0.
    matches : dict[int, str], optional
        ``key_names`` index -> canonical ARKit name. Default: the tolerant
        matching of :func:`emote.rigs.names.match_arkit_names` (case,
        ``Left``/``_L``, prefixes such as ``AK_25_``).

    Returns
    -------
    ShapeKeyPlan
    """
    if matches is None:
        from emote.rigs.names import match_arkit_names

        matches = match_arkit_names(list(key_names))
    frames = key_frames(anim.n_frames, start_frame)
    plan = ShapeKeyPlan()
    for i, arkit in sorted(matches.items()):
        if arkit not in INDEX or INDEX[arkit] >= len(ARKIT_NAMES):
            continue
        f, v = compact(frames, anim.curves[:, INDEX[arkit]])
        plan.tracks.append(Track(shape_key_path(key_names[i]), 0, f, v))
        plan.matched.setdefault(arkit, []).append(key_names[i])
    plan.unmatched = [n for n in ARKIT_NAMES if n not in plan.matched]
    return plan


# -- head and eyes -----------------------------------------------------------------


def _rot(axis: int, angle: np.ndarray) -> np.ndarray:
    """Right-handed rotations about a coordinate axis, shape (n, 3, 3)."""
    c, s = np.cos(angle), np.sin(angle)
    m = np.zeros((angle.shape[0], 3, 3), np.float64)
    a, b = [(1, 2), (2, 0), (0, 1)][axis]
    m[:, axis, axis] = 1.0
    m[:, a, a] = c
    m[:, b, b] = c
    m[:, a, b] = -s
    m[:, b, a] = s
    return m


def pose_matrices(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Rotations of a head or eye from yaw/pitch/roll, in Blender's axes.

    ``R = Rz(yaw) · Rx(pitch) · Ry(roll)``: yaw about the up axis (positive
    turns the face towards the character's left), pitch about the left axis
    (positive tips the face down), roll about the facing axis, applied in
    Unreal's rotator order (roll first, yaw last).

    Parameters
    ----------
    yaw, pitch, roll : np.ndarray [shape=(n,)]
        Angles in radians.

    Returns
    -------
    np.ndarray [shape=(n, 3, 3), float64]
    """
    y, p, r = (np.asarray(a, np.float64) for a in (yaw, pitch, roll))
    return _rot(2, y) @ _rot(0, p) @ _rot(1, r)


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(w, x, y, z)`` of rotation matrices, with w >= 0.

    Shepperd's method: pick the largest of w², x², y², z² to divide by, so no
    branch loses precision.

    Parameters
    ----------
    m : np.ndarray [shape=(n, 3, 3)]

    Returns
    -------
    np.ndarray [shape=(n, 4), float64]
    """
    m = np.asarray(m, np.float64)
    t = np.stack(
        [
            1 + m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2],
            1 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2],
            1 - m[:, 0, 0] + m[:, 1, 1] - m[:, 2, 2],
            1 - m[:, 0, 0] - m[:, 1, 1] + m[:, 2, 2],
        ],
        axis=1,
    )
    k = np.argmax(t, axis=1)
    s = np.sqrt(np.maximum(t[np.arange(len(k)), k], 1e-300)) * 2  # 4·|component|
    q = np.empty((m.shape[0], 4), np.float64)
    d21, d02, d10 = m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1]
    s21, s02, s10 = m[:, 2, 1] + m[:, 1, 2], m[:, 0, 2] + m[:, 2, 0], m[:, 1, 0] + m[:, 0, 1]
    rows = {
        0: (s / 4, d21 / s, d02 / s, d10 / s),
        1: (d21 / s, s / 4, s10 / s, s02 / s),
        2: (d02 / s, s10 / s, s / 4, s21 / s),
        3: (d10 / s, s02 / s, s21 / s, s / 4),
    }
    for branch, comps in rows.items():
        sel = k == branch
        for j in range(4):
            q[sel, j] = comps[j][sel]
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def matrix_to_euler_xyz(m: np.ndarray) -> np.ndarray:
    """Blender ``'XYZ'`` Euler angles (``R = Rz(c) · Ry(b) · Rx(a)``) of rotation matrices.

    Parameters
    ----------
    m : np.ndarray [shape=(n, 3, 3)]

    Returns
    -------
    np.ndarray [shape=(n, 3), float64]
        ``(a, b, c)`` in radians.
    """
    m = np.asarray(m, np.float64)
    b = np.arcsin(np.clip(-m[:, 2, 0], -1.0, 1.0))
    a = np.arctan2(m[:, 2, 1], m[:, 2, 2])
    c = np.arctan2(m[:, 1, 0], m[:, 0, 0])
    return np.stack([a, b, c], axis=1)


@dataclass(frozen=True)
class PoseTarget:
    """Where one pose role (head, left eye, right eye) is applied.

    Attributes
    ----------
    role : str
        A key of :data:`POSE_ROLES`.
    bone : str | None
        Pose bone name on an armature, or None to rotate the object itself.
    rest : np.ndarray [shape=(3, 3)]
        The bone's rest orientation in armature space (``bone.matrix_local``'s
        rotation); identity for an object.
    """

    role: str
    bone: str | None = None
    rest: np.ndarray = field(default_factory=lambda: np.eye(3))


def plan_pose(anim: FaceAnimation, target: PoseTarget, *, start_frame: float = 1.0) -> list[Track]:
    """Rotation tracks that turn a bone or object by a pose role's curves.

    A bone gets ``rotation_quaternion`` keys in its own rest frame,
    ``q = rest⁻¹ · R · rest``, so the turn happens about the armature's
    up/left/facing axes whatever way the bone points. An object gets
    ``delta_rotation_euler`` keys, added on top of its own rotation and
    leaving that untouched.

    Returns
    -------
    list[Track]
        Four tracks (W, X, Y, Z) for a bone, three (X, Y, Z) for an object;
        empty when the role's curves are all zero.
    """
    if target.role not in POSE_ROLES:
        raise ValueError(f"unknown pose role {target.role!r}; roles are {', '.join(POSE_ROLES)}")
    yaw, pitch, roll = rig_angles(anim.curves, POSE_ROLES[target.role])  # eye channels mirrored
    if not (yaw.any() or pitch.any() or roll.any()):
        return []
    rot = pose_matrices(yaw, pitch, roll)
    frames = key_frames(anim.n_frames, start_frame)
    if target.bone is None:
        values = matrix_to_euler_xyz(rot)
        path, group = "delta_rotation_euler", "emote"
    else:
        rest = np.asarray(target.rest, np.float64)
        values = matrix_to_quaternion(rest.T @ rot @ rest)
        path, group = f'pose.bones["{escape_name(target.bone)}"].rotation_quaternion', target.bone
    tracks = []
    for j in range(values.shape[1]):
        f, v = compact(frames, values[:, j].astype(np.float32))
        tracks.append(Track(path, j, f, v, group))
    return tracks


# -- guessing the head and eye bones ------------------------------------------------

_HELPER_PREFIX = re.compile(r"^(def|org|mch)[-_.]", re.IGNORECASE)


def _side_eye(lower: str, side: str) -> bool:
    """Does a lower-case bone name denote the eye on ``side`` ("l" or "r")?"""
    word = "left" if side == "l" else "right"
    flat = re.sub(r"[^a-z0-9]", "", lower)
    if flat.endswith((f"{word}eye", f"eye{word}", f"eye{side}")):
        return True
    # "Bip01 LEye", "J_Adj_L_FaceEye", "CC_Base_L_Eye"
    return re.search(rf"(^|[^a-z]){side}[^a-z]*(face)?eye$", lower) is not None


def guess_pose_bones(bone_names: Sequence[str]) -> dict[str, str]:
    """Guess the head and eye bones of an armature from their names.

    Knows the common conventions: Biped/Rocketbox (``Bip01 Head``,
    ``Bip01 LEye``), Mixamo (``mixamorig:Head``, ``mixamorig:LeftEye``),
    Rigify (``head``, ``eye.L``), VRM (``J_Bip_C_Head``, ``J_Adj_L_FaceEye``),
    Character Creator (``CC_Base_Head``, ``CC_Base_L_Eye``). Control bones
    win over Rigify's ``DEF-``/``ORG-``/``MCH-`` helpers, shorter names over
    longer ones.

    Returns
    -------
    dict[str, str]
        Role (``head``, ``left_eye``, ``right_eye``) -> bone name, for the
        roles found.
    """
    tests = {
        "head": lambda low: re.sub(r"[^a-z0-9]", "", low).endswith("head"),
        "left_eye": lambda low: _side_eye(low, "l"),
        "right_eye": lambda low: _side_eye(low, "r"),
    }
    found: dict[str, str] = {}
    for role, test in tests.items():
        hits = [n for n in bone_names if test(n.lower())]
        if hits:
            found[role] = min(hits, key=lambda n: (bool(_HELPER_PREFIX.match(n)), len(n), n))
    return found


# -- frame rate ------------------------------------------------------------------


def scene_rate(fps: float) -> tuple[int, float]:
    """Blender's ``(render.fps, render.fps_base)`` for a frame rate: ``fps = fps_int / fps_base``.

    >>> scene_rate(60.0)
    (60, 1.0)
    >>> scene_rate(30000 / 1001)[0]
    30
    """
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    fps_int = max(1, min(round(fps), 32767))
    return fps_int, fps_int / fps


# -- the audio beside an animation -------------------------------------------------

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac")


def find_audio(anim_path: str | PathLike[str], metadata: dict) -> Path | None:
    """The speech audio an animation file was made from, if it can be found.

    ``metadata["audio"]`` (emote JSON records it; a relative path is taken
    relative to the animation file's folder), else an audio file with the
    animation's stem beside it (``take.csv`` → ``take.wav``).
    """
    anim_path = Path(anim_path)
    recorded = metadata.get("audio")
    if isinstance(recorded, str) and recorded:
        p = Path(recorded)
        for candidate in (p, anim_path.parent / p, anim_path.parent / p.name):
            if candidate.is_file():
                return candidate.resolve()
    for ext in AUDIO_EXTENSIONS:
        candidate = anim_path.with_suffix(ext)
        if candidate.is_file():
            return candidate.resolve()
    return None
