"""The procedurally built default head: size, shapes, lips, lids, gaze, cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emote.animation.channels import ARKIT_NAMES, INDEX, N_CHANNELS
from emote.rigs.default_head import build_version, cache_dir, default_head_parts, load_default_head
from emote.rigs.posing import lip_gap_mm, mouth_width_mm, pose_mesh, vertex_normals


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("emote-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMOTE_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="module")
def rig(cache):
    return load_default_head()


@pytest.fixture(scope="module")
def parts(cache, rig):
    return default_head_parts()


def curves(**weights: float) -> torch.Tensor:
    c = torch.zeros((1, N_CHANNELS))
    for name, w in weights.items():
        c[0, INDEX[name]] = w
    return c


def pose(rig, **weights: float) -> np.ndarray:
    return pose_mesh(rig, curves(**weights))[0].numpy()


def gap(rig, **weights: float) -> float:
    return float(lip_gap_mm(rig, pose_mesh(rig, curves(**weights)))[0])


def width(rig, **weights: float) -> float:
    return float(mouth_width_mm(rig, pose_mesh(rig, curves(**weights)))[0])


# --- structure ------------------------------------------------------------------------------------


def test_has_exactly_the_52_arkit_shapes(rig):
    assert rig.shape_names == list(ARKIT_NAMES)
    assert rig.deltas.shape == (52, rig.n_vertices, 3)
    assert rig.missing == []
    moving = {n for n, d in zip(rig.shape_names, rig.deltas, strict=True) if np.abs(d).max() > 0.5}
    # Sideways gaze turns the eyeballs through the eye angles only, so those four shapes are empty.
    assert set(ARKIT_NAMES) - moving == {
        "EyeLookInLeft",
        "EyeLookOutLeft",
        "EyeLookInRight",
        "EyeLookOutRight",
    }


def test_is_an_adult_head_in_millimetres(rig, parts):
    v = rig.neutral[np.setdiff1d(np.arange(rig.n_vertices), parts["ears"])]
    face = v[v[:, 2] > 60.0]
    width_mm = v[:, 0].max() - v[:, 0].min()
    chin_to_crown = v[:, 1].max() - face[:, 1].min()
    assert 140.0 < width_mm < 165.0
    assert 215.0 < chin_to_crown < 245.0
    assert 45.0 < width(rig) < 55.0
    assert 20_000 < rig.n_vertices < 30_000


def test_mesh_is_valid_and_faces_outwards(rig):
    f = rig.faces
    assert f.min() >= 0 and f.max() < rig.n_vertices
    assert np.all((f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2]))
    assert rig.colors.shape == (rig.n_vertices, 3) and rig.colors.min() >= 0.0 and rig.colors.max() <= 1.0
    n = vertex_normals(torch.from_numpy(rig.neutral)[None], rig.faces)[0].numpy()
    v = rig.neutral
    nose_tip = np.argmax(v[:, 2])
    crown = np.argmax(v[:, 1])
    back = np.argmin(v[:, 2])
    assert n[nose_tip, 2] > 0.8 and n[crown, 1] > 0.8 and n[back, 2] < -0.8


def test_every_part_is_present(parts, rig):
    for name in (
        "skin",
        "mouth",
        "lids",
        "eye_left",
        "eye_right",
        "teeth_upper",
        "teeth_lower",
        "tongue",
        "ears",
    ):
        assert len(parts[name]) > 50, name
    every = np.concatenate(list(parts.values()))
    assert np.array_equal(np.sort(every), np.arange(rig.n_vertices))


def test_colours_tell_the_materials_apart(rig, parts):
    c = rig.colors
    lum = c.mean(1)
    sclera = parts["eye_left"][rig.neutral[parts["eye_left"], 2] < 80.0]
    assert lum[parts["teeth_upper"]].mean() > 0.75 and lum[sclera].mean() > 0.8
    assert lum[parts["mouth"]].mean() < lum[parts["skin"]].mean() - 0.2  # dark mouth interior
    assert lum[parts["eye_left"]].min() < 0.1  # the pupil
    lips = rig.probes["upper_lip"], rig.probes["lower_lip"]
    skin = parts["skin"]
    assert all(c[i, 0] - c[i, 1] > (c[skin, 0] - c[skin, 1]).mean() for i in lips)  # lips redder than skin
    tongue = c[parts["tongue"]]
    assert tongue[:, 0].mean() > tongue[:, 1].mean() + 0.2  # pink


# --- mouth ----------------------------------------------------------------------------------------


def test_lips_meet_at_rest_and_part_when_the_jaw_opens(rig):
    assert gap(rig) < 1.5
    assert gap(rig, JawOpen=1.0) > 10.0
    assert gap(rig, JawOpen=0.3) > 3.0


def test_mouth_close_alone_closes_the_lips(rig):
    assert gap(rig, MouthClose=1.0) < 1.5


@pytest.mark.parametrize("w", [0.1, 0.25, 0.5, 0.75, 1.0])
def test_mouth_close_holds_the_lips_shut_over_an_open_jaw(rig, w):
    assert gap(rig, JawOpen=w) > 1.5 + 10.0 * w
    assert gap(rig, JawOpen=w, MouthClose=w) < 1.5


def test_rounding_narrows_and_spreading_widens_the_mouth(rig):
    rest = width(rig)
    for rounded in ("MouthPucker", "MouthFunnel"):
        assert width(rig, **{rounded: 1.0}) < rest - 6.0, rounded
    for spread in (("MouthSmileLeft", "MouthSmileRight"), ("MouthStretchLeft", "MouthStretchRight")):
        assert width(rig, **dict.fromkeys(spread, 1.0)) > rest + 6.0, spread
    assert gap(rig, MouthFunnel=1.0) > 4.0  # a funnel opens into a ring
    assert gap(rig, MouthPucker=1.0) < 1.5  # a pucker stays closed


def test_smile_left_lifts_the_left_corner_out_and_leaves_the_right(rig):
    rest, smile = rig.neutral, pose(rig, MouthSmileLeft=1.0)
    left, right = rig.probes["mouth_left"], rig.probes["mouth_right"]
    assert rest[left, 0] > 0  # "left" is the character's left, +X
    move = smile[left] - rest[left]
    assert move[1] > 4.0 and move[0] > 3.0
    assert np.linalg.norm(smile[right] - rest[right]) < 0.05


@pytest.mark.parametrize(
    "left,right",
    [
        (n, n.replace("Left", "Right"))
        for n in ARKIT_NAMES
        if n.endswith("Left") and not n.startswith("EyeLook")
    ]
    + [("JawLeft", "JawRight")],
)
def test_left_shapes_act_on_the_left_and_mirror_their_right_twins(rig, left, right):
    dl, dr = rig.deltas[INDEX[left]], rig.deltas[INDEX[right]]
    ml, mr = np.linalg.norm(dl, axis=1), np.linalg.norm(dr, axis=1)
    assert ml.sum() == pytest.approx(mr.sum(), rel=0.1)
    x = rig.neutral[:, 0]
    if left in ("JawLeft", "MouthLeft"):  # these slide the jaw or the whole mouth towards that side
        assert dl[ml > 0.5, 0].mean() > 2.0 and dr[mr > 0.5, 0].mean() < -2.0
    else:
        assert (ml * x).sum() / ml.sum() > 5.0  # centred on +X
        assert (mr * x).sum() / mr.sum() < -5.0


def test_jaw_open_drops_the_lower_teeth_and_tongue_not_the_upper_teeth(rig, parts):
    rest, open_ = rig.neutral, pose(rig, JawOpen=1.0)
    drop = rest[:, 1] - open_[:, 1]
    front_lower = parts["teeth_lower"][rest[parts["teeth_lower"], 2] > 80.0]
    assert drop[front_lower].min() > 15.0
    assert drop[parts["tongue"]].mean() > 5.0
    assert np.abs(open_[parts["teeth_upper"]] - rest[parts["teeth_upper"]]).max() < 1e-4
    # The lower lip goes with the jaw; the upper lip stays.
    assert drop[rig.probes["lower_lip"]] > 15.0 and abs(drop[rig.probes["upper_lip"]]) < 0.5


def test_open_mouth_shows_teeth_behind_the_lips(rig, parts):
    """Cast a ray from the camera between the parted lips: it meets a tooth or the tongue or the dark bag."""
    v = pose(rig, JawOpen=1.0)
    up, lo = v[rig.probes["upper_lip"]], v[rig.probes["lower_lip"]]
    origin = np.array([0.0, 0.5 * (up[1] + lo[1]) - 3.0, 300.0])
    face = first_hit(v, rig.faces, origin, np.array([0.0, 0.0, -1.0]))
    inside = np.concatenate([parts["teeth_lower"], parts["teeth_upper"], parts["tongue"], parts["mouth"]])
    assert np.isin(rig.faces[face], inside).all()


# --- eyes -----------------------------------------------------------------------------------------


def first_hit(v: np.ndarray, faces: np.ndarray, origin: np.ndarray, direction: np.ndarray) -> int:
    """Index of the first triangle a ray meets (Möller–Trumbore over all triangles)."""
    a, b, c = v[faces[:, 0]], v[faces[:, 1]], v[faces[:, 2]]
    e1, e2 = b - a, c - a
    p = np.cross(direction, e2)
    det = (e1 * p).sum(1)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = origin - a
    u = (s * p).sum(1) * inv
    q = np.cross(s, e1)
    w = (q * direction).sum(1) * inv
    t = (e2 * q).sum(1) * inv
    hit = ok & (u >= 0) & (w >= 0) & (u + w <= 1) & (t > 0)
    assert hit.any(), "the ray meets nothing"
    return int(np.argmin(np.where(hit, t, np.inf)))


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_blink_closes_the_lid_over_the_cornea(rig, parts, side):
    eye = parts[f"eye_{side.lower()}"]
    pupil = eye[np.argmax(rig.neutral[eye, 2])]  # front pole of the eyeball
    look = np.array([0.0, 0.0, -1.0])
    for w, covered in ((0.0, False), (0.5, False), (1.0, True)):
        v = pose(rig, **{f"EyeBlink{side}": w})
        face = first_hit(v, rig.faces, v[pupil] + np.array([0.0, 0.0, 100.0]), look)
        assert (not np.isin(rig.faces[face], eye).all()) == covered, w
    # The other eye stays open.
    other = parts["eye_right" if side == "Left" else "eye_left"]
    front = other[np.argmax(rig.neutral[other, 2])]
    v = pose(rig, **{f"EyeBlink{side}": 1.0})
    assert np.isin(rig.faces[first_hit(v, rig.faces, v[front] + [0.0, 0.0, 100.0], look)], other).all()


@pytest.mark.parametrize("w", [0.25, 0.5, 0.75, 1.0])
@pytest.mark.parametrize("other", ["", "EyeWide", "EyeSquint", "EyeLookUp", "EyeLookDown"])
def test_lids_slide_over_the_eyeball_without_cutting_into_it(rig, parts, w, other):
    """A blink, alone or on top of another lid shape, never pushes the lid skin into the eyeball."""
    weights = {"EyeBlinkLeft": w, "EyeBlinkRight": w}
    if other:
        weights |= {f"{other}Left": 1.0, f"{other}Right": 1.0}
    v = pose(rig, **weights)
    eyes = np.concatenate([parts["eye_left"], parts["eye_right"]])
    skin = np.setdiff1d(np.arange(rig.n_vertices), np.concatenate([eyes, parts["lids"]]))
    for eye in rig.eyes:
        assert np.linalg.norm(v[skin] - eye.pivot, axis=1).min() > 12.0 + 0.3


def test_eye_yaw_turns_the_iris_and_nothing_else(rig, parts):
    eye = parts["eye_left"]
    pupil = eye[np.argmax(rig.neutral[eye, 2])]
    v = pose(rig, LeftEyeYaw=0.3)
    shift = v[pupil] - rig.neutral[pupil]
    # The app's eye yaw: positive turns the gaze towards the character's right (-X).
    assert shift[0] == pytest.approx(-12.0 * np.sin(0.3), abs=0.05)
    others = np.setdiff1d(np.arange(rig.n_vertices), eye)
    assert np.abs(v[others] - rig.neutral[others]).max() < 1e-4
    # Pitch down lowers the pupil.
    assert (
        pose(rig, RightEyePitch=0.2)[parts["eye_right"]][:, 1].mean()
        < rig.neutral[parts["eye_right"], 1].mean()
    )


def test_eye_look_shapes_move_lids_but_never_the_eyeballs(rig, parts):
    eyes = np.concatenate([parts["eye_left"], parts["eye_right"]])
    looks = {n: 1.0 for n in ARKIT_NAMES if n.startswith("EyeLook")}
    v = pose(rig, **looks)
    assert np.abs(v[eyes] - rig.neutral[eyes]).max() < 1e-5
    down = pose(rig, EyeLookDownLeft=1.0)
    assert np.abs(down - rig.neutral).max() > 1.0  # the upper lid follows the gaze down


def test_brows_and_cheeks_move_the_right_way(rig):
    brow = (np.abs(rig.neutral[:, 0] - 30.0) < 6.0) & (np.abs(rig.neutral[:, 1] - 17.0) < 3.0)
    brow &= rig.neutral[:, 2] > 70.0
    assert brow.sum() > 5
    assert (pose(rig, BrowInnerUp=1.0, BrowOuterUpLeft=1.0) - rig.neutral)[brow, 1].mean() > 2.0
    assert (pose(rig, BrowDownLeft=1.0) - rig.neutral)[brow, 1].mean() < -2.0


# --- cache and speed --------------------------------------------------------------------------------


def test_second_load_comes_from_the_cache_without_rebuilding(rig, cache, monkeypatch):
    import emote.rigs.default_head.build as build

    files = list(cache.glob("default_head-*.npz"))
    assert [f.name for f in files] == [f"default_head-{build_version()}.npz"]
    assert cache_dir() == cache

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the cached head must not be rebuilt")

    monkeypatch.setattr(build, "build_arrays", no_rebuild)
    again = load_default_head()
    np.testing.assert_array_equal(again.neutral, rig.neutral)
    np.testing.assert_array_equal(again.deltas, rig.deltas)
    assert again.probes == rig.probes


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_cache_file_is_rebuilt(rig, cache, damage):
    path = cache / f"default_head-{build_version()}.npz"
    data = path.read_bytes()
    path.write_bytes(b"not an npz" if damage == "garbage" else data[: len(data) // 2])
    again = load_default_head()
    np.testing.assert_allclose(again.neutral, rig.neutral)
    assert path.stat().st_size > 1_000_000


def test_a_long_clip_poses_in_one_call(rig):
    rng = np.random.default_rng(0)
    c = torch.from_numpy(rng.uniform(0.0, 0.6, (600, N_CHANNELS)).astype(np.float32))
    c[:, 52:] = 0.1
    posed = rig.pose(c)
    assert posed.shape == (600, rig.n_vertices, 3)
    assert torch.isfinite(posed).all()
