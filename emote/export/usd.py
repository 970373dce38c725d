"""USD (UsdSkel): the rig's mesh with blend shapes and a SkelAnimation of their weights.

Scene layout (Pixar's UsdSkel schema; ``usd-core`` writes it)::

    /Root            SkelRoot (default prim)
    /Root/Skel       Skeleton, one joint "head" at the rig's neck pivot;
                     skel:animationSource → /Root/Skel/Anim
    /Root/Skel/Anim  SkelAnimation: blendShapes (ARKit names), blendShapeWeights
                     per time code, the head joint's rotation per time code
    /Root/Head       Mesh (points, triangles, vertex displayColor), bound to the
                     skeleton (every vertex to "head", weight 1), with
                     skel:blendShapes / skel:blendShapeTargets
    /Root/Head/<ARKit name>  BlendShape: offsets (+ pointIndices when sparse)

A shape the rig leaves empty (no vertex moves, e.g. the default head's
``EyeLookIn/Out``: its eyeballs turn by the eye angles instead) gets no
BlendShape on the mesh, so importers make no empty shape keys; its weights
stay in the SkelAnimation, which UsdSkel (and Blender) skip for shapes the mesh
does not bind.

Time code ``i`` is frame ``i``; ``timeCodesPerSecond = framesPerSecond = fps``
(Blender 5.0's USD importer keys time code ``i`` at frame ``i`` and leaves the
scene's rate alone: set the scene to the file's rate before importing, or use
the emote add-on).
Units are the rig's millimetres (``metersPerUnit = 0.001``), +Y up. The head
joint rotates by ``R_y(yaw) R_x(pitch) R_z(roll)`` (HeadYaw/Pitch/Roll).
The layer's ``customLayerData["emote"]`` keeps fps, the nine head/eye angle
curves and the metadata, so :func:`read` gives the animation back (blendshapes
the rig lacks read as 0). Written to a temporary file beside the target and
renamed into place (``.usd``/``.usdc`` binary crate, ``.usda`` text).
"""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from emote.animation.channels import INDEX, N_ARKIT, N_CHANNELS, POSE_NAMES
from emote.animation.face_animation import FaceAnimation
from emote.errors import FormatError, file_error
from emote.export._common import mesh_rig
from emote.io.atomic import atomic_path

EXTENSION = ".usd"
NAME = "usd"
ROOT, SKELETON, ANIMATION, MESH = "/Root", "/Root/Skel", "/Root/Skel/Anim", "/Root/Head"


def _prim_name(name: str) -> str:
    """A valid USD prim name for a shape name (ARKit names already are)."""
    from pxr import Tf

    return Tf.MakeValidIdentifier(name)


def build_stage(anim: FaceAnimation, rig: Any):
    """An in-memory ``Usd.Stage`` holding ``anim`` on mesh rig ``rig`` (see the module notes)."""
    from pxr import Gf, Sdf, Usd, UsdGeom, UsdSkel, Vt

    from emote.export.glb import head_quaternions
    from emote.export.json_format import dump_metadata

    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 0.001)
    last = max(anim.n_frames - 1, 0)
    stage.SetStartTimeCode(0)
    stage.SetEndTimeCode(last)
    stage.SetTimeCodesPerSecond(anim.fps)
    stage.SetFramesPerSecond(anim.fps)

    root = UsdSkel.Root.Define(stage, ROOT)
    stage.SetDefaultPrim(root.GetPrim())
    pivot = np.asarray(rig.head.pivot if rig.head is not None else np.zeros(3), np.float64)
    bind = Gf.Matrix4d(1.0).SetTranslate(Gf.Vec3d(*pivot.tolist()))

    skel = UsdSkel.Skeleton.Define(stage, SKELETON)
    skel.CreateJointsAttr(["head"])
    skel.CreateBindTransformsAttr(Vt.Matrix4dArray([bind]))
    skel.CreateRestTransformsAttr(Vt.Matrix4dArray([bind]))

    names = list(rig.shape_names)
    tokens = [_prim_name(n) for n in names]
    skel_anim = UsdSkel.Animation.Define(stage, ANIMATION)
    skel_anim.CreateJointsAttr(["head"])
    skel_anim.CreateBlendShapesAttr(tokens)
    skel_anim.CreateTranslationsAttr(Vt.Vec3fArray([Gf.Vec3f(*pivot.tolist())]))
    skel_anim.CreateScalesAttr(Vt.Vec3hArray([Gf.Vec3h(1, 1, 1)]))
    weights_attr = skel_anim.CreateBlendShapeWeightsAttr()
    rotations_attr = skel_anim.CreateRotationsAttr()
    columns = [INDEX[n] for n in names]
    weights = np.ascontiguousarray(anim.curves[:, columns], np.float32)
    quats = head_quaternions(anim.curves)  # x, y, z, w
    for frame in range(anim.n_frames):
        weights_attr.Set(Vt.FloatArray.FromNumpy(weights[frame]), Usd.TimeCode(frame))
        x, y, z, w = (float(q) for q in quats[frame])
        rotations_attr.Set(Vt.QuatfArray([Gf.Quatf(w, x, y, z)]), Usd.TimeCode(frame))
    UsdSkel.BindingAPI.Apply(skel.GetPrim()).CreateAnimationSourceRel().SetTargets([Sdf.Path(ANIMATION)])

    mesh = UsdGeom.Mesh.Define(stage, MESH)
    neutral = np.asarray(rig.neutral, np.float32)
    faces = np.asarray(rig.faces, np.int32)
    mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(neutral))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(faces), 3, np.int32)))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(faces.reshape(-1)))
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    mesh.CreateOrientationAttr(UsdGeom.Tokens.rightHanded)
    lo, hi = neutral.min(0), neutral.max(0)
    mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*lo.tolist()), Gf.Vec3f(*hi.tolist())]))
    color = mesh.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex)
    color.Set(Vt.Vec3fArray.FromNumpy(np.asarray(rig.colors, np.float32)))

    binding = UsdSkel.BindingAPI.Apply(mesh.GetPrim())
    binding.CreateSkeletonRel().SetTargets([Sdf.Path(SKELETON)])
    binding.CreateJointIndicesPrimvar(constant=True, elementSize=1).Set(Vt.IntArray([0]))
    binding.CreateJointWeightsPrimvar(constant=True, elementSize=1).Set(Vt.FloatArray([1.0]))
    binding.CreateGeomBindTransformAttr(Gf.Matrix4d(1.0))
    bound, targets = [], []
    for token, d in zip(tokens, np.asarray(rig.deltas, np.float32), strict=True):
        moved = np.nonzero(np.any(d != 0, axis=1))[0].astype(np.int32)
        if not len(moved):
            continue  # an empty shape: nothing to deform, no shape key to make
        bound.append(token)
        shape = UsdSkel.BlendShape.Define(stage, f"{MESH}/{token}")
        if len(moved) * 2 < len(d):  # sparse offsets where a shape moves few points
            shape.CreateOffsetsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(d[moved])))
            shape.CreatePointIndicesAttr(Vt.IntArray.FromNumpy(moved))
        else:
            shape.CreateOffsetsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(d)))
        targets.append(shape.GetPath())
    binding.CreateBlendShapesAttr(bound)
    binding.CreateBlendShapeTargetsRel().SetTargets(targets)

    metadata = json.loads(dump_metadata(anim.metadata, Path(f"(animation of {rig.name})")))
    stage.GetRootLayer().customLayerData = {
        "emote": {
            "fps": anim.fps,
            "frames": anim.n_frames,
            "rig": rig.name,
            "shapes": dict(zip(tokens, names, strict=True)),
            "pose_channels": ",".join(POSE_NAMES),
            "pose": json.dumps(anim.curves[:, N_ARKIT:].astype(np.float64).tolist()),
            "metadata": json.dumps(metadata),
        }
    }
    return stage


