"""Put a FaceAnimation onto Blender data: shape keys, head/eye bones, scene timing, sound.

The operators in :mod:`emote.blender.addon` call :func:`apply_animation`;
scripts can too::

    from emote.export import read
    from emote.blender.apply import ImportOptions, apply_animation
    report = apply_animation(read("take.csv"), bpy.context.scene, [bpy.context.object])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import bpy
import numpy as np

from emote.animation.channels import ARKIT_NAMES
from emote.animation.face_animation import FaceAnimation
from emote.blender import fcurves
from emote.blender.plan import (
    POSE_ROLES,
    PoseTarget,
    guess_pose_bones,
    plan_pose,
    plan_shape_keys,
    scene_rate,
)

SOUND_STRIP = "emote audio"


@dataclass
class ImportOptions:
    """How an animation is placed in the scene (the import operator's panel).

    Attributes
    ----------
    start_frame : int | None
        Scene frame of the animation's first frame; None: the scene's start.
    frame_rate : str
        ``"FILE"``: set the scene's fps to the animation's. ``"SCENE"``:
        resample the animation to the scene's fps.
    set_frame_range : bool
        Make the scene's frame range span the animation.
    sound : Path | None
        Audio to add as a sound strip starting at ``start_frame`` (replacing an
        earlier emote strip), so playback is in sync.
    pose_object : bpy.types.Object | None
        Armature (or any object) the head and eye curves drive.
    head_bone, left_eye_bone, right_eye_bone : str
        Bones of ``pose_object``; empty: guessed from bone names. An object
        that is not an armature turns as a whole with the head curves.
    action_name : str
        Base name of the created actions.
    """

    start_frame: int | None = None
    frame_rate: str = "FILE"
    set_frame_range: bool = True
    sound: Path | None = None
    pose_object: bpy.types.Object | None = None
    head_bone: str = ""
    left_eye_bone: str = ""
    right_eye_bone: str = ""
    action_name: str = "emote"


@dataclass
class ImportReport:
    """What an import did, for the operator's messages and for tests.

    Attributes
    ----------
    meshes : dict[str, int]
        Mesh object name -> number of shape keys animated.
    unmatched : list[str]
        ARKit channels no target mesh has a shape key for (canonical order).
    moving_unmatched : list[str]
        Those of ``unmatched`` that are not constant zero: motion the user loses.
    pose : dict[str, str]
        Pose role -> the bone (or object) it drives.
    frame_start, frame_end : int
        Scene frames the animation occupies.
    fps : float
        Frame rate the keys were written at.
    keys : int
        Keyframes written.
    sound : str
        Name of the sound strip added, or "".
    warnings : list[str]
    """

    meshes: dict[str, int] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    moving_unmatched: list[str] = field(default_factory=list)
    pose: dict[str, str] = field(default_factory=dict)
    frame_start: int = 1
    frame_end: int = 1
    fps: float = 0.0
    keys: int = 0
    sound: str = ""
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One status-bar line."""
        parts = [f"emote: {sum(self.meshes.values())} shape keys on {', '.join(self.meshes) or 'no mesh'}"]
        if self.pose:
            parts.append("head/eyes on " + ", ".join(self.pose.values()))
        parts.append(f"frames {self.frame_start}-{self.frame_end} @ {self.fps:g} fps")
        if self.unmatched:
            names = ", ".join(self.unmatched[:6]) + (
                f", +{len(self.unmatched) - 6}" if len(self.unmatched) > 6 else ""
            )
            parts.append(f"{len(self.unmatched)} ARKit curves have no shape key ({names})")
        return "; ".join(parts)


def scene_fps(scene: bpy.types.Scene) -> float:
    return scene.render.fps / scene.render.fps_base


def shape_key_names(obj: bpy.types.Object) -> list[str]:
    """Animatable shape key names of a mesh (the reference key excluded)."""
    key = obj.data.shape_keys if obj.type == "MESH" else None
    if key is None:
        return []
    return [kb.name for kb in key.key_blocks if kb != key.reference_key]


def _rest_rotation(arm: bpy.types.Object, bone: str) -> np.ndarray:
    m = np.array(arm.data.bones[bone].matrix_local.to_3x3(), np.float64)
    return m / np.linalg.norm(m, axis=0, keepdims=True)


def pose_targets(options: ImportOptions) -> tuple[list[PoseTarget], list[str]]:
    """The bones (or object) the head and eye curves drive, and warnings."""
    obj = options.pose_object
    if obj is None:
        return [], []
    if obj.type != "ARMATURE":
        return [PoseTarget("head")], []
    names = [b.name for b in obj.data.bones]
    chosen = {
        "head": options.head_bone,
        "left_eye": options.left_eye_bone,
        "right_eye": options.right_eye_bone,
    }
    guessed = guess_pose_bones(names)
    targets, warnings = [], []
    for role, bone in chosen.items():
        bone = bone or guessed.get(role, "")
        if not bone:
            warnings.append(
                f"no {role.replace('_', ' ')} bone found on {obj.name}; pick it in the import options"
            )
        elif bone not in obj.data.bones:
            warnings.append(f"{obj.name} has no bone {bone!r}")
        else:
            targets.append(PoseTarget(role, bone, _rest_rotation(obj, bone)))
    return targets, warnings


def set_scene_timing(scene: bpy.types.Scene, anim: FaceAnimation, options: ImportOptions) -> FaceAnimation:
    """Match scene and animation frame rates; return the animation at the scene's rate."""
    if options.frame_rate == "SCENE":
        fps = scene_fps(scene)
        if abs(fps - anim.fps) > 1e-6:
            anim = anim.resample(fps)
    else:
        scene.render.fps, scene.render.fps_base = scene_rate(anim.fps)
    return anim


def add_sound(scene: bpy.types.Scene, path: Path, frame_start: int) -> str:
    """Add ``path`` as a sound strip at ``frame_start``, replacing the previous emote strip."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences  # 4.4 renamed it
    old = strips.get(SOUND_STRIP)
    if old is not None:
        strips.remove(old)
    strip = strips.new_sound(SOUND_STRIP, str(path), channel=1, frame_start=frame_start)
    return strip.name


def _write(
    id_data: bpy.types.ID, tracks: list, label: str, options: ImportOptions, report: ImportReport
) -> None:
    channels, existing = fcurves.channels_for(id_data, f"{options.action_name}:{label}")
    if existing is not None:
        report.warnings.append(f"{id_data.name}: emote curves written into its action {existing!r}")
    report.keys += fcurves.write_tracks(channels, tracks)


def apply_animation(
    anim: FaceAnimation,
    scene: bpy.types.Scene,
    meshes: list[bpy.types.Object],
    options: ImportOptions | None = None,
) -> ImportReport:
    """Key ``anim`` onto the shape keys of ``meshes`` (and head/eye bones), set up the scene.

    Parameters
    ----------
    anim : FaceAnimation
    scene : bpy.types.Scene
    meshes : list of bpy.types.Object
        Meshes whose ARKit-named shape keys receive the blendshape curves
        (matched tolerantly, see :func:`emote.rigs.names.match_arkit_names`).
        Each gets a new action on its shape-key datablock.
    options : ImportOptions, optional

    Returns
    -------
    ImportReport
    """
    options = options or ImportOptions()
    report = ImportReport()
    anim = set_scene_timing(scene, anim, options)
    start = scene.frame_start if options.start_frame is None else int(options.start_frame)
    report.fps = scene_fps(scene)
    report.frame_start, report.frame_end = start, start + max(anim.n_frames, 1) - 1

    matched: set[str] = set()
    for obj in meshes:
        names = shape_key_names(obj)
        if not names:
            report.warnings.append(f"{obj.name} has no shape keys")
            continue
        plan = plan_shape_keys(anim, names, start_frame=start)
        report.meshes[obj.name] = len(plan.tracks)
        if plan.tracks:
            _write(obj.data.shape_keys, plan.tracks, obj.name, options, report)
        matched.update(plan.matched)
    report.unmatched = [n for n in ARKIT_NAMES if n not in matched]
    report.moving_unmatched = [n for n in report.unmatched if anim.channel(n).any()]

    targets, warnings = pose_targets(options)
    if anim.pose.any():
        report.warnings.extend(warnings)
    if targets and anim.pose.any():
        obj = options.pose_object
        tracks = [t for target in targets for t in plan_pose(anim, target, start_frame=start)]
        if tracks:
            _write(obj, tracks, obj.name, options, report)
        for target in targets:
            if target.bone is not None:
                obj.pose.bones[target.bone].rotation_mode = "QUATERNION"
            report.pose[target.role] = target.bone or obj.name

    if options.set_frame_range:
        scene.frame_start, scene.frame_end = report.frame_start, report.frame_end
    if options.sound is not None:
        if Path(options.sound).is_file():
            try:
                report.sound = add_sound(scene, Path(options.sound), start)
            except RuntimeError as exc:  # e.g. a Blender built without audio (the bpy 4.2 wheel)
                reason = str(exc).strip().removeprefix("Error: ")
                report.warnings.append(f"{options.sound}: no sound strip added ({reason})")
        else:
            report.warnings.append(f"{options.sound}: audio file not found, no sound strip added")
    return report


__all__ = ["POSE_ROLES", "ImportOptions", "ImportReport", "add_sound", "apply_animation"]
