"""Posing a :class:`~emote.rigs.base.MeshRig`: curves in, vertices out, a whole clip per call.

``posed = neutral + clamp(w, 0, 1) @ deltas`` as one matrix product over frames,
then each rigid eyeball turned about its pivot by its eye angles, then the head
part turned about the neck pivot by the head angles.

Angle convention (radians, rig frame: +X the character's left, +Y up, +Z out of
the face), shared with :func:`emote.rigs.mesh_tools.pose_rotations` and the
GLB/USD/Blender exporters so every output turns the same way::

    R = R_y(yaw) · R_x(pitch) · R_z(−roll)

positive yaw turns the face (or the gaze) towards the character's left,
positive pitch tips it down, positive roll tilts the top of the head towards
the character's left shoulder; roll is applied first, yaw last. Points move as
``pivot + R (p − pivot)``.

Tensors derived from a rig (deltas as ``(S, V·3)``, indices, pivots) are
cached on the rig per device and dtype, so repeated calls only pay for the
product; the cache is rebuilt when the rig's arrays are replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from emote.animation.channels import INDEX
from emote.rigs.base import MeshRig, Rigid

DEFAULT_CHUNK = 256


def pose_rotations(yaw: torch.Tensor, pitch: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``R_y(yaw) R_x(pitch) R_z(−roll)`` for angle tensors (T,) -> (T, 3, 3)."""
    cy, sy = torch.cos(yaw), torch.sin(yaw)
    cp, sp = torch.cos(pitch), torch.sin(pitch)
    cr, sr = torch.cos(-roll), torch.sin(-roll)
    zero, one = torch.zeros_like(yaw), torch.ones_like(yaw)
    ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).view(-1, 3, 3)
    rx = torch.stack([one, zero, zero, zero, cp, -sp, zero, sp, cp], -1).view(-1, 3, 3)
    rz = torch.stack([cr, -sr, zero, sr, cr, zero, zero, zero, one], -1).view(-1, 3, 3)
    return ry @ rx @ rz


def head_rotations(curves: torch.Tensor) -> torch.Tensor:
    """Head rotation of every frame from the canonical curves (T, 61) -> (T, 3, 3)."""
    return pose_rotations(curves[:, INDEX["HeadYaw"]], curves[:, INDEX["HeadPitch"]], curves[:, INDEX["HeadRoll"]])


@dataclass
class _Part:
    index: torch.Tensor | None  # (k,) int64, or None for every vertex
    pivot: torch.Tensor  # (3,)
    columns: tuple[int | None, int | None, int | None]  # yaw, pitch, roll curve columns


@dataclass
class _Tensors:
    key: tuple
    neutral: torch.Tensor  # (1, V*3)
    deltas: torch.Tensor  # (S, V*3)
    columns: torch.Tensor  # (S,) int64 curve columns of the shapes
    eyes: list[_Part]
    head: _Part | None


def _part(rigid: Rigid, n_vertices: int, device: torch.device, dtype: torch.dtype) -> _Part:
    idx = np.asarray(rigid.vertices, np.int64)
    every = idx.size == n_vertices and bool(np.array_equal(idx, np.arange(n_vertices)))
    cols = tuple(None if name is None else INDEX[name] for name in (rigid.yaw, rigid.pitch, rigid.roll))
    return _Part(
        index=None if every else torch.as_tensor(idx, device=device),
        pivot=torch.as_tensor(np.asarray(rigid.pivot, np.float64), dtype=dtype, device=device),
        columns=cols,  # type: ignore[arg-type]
    )


def _rig_key(rig: MeshRig) -> tuple:
    parts = tuple((id(e.vertices), tuple(np.asarray(e.pivot).ravel()), e.yaw, e.pitch, e.roll) for e in rig.eyes)
    head = None if rig.head is None else (id(rig.head.vertices), tuple(np.asarray(rig.head.pivot).ravel()))
    return (id(rig.neutral), id(rig.deltas), rig.deltas.shape, tuple(rig.shape_names), parts, head)


