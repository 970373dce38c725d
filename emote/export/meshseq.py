"""Vertex sequences for research use: one OBJ or PLY file per frame of a posed mesh rig.

``<folder>/frame_000000.obj`` … (or ``.ply``), frame ``i`` at time ``i / fps``;
each file is the whole posed mesh (blendshapes, eyes and head rotation as the
rig's :meth:`~emote.rigs.base.MeshRig.pose` computes them) with the rig's
triangles. Coordinates in metres by default (``scale=0.001`` from the rig's
mm), +Y up, the face looking down +Z. OBJ files carry per-vertex colours as the
common ``v x y z r g b`` extension; PLY files are binary little-endian with
float32 positions, uchar colours and int32 triangles. Frames are posed in
chunks, so a long clip never sits in memory at once; each file is written
atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from emote.animation.face_animation import FaceAnimation
from emote.errors import FormatError, file_error
from emote.io.atomic import atomic_write

FORMATS = ("obj", "ply")
_CHUNK = 64
# The frame files are written here rather than by trimesh for a measured reason
# (benchmarks/results/field_libraries.json): on the default head trimesh's export takes 3.8x
# as long for OBJ and 11x for PLY, per frame of a clip. trimesh reads these files back in the
# tests (tests/test_rigs_meshseq.py), as an independent reader.


def _obj_bytes(vertices: np.ndarray, colors: np.ndarray, face_block: bytes) -> bytes:
    rows = np.concatenate([vertices, colors], axis=1).astype(np.float64)
    text = ("v %.6g %.6g %.6g %.4g %.4g %.4g\n" * len(rows)) % tuple(rows.ravel())
    return b"# emote posed mesh\n" + text.encode("ascii") + face_block


def _ply_bytes(vertices: np.ndarray, colors: np.ndarray, faces: np.ndarray) -> bytes:
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment emote posed mesh\n"
        f"element vertex {len(vertices)}\nproperty float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    ).encode("ascii")
    vert = np.empty(len(vertices), dtype=[("p", "<f4", 3), ("c", "u1", 3)])
    vert["p"] = vertices
    vert["c"] = np.clip(np.round(colors * 255), 0, 255)
    face = np.empty(len(faces), dtype=[("n", "u1"), ("i", "<i4", 3)])
    face["n"] = 3
    face["i"] = faces
    return header + vert.tobytes() + face.tobytes()


def write_sequence(
    anim: FaceAnimation,
    folder: str | PathLike[str],
    *,
    rig: Any,
    format: str = "obj",
    scale: float = 0.001,
    stem: str = "frame",
    progress: Callable[[float], None] | None = None,
) -> list[Path]:
    """Write one mesh file per frame of ``anim`` posed on ``rig``.

    Parameters
    ----------
    anim : FaceAnimation
    folder : str or PathLike
        Created if needed; existing frame files of the same names are replaced.
    rig : MeshRig
        The mesh to pose.
    format : {"obj", "ply"}
    scale : float
        Multiplies the rig's millimetres (0.001: metres).
    stem : str
        File name prefix (``frame_000000.obj``).
    progress : callable, optional
        Fraction of frames written (0..1).

    Returns
    -------
    list of Path
        The files written, in frame order.

    Raises
    ------
    FormatError
        Unknown format, or a rig without a mesh.
    """
    fmt = format.lower().lstrip(".")
    if fmt not in FORMATS:
        raise FormatError(f"unknown mesh sequence format {format!r}; formats are {', '.join(FORMATS)}")
    if not hasattr(rig, "pose"):
        raise file_error(FormatError, folder, f"rig {getattr(rig, 'name', rig)!r} has no mesh to pose")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    faces = np.asarray(rig.faces, np.int64)
    colors = np.asarray(rig.colors, np.float32)
    face_block = (
        ("f %d %d %d\n" * len(faces) % tuple((faces + 1).ravel())).encode("ascii") if fmt == "obj" else b""
    )
    digits = max(6, len(str(max(anim.n_frames - 1, 0))))
    paths: list[Path] = []
    for start in range(0, anim.n_frames, _CHUNK):
        posed = rig.pose(anim.curves[start : start + _CHUNK])
        posed = posed.detach().cpu().numpy() if hasattr(posed, "detach") else np.asarray(posed)
        for k, verts in enumerate(posed * scale):
            path = out / f"{stem}_{start + k:0{digits}d}.{fmt}"
            data = _obj_bytes(verts, colors, face_block) if fmt == "obj" else _ply_bytes(verts, colors, faces)
            with atomic_write(path, "wb", fsync=False) as f:
                f.write(data)
            paths.append(path)
            if progress:
                progress(len(paths) / anim.n_frames)
    return paths


def read_ply_vertices(path: str | PathLike[str]) -> np.ndarray:
    """Positions ``(V, 3)`` float32 of a PLY written by :func:`write_sequence` (for tests and tools)."""
    data = Path(path).read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode("ascii").splitlines()
    n = next(int(line.split()[-1]) for line in header if line.startswith("element vertex"))
    vert = np.frombuffer(data, dtype=[("p", "<f4", 3), ("c", "u1", 3)], count=n, offset=end)
    return vert["p"].copy()


__all__ = ["FORMATS", "read_ply_vertices", "write_sequence"]
