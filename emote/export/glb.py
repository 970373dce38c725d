"""GLB: the rig's mesh with ARKit morph targets and a weights animation (Blender, engines, viewers).

What the file holds (glTF 2.0, binary container):

- node ``emote_head`` at the rig's neck pivot, rotated over time by HeadYaw,
  HeadPitch, HeadRoll (``R = R_y(yaw) R_x(pitch) R_z(roll)``), with child node
  ``head`` carrying the mesh (offset back by the pivot);
- mesh ``head``: one triangle primitive with POSITION (metres), NORMAL,
  COLOR_0 (linear) and one morph target per ARKit shape the rig has (sparse
  accessors where a shape moves few vertices), named in
  ``mesh.extras.targetNames`` with the canonical ARKit names (Blender's
  importer turns them into shape keys of those names);
- animation ``emote``: a ``weights`` channel on the ``head`` node, LINEAR
  sampler, input times ``frame / fps`` seconds, one weight per target per
  frame; and a ``rotation`` channel on ``emote_head``;
- ``asset.extras["emote"]``: fps, the nine head/eye angle curves (the eyes are
  not separate nodes) and the animation's metadata, so that :func:`read` gives
  the animation back exactly (blendshapes the rig lacks read as 0).

Units: the rigs are in mm, glTF in metres (× 0.001). The write is atomic.
"""

from __future__ import annotations

import json
import struct
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from emote.animation.channels import INDEX, N_ARKIT, N_CHANNELS, POSE_NAMES
from emote.animation.face_animation import FaceAnimation
from emote.errors import FormatError, file_error
from emote.export._common import mesh_rig
from emote.io.atomic import atomic_write

