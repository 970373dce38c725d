"""Posing a MeshRig: blendshapes, rigid eyes and head, normals and metric probes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from emote.animation.channels import INDEX, N_CHANNELS
from emote.rigs.base import MeshRig, Rigid
from emote.rigs.posing import (
    head_rotations,
    lip_gap_mm,
    mouth_width_mm,
    pose_mesh,
    pose_rotations,
    vertex_normals,
)

SHAPES = ["JawOpen", "MouthClose", "EyeBlinkLeft", "MouthSmileLeft", "BrowInnerUp"]


def _rig(seed: int = 0, n: int = 60) -> MeshRig:
    """A random rig: 60 vertices, 5 shapes, one rigid eye (the first 10 vertices), a head."""
    rng = np.random.default_rng(seed)
    neutral = rng.normal(0.0, 50.0, (n, 3)).astype(np.float32)
    return MeshRig(
        name="random",
        neutral=neutral,
        faces=rng.integers(0, n, (40, 3)).astype(np.int32),
        shape_names=list(SHAPES),
        deltas=rng.normal(0.0, 5.0, (len(SHAPES), n, 3)).astype(np.float32),
        colors=np.full((n, 3), 0.5, np.float32),
        eyes=[
            Rigid(
                np.arange(10),
                np.array([30.0, 0.0, 70.0], np.float32),
                "LeftEyeYaw",
                "LeftEyePitch",
                "LeftEyeRoll",
            )
        ],
        head=Rigid(
            np.arange(n), np.array([0.0, -70.0, -20.0], np.float32), "HeadYaw", "HeadPitch", "HeadRoll"
        ),
        probes={"upper_lip": 10, "lower_lip": 11, "mouth_left": 12, "mouth_right": 13},
    )


def _reference_pose(rig: MeshRig, curves: np.ndarray) -> np.ndarray:
    """Frame-by-frame numpy oracle, with SciPy's Euler angles for the rotations."""
    out = []
    for c in curves.astype(np.float64):
        v = rig.neutral.astype(np.float64).copy()
        for s, name in enumerate(rig.shape_names):
            v += np.clip(c[INDEX[name]], 0.0, 1.0) * rig.deltas[s]
        for part in [*rig.eyes, rig.head]:
            # Eye angles carry the Live Link Face app's signs: yaw and roll mirrored left to right.
            m = 1.0 if part is rig.head else -1.0
            rot = Rotation.from_euler(
                "YXZ", [m * c[INDEX[part.yaw]], c[INDEX[part.pitch]], -m * c[INDEX[part.roll]]]
            )
            idx = part.vertices
            v[idx] = part.pivot + (v[idx] - part.pivot) @ rot.as_matrix().T
        out.append(v)
    return np.stack(out)


