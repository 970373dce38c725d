"""USD export read back through pxr.UsdSkel: blend shapes, weights per time code, deformed points."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import missing

pxr = pytest.importorskip("pxr", reason=missing("render", "usd-core (pxr) not installed"))
from pxr import Usd, UsdGeom, UsdSkel  # noqa: E402
from test_glb import animation, small_rig  # noqa: E402

from emote.animation.channels import INDEX, N_ARKIT  # noqa: E402
from emote.errors import FormatError  # noqa: E402
from emote.export import usd  # noqa: E402


@pytest.fixture()
def written(tmp_path):
    rig, anim = small_rig(), animation(frames=9, fps=24.0)
    path = tmp_path / "take.usd"
    usd.write(anim, path, rig=rig)
    return path, rig, anim


def skel_queries(path):
    stage = Usd.Stage.Open(str(path))
    cache = UsdSkel.Cache()
    root = UsdSkel.Root(stage.GetDefaultPrim())
    cache.Populate(root, Usd.TraverseInstanceProxies())
    bindings = cache.ComputeSkelBindings(root, Usd.TraverseInstanceProxies())
    (binding,) = bindings
    skel_query = cache.GetSkelQuery(binding.GetSkeleton())
    (target,) = binding.GetSkinningTargets()
    return stage, skel_query, target


def test_usd_time_codes_follow_the_frame_rate(written):
    path, _, anim = written
    stage = Usd.Stage.Open(str(path))
    assert stage.GetTimeCodesPerSecond() == anim.fps
    assert (stage.GetStartTimeCode(), stage.GetEndTimeCode()) == (0, anim.n_frames - 1)
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    assert UsdGeom.GetStageMetersPerUnit(stage) == pytest.approx(0.001)


def test_usdskel_weights_per_time_code_match_the_animation(written):
    path, rig, anim = written
    _stage, skel_query, target = skel_queries(path)  # _stage keeps the stage alive while querying
    anim_query = skel_query.GetAnimQuery()
    assert list(anim_query.GetBlendShapeOrder()) == rig.shape_names
    assert list(UsdSkel.BindingAPI(target.GetPrim()).GetBlendShapesAttr().Get()) == rig.shape_names
    for frame in range(anim.n_frames):
        weights = np.asarray(anim_query.ComputeBlendShapeWeights(Usd.TimeCode(frame)))
        expected = anim.curves[frame, [INDEX[n] for n in rig.shape_names]]
        np.testing.assert_allclose(weights, expected, atol=1e-4)


def test_usdskel_deforms_the_mesh_like_the_rig(written):
    path, rig, anim = written
    _stage, skel_query, target = skel_queries(path)  # _stage keeps the stage alive while querying
    anim_query = skel_query.GetAnimQuery()
    shapes = UsdSkel.BlendShapeQuery(UsdSkel.BindingAPI(target.GetPrim()))
    frame = 4
    weights = anim_query.ComputeBlendShapeWeights(Usd.TimeCode(frame))
    sub_weights, shape_idx, sub_idx = shapes.ComputeSubShapeWeights(weights)
    points = target.GetPrim().GetAttribute("points").Get()
    ok = shapes.ComputeDeformedPoints(
        sub_weights,
        shape_idx,
        sub_idx,
        shapes.ComputeBlendShapePointIndices(),
        shapes.ComputeSubShapePointOffsets(),
        points,
    )
    assert ok
    w = anim.curves[frame, [INDEX[n] for n in rig.shape_names]]
    expected = rig.neutral + np.einsum("s,svc->vc", w, rig.deltas)
    np.testing.assert_allclose(np.asarray(points), expected, atol=1e-3)  # mm


def test_empty_shapes_are_left_off_the_mesh_and_the_rest_still_deform(tmp_path):
    # The default head's EyeLookIn/Out move no vertex (its eyeballs turn by the eye angles).
    from emote.rigs.registry import load_rig

    rig = load_rig("default")
    empty = {n for n, d in zip(rig.shape_names, rig.deltas, strict=True) if not np.any(d)}
    assert empty == {"EyeLookInLeft", "EyeLookOutLeft", "EyeLookInRight", "EyeLookOutRight"}
    anim = animation(frames=3, fps=30.0)
    usd.write(anim, tmp_path / "head.usd", rig=rig)
    stage, skel_query, target = skel_queries(tmp_path / "head.usd")
    assert stage.GetFramesPerSecond() == stage.GetTimeCodesPerSecond() == 30.0
    bound = list(UsdSkel.BindingAPI(target.GetPrim()).GetBlendShapesAttr().Get())
    assert bound == [n for n in rig.shape_names if n not in empty]
    for child in target.GetPrim().GetChildren():
        assert np.abs(np.asarray(UsdSkel.BlendShape(child).GetOffsetsAttr().Get())).max() > 0
    # The animation keeps all weights; UsdSkel maps them onto the shapes the mesh binds.
    mapper = target.GetBlendShapeMapper()
    weights = skel_query.GetAnimQuery().ComputeBlendShapeWeights(Usd.TimeCode(1))
    remapped = np.asarray(mapper.Remap(weights))
    np.testing.assert_allclose(remapped, anim.curves[1, [INDEX[n] for n in bound]], atol=1e-6)
    assert usd.read(tmp_path / "head.usd").channel("EyeLookInLeft")[1] == pytest.approx(
        float(anim.curves[1, INDEX["EyeLookInLeft"]])
    )


def axis_rotation(axis: int, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    a, b = [(1, 2), (2, 0), (0, 1)][axis]
    m = np.eye(3)
    m[a, a] = m[b, b] = c
    m[a, b], m[b, a] = -s, s
    return m


def test_usd_head_joint_turns_with_the_head_angles(written):
    path, _, anim = written
    _stage, skel_query, _ = skel_queries(path)  # _stage keeps the stage alive while querying
    frame = 2
    (xf,) = skel_query.ComputeJointLocalTransforms(Usd.TimeCode(frame))
    rotation = np.asarray(
        [[xf[i][j] for j in range(3)] for i in range(3)]
    ).T  # Gf matrices act on row vectors
    yaw, pitch, roll = (float(anim.curves[frame, INDEX[n]]) for n in ("HeadYaw", "HeadPitch", "HeadRoll"))
    # Roll first, yaw last; positive roll tilts the head's top towards the character's left (+X).
    expected = axis_rotation(1, yaw) @ axis_rotation(0, pitch) @ axis_rotation(2, -roll)
    np.testing.assert_allclose(rotation, expected, atol=1e-5)


def test_positive_head_yaw_turns_the_face_to_the_characters_left(tmp_path):
    anim = animation(frames=1)
    anim.curves[:, N_ARKIT:] = 0.0
    anim.curves[0, INDEX["HeadYaw"]] = 0.5
    usd.write(anim, tmp_path / "yaw.usd", rig=small_rig())
    _stage, skel_query, _ = skel_queries(tmp_path / "yaw.usd")
    (xf,) = skel_query.ComputeJointLocalTransforms(Usd.TimeCode(0))
    forward = np.asarray(xf.TransformDir((0.0, 0.0, 1.0)))
    assert forward[0] == pytest.approx(np.sin(0.5), abs=1e-6) and abs(forward[1]) < 1e-6


def test_usd_round_trips_through_read(written):
    path, rig, anim = written
    back = usd.read(path)
    cols = [INDEX[n] for n in rig.shape_names]
    assert back.fps == anim.fps and back.metadata == anim.metadata
    np.testing.assert_array_equal(back.curves[:, cols], anim.curves[:, cols])
    np.testing.assert_array_equal(back.curves[:, N_ARKIT:], anim.curves[:, N_ARKIT:])


def test_a_failed_usd_write_keeps_the_old_file(written, monkeypatch):
    path, rig, anim = written
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(usd, "build_stage", broken)
    with pytest.raises(RuntimeError):
        usd.write(anim, path, rig=rig)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_reading_a_non_usd_file_is_a_format_error(tmp_path):
    bad = tmp_path / "bad.usd"
    bad.write_bytes(b"\x00not usd")
    with pytest.raises(FormatError, match=r"bad\.usd"):
        usd.read(bad)
