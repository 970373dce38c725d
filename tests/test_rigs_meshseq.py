"""OBJ/PLY vertex sequences: one posed mesh per frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from test_glb import animation, small_rig

from emote.errors import FormatError
from emote.export.meshseq import read_ply_vertices, write_sequence
from emote.rigs.base import MeshRig


@dataclass(eq=False)
class BlendOnlyRig(MeshRig):
    """Poses by blendshapes alone (neutral + w @ deltas): the writer is tested without the posing module."""

    def pose(self, curves, *, device="cpu"):
        w = np.asarray(curves, np.float32)[:, [self._columns]][:, 0]
        return self.neutral[None] + np.einsum("fs,svc->fvc", w, self.deltas)


def rig() -> BlendOnlyRig:
    r = small_rig()
    return BlendOnlyRig(r.name, r.neutral, r.faces, r.shape_names, r.deltas, r.colors)


def expected(r, anim, frame):
    w = anim.curves[frame, r._columns]
    return (r.neutral + np.einsum("s,svc->vc", w, r.deltas)) * 0.001


def test_obj_sequence_has_one_posed_file_per_frame_in_metres(tmp_path):
    r, anim = rig(), animation(frames=5)
    paths = write_sequence(anim, tmp_path / "seq", rig=r, format="obj")
    assert [p.name for p in paths] == [f"frame_{i:06d}.obj" for i in range(5)]
    lines = paths[3].read_text().splitlines()
    verts = np.array([[float(t) for t in line.split()[1:4]] for line in lines if line.startswith("v ")])
    faces = np.array([[int(t) for t in line.split()[1:]] for line in lines if line.startswith("f ")])
    np.testing.assert_allclose(verts, expected(r, anim, 3), atol=1e-6)
    np.testing.assert_array_equal(faces - 1, r.faces)


def test_ply_sequence_stores_float32_positions_exactly(tmp_path):
    r, anim = rig(), animation(frames=3)
    seen = []
    paths = write_sequence(anim, tmp_path, rig=r, format="ply", progress=seen.append)
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])
    for i, path in enumerate(paths):
        np.testing.assert_allclose(read_ply_vertices(path), expected(r, anim, i), atol=1e-7)


def test_an_unknown_sequence_format_is_refused(tmp_path):
    with pytest.raises(FormatError, match="unknown mesh sequence format 'stl'"):
        write_sequence(animation(frames=1), tmp_path, rig=rig(), format="stl")


@pytest.mark.parametrize("fmt", ["obj", "ply"])
def test_trimesh_reads_our_frame_files_back_as_the_posed_mesh(tmp_path, fmt):
    """trimesh, an independent reader, sees the same vertices, triangles and colours."""
    import trimesh

    r, anim = rig(), animation(frames=3)
    path = write_sequence(anim, tmp_path / "seq", rig=r, format=fmt)[2]
    mesh = trimesh.load(path, file_type=fmt, process=False)
    np.testing.assert_allclose(mesh.vertices, expected(r, anim, 2), atol=1e-5)
    np.testing.assert_array_equal(mesh.faces, np.asarray(r.faces))
    rgb = np.asarray(mesh.visual.vertex_colors)[:, :3].astype(int)
    np.testing.assert_allclose(rgb, np.round(np.asarray(r.colors) * 255), atol=1)