def _curves(frames: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.uniform(-0.3, 1.3, (frames, N_CHANNELS)).astype(np.float32)  # weights outside [0, 1] too
    c[:, 52:] = rng.uniform(-0.5, 0.5, (frames, 9))
    return c


def test_pose_matches_a_frame_by_frame_reference():
    rig = _rig()
    curves = _curves(12)
    got = pose_mesh(rig, torch.from_numpy(curves)).numpy()
    np.testing.assert_allclose(got, _reference_pose(rig, curves), atol=2e-3)


def test_chunking_does_not_change_the_result():
    rig = _rig()
    curves = torch.from_numpy(_curves(23))
    full = pose_mesh(rig, curves)
    for chunk in (1, 5, 64):
        torch.testing.assert_close(pose_mesh(rig, curves, chunk=chunk), full)


def test_weights_are_clamped_to_unit_range():
    rig = _rig()
    over = np.zeros((2, N_CHANNELS), np.float32)
    over[0, INDEX["JawOpen"]], over[1, INDEX["JawOpen"]] = 2.5, -1.0
    clamped = over.copy()
    clamped[0, INDEX["JawOpen"]], clamped[1, INDEX["JawOpen"]] = 1.0, 0.0
    torch.testing.assert_close(rig.pose(over), rig.pose(clamped))


def test_replacing_the_deltas_is_seen_by_the_next_pose():
    rig = _rig()
    c = np.zeros((1, N_CHANNELS), np.float32)
    c[0, INDEX["JawOpen"]] = 1.0
    before = rig.pose(c)
    rig.deltas = rig.deltas * 2.0
    after = rig.pose(c)
    jaw = rig.deltas[0] / 2.0
    np.testing.assert_allclose((after - before)[0].numpy(), jaw, atol=1e-4)


def test_rotations_follow_the_documented_convention():
    a = torch.tensor([0.3])
    zero = torch.zeros(1)
    forward = torch.tensor([0.0, 0.0, 1.0])
    up = torch.tensor([0.0, 1.0, 0.0])
    # Positive yaw turns the face towards the character's left (+X).
    assert (pose_rotations(a, zero, zero)[0] @ forward)[0] > 0.25
    # Positive pitch tips the face down.
    assert (pose_rotations(zero, a, zero)[0] @ forward)[1] < -0.25
    # Positive roll tilts the top of the head towards the character's left.
    assert (pose_rotations(zero, zero, a)[0] @ up)[0] > 0.25


def test_rotations_agree_with_the_exporters():
    from emote.rigs import mesh_tools

    rng = np.random.default_rng(3)
    yaw, pitch, roll = rng.uniform(-1.0, 1.0, (3, 16))
    ours = pose_rotations(*(torch.from_numpy(x) for x in (yaw, pitch, roll))).numpy()
    np.testing.assert_allclose(ours, mesh_tools.pose_rotations(yaw, pitch, roll).as_matrix(), atol=1e-9)


def test_zero_angles_leave_rigid_parts_alone():
    rig = _rig()
    c = np.zeros((1, N_CHANNELS), np.float32)
    np.testing.assert_allclose(rig.pose(c)[0].numpy(), rig.neutral, atol=1e-5)


def _icosphere() -> tuple[torch.Tensor, np.ndarray]:
    from scipy.spatial import ConvexHull

    rng = np.random.default_rng(5)
    p = rng.normal(size=(400, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    f = ConvexHull(p).simplices
    n = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])
    flip = (n * p[f].mean(1)).sum(1) < 0
    f[flip] = f[flip][:, ::-1]
    return torch.from_numpy(p).float()[None], f


def test_normals_of_a_sphere_point_outwards():
    v, f = _icosphere()
    n = vertex_normals(v * 40.0, f)
    cos = (n[0] * v[0]).sum(-1)
    assert float(cos.min()) > 0.95  # irregular triangles: close to, not exactly, radial
    torch.testing.assert_close(n.norm(dim=-1), torch.ones(1, v.shape[1]))


def test_normals_match_a_plain_scatter_reference_for_every_frame():
    v, f = _icosphere()
    rng = torch.Generator().manual_seed(0)
    frames = v * 40.0 + torch.randn((11, v.shape[1], 3), generator=rng)
    ft = torch.as_tensor(f, dtype=torch.long)
    ref = torch.zeros_like(frames)
    fn = torch.linalg.cross(
        frames[:, ft[:, 1]] - frames[:, ft[:, 0]], frames[:, ft[:, 2]] - frames[:, ft[:, 0]], dim=-1
    )
    for k in range(3):
        ref.index_add_(1, ft[:, k], fn)
    ref = torch.nn.functional.normalize(ref, dim=-1)
    got = vertex_normals(frames, f, chunk=4)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=0)


def test_lip_gap_is_height_of_upper_over_lower_lip_clipped_at_zero():
    rig = _rig()
    posed = torch.zeros((3, rig.n_vertices, 3))
    posed[:, 10, 1] = torch.tensor([5.0, 0.0, -4.0])  # upper lip above, level, pressed through
    posed[:, 12, 0], posed[:, 13, 0] = 25.0, -25.0
    torch.testing.assert_close(lip_gap_mm(rig, posed), torch.tensor([5.0, 0.0, 0.0]))
    torch.testing.assert_close(mouth_width_mm(rig, posed), torch.full((3,), 50.0))


def test_lip_gap_measures_along_a_turned_heads_up_axis():
    rig = _rig()
    c = np.zeros((1, N_CHANNELS), np.float32)
    c[0, INDEX["HeadRoll"]] = 0.6
    rot = head_rotations(torch.from_numpy(c))
    posed = torch.zeros((1, rig.n_vertices, 3))
    posed[0, 10] = rot[0] @ torch.tensor([0.0, 6.0, 0.0])  # 6 mm above the lower lip, in the head frame
    assert float(lip_gap_mm(rig, posed, up=rot[:, :, 1])[0]) == pytest.approx(6.0, abs=1e-5)
    assert float(lip_gap_mm(rig, posed)[0]) < 5.5  # world +Y underestimates it


def test_missing_probe_is_a_clear_error():
    rig = _rig()
    rig.probes = {}
    with pytest.raises(ValueError, match="upper_lip"):
        lip_gap_mm(rig, torch.zeros((1, rig.n_vertices, 3)))


def test_bad_curves_are_rejected():
    rig = _rig()
    with pytest.raises(ValueError, match="61"):
        rig.pose(np.zeros((4, 52), np.float32))
    with pytest.raises(ValueError, match="chunk"):
        pose_mesh(rig, torch.zeros((4, N_CHANNELS)), chunk=0)