def write(anim: FaceAnimation, path: str | PathLike[str], *, rig: Any = None) -> None:
    """Write ``anim`` as USD on ``rig`` (a mesh rig; the default head if None), atomically.

    Raises
    ------
    FormatError
        ``rig`` has no mesh, or metadata that cannot be stored as JSON.
    """
    if not isinstance(anim, FaceAnimation):
        raise TypeError(f"expected a FaceAnimation, got {type(anim).__name__}")
    rig = mesh_rig(rig, path, "USD")
    stage = build_stage(anim, rig)
    with atomic_path(path) as tmp:
        if not stage.GetRootLayer().Export(str(tmp)):
            raise file_error(FormatError, path, "USD could not write the file")


def read(path: str | PathLike[str]) -> FaceAnimation:
    """Read blend-shape weight animation back from a UsdSkel file (emote's exactly).

    Uses the first SkelAnimation that has blend shapes; names are matched to
    ARKit tolerantly. Frame rate from the stage's timeCodesPerSecond; head/eye
    angles from ``customLayerData["emote"]`` when present (else 0).

    Raises
    ------
    FormatError
        Not a USD file, or no SkelAnimation with ARKit-named blend shapes.
    """
    from pxr import Tf, Usd, UsdSkel

    from emote.rigs.names import match_arkit_names

    path = Path(path)
    if not path.is_file():
        raise file_error(FormatError, path, "file not found")
    try:
        stage = Usd.Stage.Open(str(path))
    except Tf.ErrorException:
        stage = None
    if stage is None:
        raise file_error(FormatError, path, "not a readable USD file")
    extra = dict(stage.GetRootLayer().customLayerData.get("emote", {}))
    for prim in stage.Traverse():
        if not prim.IsA(UsdSkel.Animation):
            continue
        skel_anim = UsdSkel.Animation(prim)
        shapes = list(skel_anim.GetBlendShapesAttr().Get() or [])
        aliases = extra.get("shapes", {})
        matches = match_arkit_names([aliases.get(s, s) for s in shapes])
        if not matches:
            continue
        attr = skel_anim.GetBlendShapeWeightsAttr()
        codes = attr.GetTimeSamples() or ([Usd.TimeCode.Default()] if attr.HasValue() else [])
        fps = float(stage.GetTimeCodesPerSecond())
        curves = np.zeros((len(codes), N_CHANNELS), np.float32)
        for row, code in enumerate(codes):
            values = np.asarray(attr.Get(code), np.float32)
            for src, name in matches.items():
                curves[row, INDEX[name]] = values[src]
        pose = extra.get("pose")
        if pose:
            angles = np.asarray(json.loads(pose), np.float64)
            if angles.shape == (len(codes), N_CHANNELS - N_ARKIT):
                curves[:, N_ARKIT:] = angles.astype(np.float32)
        metadata = json.loads(extra["metadata"]) if "metadata" in extra else {}
        return FaceAnimation(float(extra.get("fps", fps)), curves, metadata)
    raise file_error(FormatError, path, "no SkelAnimation with ARKit-named blend shapes")


__all__ = ["EXTENSION", "NAME", "build_stage", "read", "write"]
