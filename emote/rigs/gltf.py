"""Any glTF/GLB head whose morph targets carry ARKit names, as a :class:`MeshRig`.

Ready Player Me, VRoid, Character Creator or Rocketbox exports: the morph
targets are matched to ARKit names tolerantly (:mod:`emote.rigs.names`); the
ARKit shapes the file lacks are listed in ``rig.missing`` and stay still.

What is read (glTF 2.0 specification, Khronos Group):

- every mesh node of the default scene, each primitive's triangles (modes 4,
  5, 6), positions and ``POSITION`` morph targets, merged into one mesh;
  target names from ``mesh.extras.targetNames`` (or a primitive's extras);
- accessors of any component type, strided, normalised and sparse;
- node transforms: a mesh node's world matrix is applied; skinned meshes stay
  in their bind pose (the spec ignores a skinned mesh node's own transform);
- units: glTF is metres, +Y up, the front facing +Z; the rig is in mm;
- colour per vertex: ``COLOR_0`` × ``baseColorFactor``, else the base-colour
  texture's mean (when Pillow is installed) × factor, else the factor;
  factors are linear and converted to sRGB. A material with no colour
  information at all (white factor, no texture, no vertex colours) gets a
  neutral skin tone, with sclera/iris/pupil painted on its rigid eyeballs and
  a dark mouth interior behind the lips (found from the probes).

What is kept: the head. Primitives the ARKit shapes move are kept; others
only when they lie inside the head's box (eyes, teeth, hair) — a full-body
character keeps its head. Alpha-blended or masked cards (lashes, brows) are
dropped unless the shapes move them: an opaque renderer would draw them as
solid planes.

Eyes: a mesh/node named like an eye (``EyeLeft``, ``eye_L``) or vertices
skinned mostly to a joint named like one (``Bip01 LEye``) become rigid
eyeballs turned by the eye pose channels; their own EyeLook* morph motion is
then dropped so that they do not turn twice.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

from emote.animation.channels import ARKIT_NAMES
from emote.errors import RigError, file_error
from emote.rigs.base import MeshRig, Rigid
from emote.rigs.mesh_tools import (
    SKIN,
    detach_eye_look,
    find_probes,
    head_pivot,
    linear_to_srgb,
    paint_eyes,
    paint_mouth,
    sphere_centre,
)
from emote.rigs.names import match_arkit_names, missing_arkit_names

MAX_ACCESSOR_COUNT = 50_000_000
"""Most elements an accessor may claim: a file asking for more is refused before allocating."""

_DTYPES = {
    5120: np.int8,
    5121: np.uint8,
    5122: np.int16,
    5123: np.uint16,
    5125: np.uint32,
    5126: np.float32,
}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_METRES_TO_MM = 1000.0
_PART_WORDS = {"blink", "lid", "lids", "lash", "lashes", "brow", "brows", "socket", "top", "bottom"}
_PART_WORDS |= {"upper", "lower", "occlusion", "shadow", "look", "target", "aim", "wet", "tear", "lacrimal"}


@dataclass(eq=False)
class _Primitive:
    """One triangle primitive in world space (metres), before merging."""

    mesh: int
    label: str  # node and mesh names, for eye detection
    positions: np.ndarray  # (n, 3)
    faces: np.ndarray  # (f, 3) local indices
    targets: dict[str, np.ndarray]  # canonical ARKit name → (n, 3)
    colors: np.ndarray  # (n, 3)
    blended: bool
    plain: bool  # no colour information in the file: colours are ours to choose
    eye_side: str | None = None  # "left"/"right" when the node or mesh is an eyeball
    joint_eyes: dict[str, np.ndarray] = field(default_factory=dict)  # side → local vertex indices
    joint_pivots: dict[str, np.ndarray] = field(default_factory=dict)  # side → world pivot (m)
    head_joint: np.ndarray | None = None


class _Reader:
    """Accessor and buffer decoding for one loaded glTF."""

    def __init__(self, gltf, path: Path) -> None:
        self.gltf = gltf
        self.path = path
        self._buffers: dict[int, bytes] = {}

    def buffer(self, index: int) -> bytes:
        if index not in self._buffers:
            buf = self.gltf.buffers[index]
            uri = buf.uri
            if uri is None:
                data = self.gltf.binary_blob()
                if data is None:
                    raise file_error(RigError, self.path, f"buffer {index} has no data")
            elif uri.startswith("data:"):
                data = base64.b64decode(uri.split(",", 1)[1])
            else:
                target = self.local_file(uri, "buffer")
                if not target.is_file():
                    raise file_error(RigError, self.path, f"buffer file {uri!r} not found beside it")
                data = target.read_bytes()
            self._buffers[index] = bytes(data)
        return self._buffers[index]

    def local_file(self, uri: str, what: str) -> Path:
        """The file a relative glTF ``uri`` names, only inside the rig's folder.

        glTF 2.0 §3.6.1: a URI is a ``data:`` URI or one relative to the file. An
        absolute path, another scheme (``file:``, ``http:``) or ``..`` that climbs
        out of the folder (``../../../../etc/passwd``) is refused, never followed.
        """
        from urllib.parse import unquote, urlsplit

        refused = file_error(
            RigError, self.path, f"{what} uri {uri[:80]!r} points outside the rig's folder (refused)"
        )
        if urlsplit(uri).scheme or uri.startswith(("/", "\\")):
            raise refused
        folder = self.path.parent.resolve()
        target = (folder / unquote(uri)).resolve()
        if target != folder and folder not in target.parents:
            raise refused
        return target

    def view(self, index: int) -> tuple[bytes, int, int | None]:
        bv = self.gltf.bufferViews[index]
        return self.buffer(bv.buffer), bv.byteOffset or 0, bv.byteStride

    def _read(self, view: int, offset: int, dtype: np.dtype, count: int, width: int) -> np.ndarray:
        data, base, stride = self.view(view)
        item = np.dtype(dtype).itemsize * width
        start = base + offset
        if stride and stride != item:
            raw = np.frombuffer(data, np.uint8, count=stride * (count - 1) + item, offset=start)
            rows = np.lib.stride_tricks.as_strided(raw, shape=(count, item), strides=(stride, 1))
            return np.ascontiguousarray(rows).view(dtype).reshape(count, width)
        return np.frombuffer(data, dtype, count=count * width, offset=start).reshape(count, width).copy()

    def accessor(self, index: int) -> np.ndarray:
        """Decoded accessor, shape (count, width); float32 for float or normalised data."""
        acc = self.gltf.accessors[index]
        dtype = np.dtype(_DTYPES[acc.componentType])
        width = _WIDTH[acc.type]
        if not 0 <= acc.count <= MAX_ACCESSOR_COUNT:
            raise file_error(RigError, self.path, f"accessor {index} claims {acc.count} elements (refused)")
        if acc.bufferView is None:
            out = np.zeros((acc.count, width), dtype)
        else:
            out = self._read(acc.bufferView, acc.byteOffset or 0, dtype, acc.count, width)
        if acc.sparse is not None and acc.sparse.count:
            sp = acc.sparse
            idx = self._read(
                sp.indices.bufferView,
                sp.indices.byteOffset or 0,
                _DTYPES[sp.indices.componentType],
                sp.count,
                1,
            )[:, 0].astype(np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= acc.count):
                raise file_error(
                    RigError,
                    self.path,
                    f"accessor {index}: sparse index {int(idx.max())} beyond its {acc.count} elements",
                )
            out = out.copy()
            out[idx] = self._read(sp.values.bufferView, sp.values.byteOffset or 0, dtype, sp.count, width)
        if acc.normalized and dtype.kind in "iu":
            # glTF 2.0 §3.11: unsigned c / max, signed max(c / max, -1).
            out = np.maximum(out.astype(np.float32) / np.iinfo(dtype).max, -1.0)
        return out


def _node_matrix(node) -> np.ndarray:
    if node.matrix is not None and len(node.matrix) == 16:
        return np.asarray(node.matrix, np.float64).reshape(4, 4).T  # column-major in the file
    t = np.asarray(node.translation or (0, 0, 0), np.float64)
    x, y, z, w = np.asarray(node.rotation or (0, 0, 0, 1), np.float64)
    s = np.asarray(node.scale or (1, 1, 1), np.float64)
    r = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    m = np.eye(4)
    m[:3, :3] = r * s
    m[:3, 3] = t
    return m


def _world_matrices(gltf) -> dict[int, np.ndarray]:
    """World matrix of every node reachable from the default scene (all roots without scenes)."""
    if gltf.scenes:
        roots = gltf.scenes[gltf.scene or 0].nodes or []
    else:
        children = {c for n in gltf.nodes for c in (n.children or [])}
        roots = [i for i in range(len(gltf.nodes)) if i not in children]
    world: dict[int, np.ndarray] = {}
    stack = [(i, np.eye(4)) for i in roots]
    while stack:
        i, parent = stack.pop()
        if i in world:
            continue
        world[i] = parent @ _node_matrix(gltf.nodes[i])
        stack.extend((c, world[i]) for c in gltf.nodes[i].children or [])
    return world


def _triangles(mode: int | None, idx: np.ndarray) -> np.ndarray | None:
    mode = 4 if mode is None else mode
    if mode == 4:
        return idx[: len(idx) // 3 * 3].reshape(-1, 3)
    if mode == 5:  # strip: alternate winding
        if len(idx) < 3:
            return np.zeros((0, 3), np.int64)
        k = np.arange(len(idx) - 2)
        tri = np.stack([idx[k], idx[k + 1], idx[k + 2]], 1)
        tri[1::2, [0, 1]] = tri[1::2, [1, 0]]
        return tri
    if mode == 6:  # fan
        if len(idx) < 3:
            return np.zeros((0, 3), np.int64)
        k = np.arange(1, len(idx) - 1)
        return np.stack([np.full_like(k, idx[0]), idx[k], idx[k + 1]], 1)
    return None  # points and lines draw no surface


def _words(name: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name or "")]


def _eye_side(name: str) -> str | None:
    """'left'/'right' when ``name`` names an eyeball (``EyeLeft``, ``Bip01 LEye``), else None."""
    words = _words(name)
    if not ({"eye", "eyeball"} & set(words)) or _PART_WORDS & set(words):
        return None
    sides = {"l": "left", "left": "left", "r": "right", "right": "right"}
    found = {sides[w] for w in words if w in sides}
    return found.pop() if len(found) == 1 else None


def _is_head_joint(name: str) -> bool:
    words = set(_words(name))
    return "head" in words and not (words & {"end", "top", "nub", "tip"})


def _texture_mean(reader: _Reader, tex_index: int) -> np.ndarray | None:
    """Mean sRGB colour of a texture, or None when it cannot be decoded (Pillow absent, external)."""
    gltf = reader.gltf
    try:
        image = gltf.images[gltf.textures[tex_index].source]
    except (IndexError, TypeError, AttributeError):
        return None
    if image.uri and not image.uri.startswith("data:"):
        reader.local_file(image.uri, "image")  # refused when out of the rig's folder, Pillow or not
    try:
        from io import BytesIO

        from PIL import Image
    except ImportError:
        return None
    try:
        if image.bufferView is not None:
            data, offset, _ = reader.view(image.bufferView)
            blob = data[offset : offset + gltf.bufferViews[image.bufferView].byteLength]
        elif image.uri and image.uri.startswith("data:"):
            blob = base64.b64decode(image.uri.split(",", 1)[1])
        elif image.uri:
            blob = reader.local_file(image.uri, "image").read_bytes()
        else:
            return None
        with Image.open(BytesIO(blob)) as im:
            rgba = np.asarray(im.convert("RGBA").resize((64, 64)), np.float32) / 255.0
    except Exception:  # an undecodable texture only costs colour fidelity
        return None
    alpha = rgba[..., 3:4]
    if alpha.sum() <= 0:
        return None
    return (rgba[..., :3] * alpha).sum((0, 1)) / alpha.sum()


def _primitive_colors(reader: _Reader, prim, n: int) -> tuple[np.ndarray, bool, bool]:
    """(colours (n, 3) sRGB, has colour information, is alpha-blended/masked)."""
    gltf = reader.gltf
    factor = np.ones(3)
    mean = None
    blended = False
    if prim.material is not None:
        mat = gltf.materials[prim.material]
        blended = (mat.alphaMode or "OPAQUE") in ("BLEND", "MASK")
        pbr = mat.pbrMetallicRoughness
        if pbr is not None:
            if pbr.baseColorFactor:
                factor = np.asarray(pbr.baseColorFactor[:3], np.float64)
            if pbr.baseColorTexture is not None:
                mean = _texture_mean(reader, pbr.baseColorTexture.index)
    color0 = getattr(prim.attributes, "COLOR_0", None)
    if color0 is not None:
        c = reader.accessor(color0)[:, :3].astype(np.float64)
        return linear_to_srgb(c * factor), True, blended
    if mean is not None:
        return np.tile(mean * linear_to_srgb(factor), (n, 1)).astype(np.float32), True, blended
    informative = bool(np.any(np.abs(factor - 1.0) > 1e-6))
    return np.tile(linear_to_srgb(factor), (n, 1)), informative, blended


def _read_primitives(reader: _Reader) -> list[_Primitive]:
    gltf = reader.gltf
    world = _world_matrices(gltf)
    out: list[_Primitive] = []
    for node_index in sorted(world):  # file order, so vertex numbering follows the file
        matrix = world[node_index]
        node = gltf.nodes[node_index]
        if node.mesh is None:
            continue
        mesh = gltf.meshes[node.mesh]
        mesh_names = (mesh.extras or {}).get("targetNames") if isinstance(mesh.extras, dict) else None
        skin = gltf.skins[node.skin] if node.skin is not None else None
        # glTF 2.0 §3.7.3: a skinned mesh's node transform is ignored; bind pose = the stored positions.
        m = np.eye(4) if skin is not None else matrix
        lin, shift = m[:3, :3], m[:3, 3]
        flip = np.linalg.det(lin) < 0
        joint_names: list[str] = []
        bind: np.ndarray | None = None
        if skin is not None:
            joint_names = [gltf.nodes[j].name or "" for j in skin.joints]
            if skin.inverseBindMatrices is not None:
                ibm = reader.accessor(skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
                bind = np.linalg.inv(ibm.astype(np.float64))[:, :3, 3]  # joint positions at bind time
        label = f"{node.name or ''} {mesh.name or ''}"
        for prim in mesh.primitives:
            if prim.attributes.POSITION is None:
                continue
            pos = reader.accessor(prim.attributes.POSITION).astype(np.float64)
            idx = (
                reader.accessor(prim.indices)[:, 0].astype(np.int64)
                if prim.indices is not None
                else np.arange(len(pos), dtype=np.int64)
            )
            if idx.size and (idx.min() < 0 or idx.max() >= len(pos)):
                raise file_error(
                    RigError, reader.path,
                    f"mesh {node.mesh}: index {int(idx.max())} refers past its {len(pos)} vertices",
                )  # fmt: skip
            faces = _triangles(prim.mode, idx)
            if faces is None or len(faces) == 0:
                continue
            if flip:
                faces = faces[:, ::-1]
            names = mesh_names
            if not names and isinstance(prim.extras, dict):
                names = prim.extras.get("targetNames")
            targets: dict[str, np.ndarray] = {}
            if prim.targets and names:
                for ti, canonical in match_arkit_names(names).items():
                    if ti < len(prim.targets) and prim.targets[ti].get("POSITION") is not None:
                        d = reader.accessor(prim.targets[ti]["POSITION"]).astype(np.float64)
                        if d.shape != pos.shape:
                            raise file_error(
                                RigError, reader.path,
                                f"mesh {node.mesh}: morph target {canonical!r} has {len(d)} vertices, "
                                f"the mesh {len(pos)}",
                            )  # fmt: skip
                        targets[canonical] = d @ lin.T
            colors, informative, blended = _primitive_colors(reader, prim, len(pos))
            if not informative:
                colors = np.tile(np.asarray(SKIN, np.float32), (len(pos), 1))
            rec = _Primitive(
                mesh=node.mesh,
                label=label,
                positions=pos @ lin.T + shift,
                faces=faces,
                targets=targets,
                colors=colors.astype(np.float32),
                blended=blended,
                plain=not informative,
                eye_side=_eye_side(node.name or "") or _eye_side(mesh.name or ""),
            )
            joints0 = getattr(prim.attributes, "JOINTS_0", None)
            weights0 = getattr(prim.attributes, "WEIGHTS_0", None)
            if skin is not None and joints0 is not None and weights0 is not None:
                joints = reader.accessor(joints0).astype(np.int64)
                weights = reader.accessor(weights0).astype(np.float64)
                best = np.argmax(weights, axis=1)
                dominant = joints[np.arange(len(joints)), best]
                strong = weights[np.arange(len(weights)), best] >= 0.5
                for j, jname in enumerate(joint_names):
                    if _is_head_joint(jname) and bind is not None:
                        rec.head_joint = bind[j]
                    side = _eye_side(jname)
                    if side is None:
                        continue
                    verts = np.nonzero((dominant == j) & strong)[0]
                    if len(verts):
                        rec.joint_eyes[side] = verts
                        if bind is not None:
                            rec.joint_pivots[side] = bind[j]
            out.append(rec)
    return out


def _select_head(prims: list[_Primitive]) -> list[_Primitive]:
    """The primitives that make the head: those the ARKit shapes move, and whatever lies in their box."""
    motion = [max((float(np.abs(d).max()) for d in p.targets.values()), default=0.0) for p in prims]
    # Exporters leave float noise (~1e-7 m) in targets of parts the shapes do not move.
    moving = [m > 1e-3 * max(motion) for m in motion]
    if not any(moving):
        return [p for p in prims if not p.blended] or prims
    pts = np.concatenate([p.positions for p, m in zip(prims, moving, strict=True) if m])
    lo, hi = pts.min(0), pts.max(0)
    pad = 0.1 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    keep = []
    for p, m in zip(prims, moving, strict=True):
        if m:
            keep.append(p)
        elif not p.blended:
            inside = np.all((p.positions >= lo) & (p.positions <= hi), axis=1).mean()
            if inside >= 0.9:
                keep.append(p)
    return keep


def load_gltf_rig(path: str | PathLike[str], *, name: str | None = None) -> MeshRig:
    """Load a glTF/GLB character's head as a mesh rig.

    Parameters
    ----------
    path : str or PathLike
        A ``.glb`` or ``.gltf`` file (external buffers beside it are read).
    name : str, optional
        Rig name; the file's stem by default.

    Returns
    -------
    MeshRig
        Vertices in mm, the matched ARKit shapes (``shape_names`` in canonical
        order), ``missing`` listing the ARKit shapes the file lacks, rigid
        eyes where found, the head as a rigid part and the metric probes
        (see :func:`emote.rigs.mesh_tools.find_probes`).

    Raises
    ------
    RigError
        The file is missing or unreadable, has no triangle mesh, or none of
        its morph targets carries an ARKit name.
    """
    import pygltflib

    path = Path(path)
    if not path.is_file():
        raise file_error(RigError, path, "file not found")
    try:
        gltf = pygltflib.GLTF2().load(str(path))
    except Exception as exc:
        raise file_error(RigError, path, f"not a readable glTF/GLB file ({exc})") from None
    if gltf is None:
        raise file_error(RigError, path, "not a readable glTF/GLB file")
    reader = _Reader(gltf, path)
    try:
        prims = _read_primitives(reader)
    except RigError:
        raise
    except Exception as exc:
        raise file_error(RigError, path, f"malformed glTF data ({type(exc).__name__}: {exc})") from None
    if not prims:
        raise file_error(RigError, path, "no triangle mesh in the default scene")
    if not any(p.targets for p in prims):
        raise file_error(
            RigError, path, "no morph target with an ARKit name (e.g. 'jawOpen', 'AK_25_JawOpen')"
        )
    prims = _select_head(prims)

    offsets = np.cumsum([0] + [len(p.positions) for p in prims])
    neutral = np.concatenate([p.positions for p in prims]) * _METRES_TO_MM
    faces = np.concatenate([p.faces + o for p, o in zip(prims, offsets[:-1], strict=True)]).astype(np.int32)
    colors = np.concatenate([p.colors for p in prims])
    present = {n for p in prims for n in p.targets}
    shape_names = [n for n in ARKIT_NAMES if n in present]
    deltas = np.zeros((len(shape_names), len(neutral), 3), np.float32)
    for p, o in zip(prims, offsets[:-1], strict=True):
        for s, n in enumerate(shape_names):
            if n in p.targets:
                deltas[s, o : o + len(p.positions)] = p.targets[n] * _METRES_TO_MM

    eyes: list[Rigid] = []
    for side in ("left", "right"):
        verts = [
            np.arange(o, o + len(p.positions))
            for p, o in zip(prims, offsets[:-1], strict=True)
            if p.eye_side == side
        ]
        pivot = None
        if not verts:
            for p, o in zip(prims, offsets[:-1], strict=True):
                if side in p.joint_eyes:
                    verts.append(p.joint_eyes[side] + o)
                    if side in p.joint_pivots:
                        pivot = p.joint_pivots[side] * _METRES_TO_MM
        if not verts:
            continue
        idx = np.unique(np.concatenate(verts)).astype(np.int64)
        if pivot is None:
            pivot = sphere_centre(neutral[idx])
        prefix = "Left" if side == "left" else "Right"
        eyes.append(
            Rigid(
                idx, np.asarray(pivot, np.float32), f"{prefix}EyeYaw", f"{prefix}EyePitch", f"{prefix}EyeRoll"
            )
        )
    deltas = detach_eye_look(deltas, shape_names, [e.vertices for e in eyes])

    eye_verts = np.concatenate([e.vertices for e in eyes]) if eyes else np.zeros(0, np.int64)
    skin_verts = np.setdiff1d(np.arange(len(neutral)), eye_verts)
    neutral32 = neutral.astype(np.float32)
    probes = find_probes(neutral32, deltas, shape_names, candidates=skin_verts)
    # Where the file says nothing about colour, paint eyes and the mouth's inside so previews read.
    plain = np.concatenate([np.full(len(p.positions), p.plain) for p in prims])
    colors = paint_eyes(colors, neutral32, [e for e in eyes if plain[e.vertices].all()])
    colors = paint_mouth(colors, neutral32, faces, probes, skin_verts[plain[skin_verts]])
    head_joint = next((p.head_joint for p in prims if p.head_joint is not None), None)
    pivot = head_joint * _METRES_TO_MM if head_joint is not None else head_pivot(neutral32, probes)
    head = Rigid(
        np.arange(len(neutral), dtype=np.int64),
        np.asarray(pivot, np.float32),
        "HeadYaw",
        "HeadPitch",
        "HeadRoll",
    )
    return MeshRig(
        name=name or path.stem,
        neutral=neutral32,
        faces=faces,
        shape_names=shape_names,
        deltas=deltas,
        colors=colors.astype(np.float32),
        eyes=eyes,
        head=head,
        probes=probes,
        missing=missing_arkit_names(shape_names),
    )


__all__ = ["load_gltf_rig"]