EXTENSION = ".glb"
NAME = "glb"
_MM_TO_M = 0.001
_FLOAT, _UINT32 = 5126, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals ``(V, 3)`` of a triangle mesh (zero-area fallbacks: +Z).

    Not trimesh's ``vertex_normals`` (measured, benchmarks/results/field_libraries.json): it
    weights by corner angle, not area (1.7 degrees apart on average on the default head, so the
    GLB's normals would change) and takes 1.9x as long.
    """
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    out = np.zeros_like(v)
    for k in range(3):
        np.add.at(out, f[:, k], n)
    length = np.linalg.norm(out, axis=1, keepdims=True)
    out = np.where(length > 0, out / np.maximum(length, 1e-30), [0.0, 0.0, 1.0])
    return out.astype(np.float32)


def head_quaternions(curves: np.ndarray) -> np.ndarray:
    """glTF rotations (x, y, z, w) ``(frames, 4)`` of the head channels (see :func:`emote.rigs.mesh_tools.pose_rotations`)."""
    from emote.rigs.mesh_tools import pose_rotations

    c = np.asarray(curves, np.float64)
    rot = pose_rotations(c[:, INDEX["HeadYaw"]], c[:, INDEX["HeadPitch"]], c[:, INDEX["HeadRoll"]])
    return rot.as_quat().astype(np.float32)


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.clip(np.asarray(c, np.float64), 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


class _Builder:
    """Accumulates binary data, buffer views and accessors for one GLB."""

    def __init__(self) -> None:
        import pygltflib

        self.g = pygltflib
        self.blob = bytearray()
        self.views: list[Any] = []
        self.accessors: list[Any] = []

    def view(self, data: bytes, target: int | None = None) -> int:
        while len(self.blob) % 4:
            self.blob.append(0)
        self.views.append(
            self.g.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=len(data), target=target)
        )
        self.blob.extend(data)
        return len(self.views) - 1

    def accessor(
        self, array: np.ndarray, kind: str, *, target: int | None = None, bounds: bool = False
    ) -> int:
        a = np.ascontiguousarray(array)
        component = _UINT32 if a.dtype == np.uint32 else _FLOAT
        flat = a.reshape(len(a), -1)
        acc = self.g.Accessor(
            bufferView=self.view(a.tobytes(), target),
            componentType=component,
            count=len(a),
            type=kind,
        )
        if bounds:
            acc.min = flat.min(0).astype(float).tolist()
            acc.max = flat.max(0).astype(float).tolist()
        self.accessors.append(acc)
        return len(self.accessors) - 1

    def sparse_vec3(self, values: np.ndarray) -> int:
        """A VEC3 float accessor stored sparsely (non-zero rows only); min/max over all rows."""
        rows = np.nonzero(np.any(values != 0, axis=1))[0].astype(np.uint32)
        # No bufferView: the base is all zeros. byteOffset must then be absent (glTF 2.0
        # §5.1.1 "byteOffset ... dependencies: bufferView"); pygltflib defaults it to 0.
        acc = self.g.Accessor(componentType=_FLOAT, count=len(values), type="VEC3", byteOffset=None)
        acc.min = values.min(0).astype(float).tolist()
        acc.max = values.max(0).astype(float).tolist()
        if len(rows):
            acc.sparse = self.g.Sparse(
                count=len(rows),
                indices=self.g.AccessorSparseIndices(
                    bufferView=self.view(rows.tobytes()), componentType=_UINT32
                ),
                values=self.g.AccessorSparseValues(
                    bufferView=self.view(np.ascontiguousarray(values[rows], np.float32).tobytes())
                ),
            )
        self.accessors.append(acc)
        return len(self.accessors) - 1


def glb_bytes(anim: FaceAnimation, rig: Any) -> bytes:
    """The GLB file for ``anim`` on mesh rig ``rig`` (see the module notes)."""
    import pygltflib as g

    b = _Builder()
    neutral = np.asarray(rig.neutral, np.float32) * _MM_TO_M
    faces = np.asarray(rig.faces, np.uint32)
    deltas = np.asarray(rig.deltas, np.float32) * _MM_TO_M
    pivot = (
        (np.asarray(rig.head.pivot, np.float32) * _MM_TO_M)
        if rig.head is not None
        else np.zeros(3, np.float32)
    )
    names = list(rig.shape_names)

    attributes = g.Attributes(
        POSITION=b.accessor(neutral, "VEC3", target=_ARRAY_BUFFER, bounds=True),
        NORMAL=b.accessor(vertex_normals(neutral, faces), "VEC3", target=_ARRAY_BUFFER),
        COLOR_0=b.accessor(_srgb_to_linear(rig.colors), "VEC3", target=_ARRAY_BUFFER),
    )
    indices = b.accessor(faces.reshape(-1, 1), "SCALAR", target=_ELEMENT_ARRAY_BUFFER)
    targets = []
    for d in deltas:
        moved = int(np.any(d != 0, axis=1).sum())
        if moved * 3 < len(d):  # sparse pays off when a shape moves under a third of the vertices
            targets.append({"POSITION": b.sparse_vec3(d)})
        else:
            targets.append({"POSITION": b.accessor(d, "VEC3", target=_ARRAY_BUFFER, bounds=True)})
    primitive = g.Primitive(attributes=attributes, indices=indices, material=0, targets=targets or None)
    mesh = g.Mesh(
        name="head", primitives=[primitive], weights=[0.0] * len(names), extras={"targetNames": names}
    )

    curves = anim.curves
    columns = [INDEX[n] for n in names]
    times = (np.arange(anim.n_frames, dtype=np.float64) / anim.fps).astype(np.float32)
    animations = []
    if anim.n_frames:
        t_acc = b.accessor(times.reshape(-1, 1), "SCALAR", bounds=True)
        samplers = [g.AnimationSampler(input=t_acc, output=b.accessor(head_quaternions(curves), "VEC4"))]
        channels = [g.AnimationChannel(sampler=0, target=g.AnimationChannelTarget(node=0, path="rotation"))]
        if names:
            weights = np.ascontiguousarray(curves[:, columns], np.float32).reshape(-1, 1)
            samplers.append(g.AnimationSampler(input=t_acc, output=b.accessor(weights, "SCALAR")))
            channels.append(
                g.AnimationChannel(sampler=1, target=g.AnimationChannelTarget(node=1, path="weights"))
            )
        for s in samplers:
            s.interpolation = "LINEAR"
        animations = [g.Animation(name="emote", samplers=samplers, channels=channels)]

    from emote.export.json_format import dump_metadata

    emote_extras = {
        "fps": anim.fps,
        "frames": anim.n_frames,
        "pose_channels": list(POSE_NAMES),
        "pose": curves[:, N_ARKIT:].astype(np.float64).tolist(),  # float32 values, exact as JSON numbers
        "metadata": json.loads(dump_metadata(anim.metadata, Path(f"(animation of {rig.name})"))),
        "rig": rig.name,
    }
    gltf = g.GLTF2(
        asset=g.Asset(version="2.0", generator="emote", extras={"emote": emote_extras}),
        scene=0,
        scenes=[g.Scene(name="emote", nodes=[0])],
        nodes=[
            g.Node(name="emote_head", translation=pivot.astype(float).tolist(), children=[1]),
            g.Node(name="head", mesh=0, translation=(-pivot).astype(float).tolist()),
        ],
        meshes=[mesh],
        materials=[
            g.Material(
                name="skin",
                pbrMetallicRoughness=g.PbrMetallicRoughness(
                    baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0, roughnessFactor=0.6
                ),
            )
        ],
        accessors=b.accessors,
        bufferViews=b.views,
        buffers=[g.Buffer(byteLength=len(b.blob))],
        animations=animations,
    )
    return _container(gltf.to_json(), bytes(b.blob))


def _container(text: str, blob: bytes) -> bytes:
    """The GLB binary container: 12-byte header, JSON chunk (space-padded), BIN chunk (zero-padded)."""
    js = text.encode("utf-8")
    js += b" " * (-len(js) % 4)
    bin_ = blob + b"\x00" * (-len(blob) % 4)
    total = 12 + 8 + len(js) + 8 + len(bin_)
    return b"".join(
        [
            struct.pack("<4sII", b"glTF", 2, total),
            struct.pack("<I4s", len(js), b"JSON"),
            js,
            struct.pack("<I4s", len(bin_), b"BIN\x00"),
            bin_,
        ]
    )


def write(anim: FaceAnimation, path: str | PathLike[str], *, rig: Any = None) -> None:
    """Write ``anim`` as a GLB on ``rig`` (a :class:`~emote.rigs.base.MeshRig`; the default head if None).

    The file is built in memory and written atomically.

    Raises
    ------
    FormatError
        ``rig`` has no mesh (a curves-only rig such as MetaHuman), or metadata
        that cannot be stored as JSON.
    """
    if not isinstance(anim, FaceAnimation):
        raise TypeError(f"expected a FaceAnimation, got {type(anim).__name__}")
    rig = mesh_rig(rig, path, "GLB")
    data = glb_bytes(anim, rig)
    with atomic_write(path, "wb") as f:
        f.write(data)


def read(path: str | PathLike[str]) -> FaceAnimation:
    """Read the animation back from a GLB with morph-target weights (any writer; emote's exactly).

    Blendshape curves come from the first animation's ``weights`` channel,
    matched by target name to ARKit (:func:`emote.rigs.names.match_arkit_names`);
    the frame rate and head/eye angles from ``asset.extras["emote"]`` when
    present, otherwise the rate from the sampler times and angles 0.

    Raises
    ------
    FormatError
        Not a glTF file, or no weights animation with ARKit-named targets.
    """
    import pygltflib

    from emote.export._common import snap_fps
    from emote.rigs.names import match_arkit_names

    path = Path(path)
    if not path.is_file():
        raise file_error(FormatError, path, "file not found")
    try:
        gltf = pygltflib.GLTF2().load(str(path))
        assert gltf is not None
    except Exception:
        raise file_error(FormatError, path, "not a readable glTF/GLB file") from None
    from emote.rigs.gltf import _Reader

    reader = _Reader(gltf, path)
    extras = (gltf.asset.extras or {}).get("emote", {}) if isinstance(gltf.asset.extras, dict) else {}
    for animation in gltf.animations or []:
        for channel in animation.channels:
            if channel.target.path != "weights" or channel.target.node is None:
                continue
            node = gltf.nodes[channel.target.node]
            if node.mesh is None:
                continue
            mesh = gltf.meshes[node.mesh]
            names = (mesh.extras or {}).get("targetNames") or []
            matches = match_arkit_names(names)
            if not matches:
                continue
            sampler = animation.samplers[channel.sampler]
            try:
                times = reader.accessor(sampler.input)[:, 0].astype(np.float64)
                values = reader.accessor(sampler.output).reshape(-1)
            except Exception:
                raise file_error(FormatError, path, "malformed animation data") from None
            n_targets = len(names)
            if sampler.interpolation == "CUBICSPLINE":
                values = values.reshape(len(times), 3, n_targets)[:, 1]
            values = values.reshape(len(times), n_targets)
            fps = float(extras.get("fps") or 0.0)
            if fps <= 0:
                fps = snap_fps(1.0 / float(np.median(np.diff(times)))) if len(times) > 1 else 30.0
            curves = np.zeros((len(times), N_CHANNELS), np.float32)
            for src, name in matches.items():
                curves[:, INDEX[name]] = values[:, src]
            pose = extras.get("pose")
            if pose is not None and len(pose) == len(times):
                curves[:, N_ARKIT:] = np.asarray(pose, np.float64).astype(np.float32)
            metadata = extras.get("metadata") if isinstance(extras.get("metadata"), dict) else {}
            return FaceAnimation(fps, curves, metadata)
    raise file_error(FormatError, path, "no morph-target weights animation with ARKit-named targets")


__all__ = ["EXTENSION", "NAME", "glb_bytes", "head_quaternions", "read", "vertex_normals", "write"]