def rig_tensors(rig: MeshRig, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> _Tensors:
    """The rig's arrays as tensors on ``device``, built once and cached on the rig."""
    device = torch.device(device)
    cache: dict = rig.__dict__.setdefault("_posing_cache", {})
    key = _rig_key(rig)
    slot = (str(device), dtype)
    hit = cache.get(slot)
    if hit is not None and hit.key == key:
        return hit
    v = rig.n_vertices
    t = _Tensors(
        key=key,
        neutral=torch.as_tensor(np.asarray(rig.neutral), dtype=dtype, device=device).reshape(1, v * 3),
        deltas=torch.as_tensor(np.asarray(rig.deltas), dtype=dtype, device=device).reshape(len(rig.shape_names), v * 3),
        columns=torch.as_tensor(rig._columns, device=device),
        eyes=[_part(e, v, device, dtype) for e in rig.eyes],
        head=None if rig.head is None else _part(rig.head, v, device, dtype),
    )
    cache[slot] = t
    return t


def _rotate(v: torch.Tensor, part: _Part, curves: torch.Tensor) -> None:
    """Turn ``part`` of frames ``v`` (t, V, 3) in place by its angle channels."""
    zero = torch.zeros(curves.shape[0], dtype=v.dtype, device=v.device)
    yaw, pitch, roll = (zero if c is None else curves[:, c] for c in part.columns)
    if part.columns == (None, None, None):
        return
    rot = pose_rotations(yaw, pitch, roll)  # (t, 3, 3)
    if part.index is None:
        v.sub_(part.pivot).copy_(torch.bmm(v, rot.transpose(1, 2))).add_(part.pivot)
    else:
        sub = v[:, part.index] - part.pivot
        v[:, part.index] = torch.bmm(sub, rot.transpose(1, 2)) + part.pivot


def pose_mesh(rig: MeshRig, curves: torch.Tensor, *, chunk: int = DEFAULT_CHUNK) -> torch.Tensor:
    """Posed vertices of every frame.

    Parameters
    ----------
    rig : MeshRig
    curves : torch.Tensor [shape=(T, 61)]
        Canonical curves (blendshape weights are clamped to [0, 1]; angles in radians).
    chunk : int
        Frames posed per matrix product; bounds the temporary memory for long clips
        (the output itself is ``T × V × 3`` floats).

    Returns
    -------
    torch.Tensor [shape=(T, V, 3)]
        On the device and (floating) dtype of ``curves`` (float32 for other dtypes).
    """
    if curves.ndim != 2:
        raise ValueError(f"curves must be (frames, 61), got {tuple(curves.shape)}")
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    dtype = curves.dtype if curves.dtype.is_floating_point else torch.float32
    curves = curves.to(dtype)
    t = rig_tensors(rig, curves.device, dtype)
    n, v = curves.shape[0], rig.n_vertices
    out = torch.empty((n, v, 3), dtype=dtype, device=curves.device)
    for start in range(0, n, chunk):
        c = curves[start : start + chunk]
        w = c[:, t.columns].clamp(0.0, 1.0)
        frames = torch.addmm(t.neutral, w, t.deltas).view(-1, v, 3)
        for eye in t.eyes:
            _rotate(frames, eye, c)
        if t.head is not None:
            _rotate(frames, t.head, c)
        out[start : start + chunk] = frames
    return out


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Area-weighted unit vertex normals of every frame at once.

    Each triangle adds its unnormalised normal ``(v1 − v0) × (v2 − v0)`` (twice
    its area) to its three corners; the sums are normalised. One cross product
    and three ``index_add_`` over the whole batch, no Python loop over frames.

    Parameters
    ----------
    vertices : torch.Tensor [shape=(T, V, 3)]
    faces : [shape=(F, 3)] int
        Counter-clockwise seen from outside.

    Returns
    -------
    torch.Tensor [shape=(T, V, 3)]
        Same dtype and device as ``vertices``; zero for vertices in no triangle.
    """
    if vertices.ndim != 3 or vertices.shape[-1] != 3:
        raise ValueError(f"vertices must be (T, V, 3), got {tuple(vertices.shape)}")
    f = torch.as_tensor(np.asarray(faces) if not torch.is_tensor(faces) else faces, device=vertices.device)
    f = f.to(torch.long)
    v0 = vertices[:, f[:, 0]]
    fn = torch.linalg.cross(vertices[:, f[:, 1]] - v0, vertices[:, f[:, 2]] - v0, dim=-1)
    acc = torch.zeros_like(vertices)
    for k in range(3):
        acc.index_add_(1, f[:, k], fn)
    return torch.nn.functional.normalize(acc, dim=-1, eps=1e-20)


def _probe(rig: MeshRig, name: str) -> int:
    try:
        return int(rig.probes[name])
    except KeyError:
        raise ValueError(f"rig {rig.name!r} has no {name!r} probe (probes: {sorted(rig.probes)})") from None


def lip_gap_mm(rig: MeshRig, posed: torch.Tensor, *, up: torch.Tensor | None = None) -> torch.Tensor:
    """Opening between the lips: height of the upper-lip midpoint over the lower one, clipped at 0.

    Measured along the head's up axis, so lips that meet *or* press into each
    other (``MouthClose`` without ``JawOpen``) read 0 rather than a distance.

    Parameters
    ----------
    posed : torch.Tensor [shape=(T, V, 3)]
        Posed vertices in mm (:func:`pose_mesh`).
    up : torch.Tensor [shape=(T, 3) or (3,)], optional
        The head's up axis per frame; +Y by default, exact when the head angles are
        zero (``head_rotations(curves)[:, :, 1]`` gives it for a turned head).

    Returns
    -------
    torch.Tensor [shape=(T,)]
    """
    d = posed[:, _probe(rig, "upper_lip")] - posed[:, _probe(rig, "lower_lip")]
    if up is None:
        return d[:, 1].clamp_min(0.0)
    return (d * up.to(d)).sum(-1).clamp_min(0.0)


def mouth_width_mm(rig: MeshRig, posed: torch.Tensor) -> torch.Tensor:
    """Distance between the mouth corners (mm): (T, V, 3) -> (T,)."""
    return torch.linalg.vector_norm(posed[:, _probe(rig, "mouth_left")] - posed[:, _probe(rig, "mouth_right")], dim=-1)
