"""ICT-FaceKit: split shapes combined as ARKit expects, parts, eyes, probes, and the npz cache."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from conftest import RIGS_DATA, needs

from emote.animation.channels import ARKIT_NAMES
from emote.errors import RigError
from emote.rigs import ict
from emote.rigs.ict import load_ict_rig, save_ict_npz

ICT = RIGS_DATA / "ict-facekit"
MODEL = ICT / "FaceXModel"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A fresh cache folder for this module (filled by the first load)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def loads(cache):
    """(cold rig, warm rig, cold seconds, warm seconds) with a fresh cache folder."""
    if not (MODEL / "generic_neutral_mesh.obj").is_file():
        needs("test-material", f"not found at {ICT}")
    old = os.environ.get("EMOTE_CACHE_DIR")
    os.environ["EMOTE_CACHE_DIR"] = str(cache)
    try:
        t0 = time.perf_counter()
        cold = load_ict_rig(ICT)
        t1 = time.perf_counter()
        warm = load_ict_rig(ICT)
        t2 = time.perf_counter()
    finally:
        if old is None:
            del os.environ["EMOTE_CACHE_DIR"]
        else:
            os.environ["EMOTE_CACHE_DIR"] = old
    print(f"ICT-FaceKit load: cold {t1 - t0:.2f} s, warm {t2 - t1:.3f} s")
    return cold, warm, t1 - t0, t2 - t1


@pytest.fixture(scope="module")
def rig(loads):
    return loads[1]


def obj_vertices(name: str) -> np.ndarray:
    """Reference parser (plain Python) for the oracle: the OBJ's vertices in mm."""
    with open(MODEL / f"{name}.obj") as f:
        return np.array([[float(t) for t in line.split()[1:4]] for line in f if line.startswith("v ")]) * 10.0


def test_second_load_comes_from_the_cache_without_parsing_the_objs(loads, cache, monkeypatch):
    # (the load times are printed by the fixture; benchmarks/render.py reports them too)
    import emote.rigs.ict as ict

    cold, warm, _, _ = loads

    def no_parse(*args, **kwargs):
        raise AssertionError("a cached model must not be parsed again")

    monkeypatch.setattr(ict, "_parse", no_parse)
    monkeypatch.setenv("EMOTE_CACHE_DIR", str(cache))
    np.testing.assert_array_equal(load_ict_rig(ICT).neutral, cold.neutral)
    assert warm.shape_names == cold.shape_names and warm.probes == cold.probes
    np.testing.assert_array_equal(warm.deltas, cold.deltas)
    np.testing.assert_array_equal(warm.faces, cold.faces)


def test_ict_gives_51_arkit_shapes_and_reports_the_tongue_missing(rig):
    assert rig.missing == ["TongueOut"]
    assert rig.shape_names == [n for n in ARKIT_NAMES if n != "TongueOut"]


def test_mouth_smile_left_moves_only_the_characters_left_corner(rig):
    smile = np.linalg.norm(rig.deltas[rig.shape_names.index("MouthSmileLeft")], axis=1)
    x = rig.neutral[:, 0]
    assert smile[rig.probes["mouth_left"]] > 10.0  # mm
    assert smile[rig.probes["mouth_right"]] < 0.01 * smile[rig.probes["mouth_left"]]
    assert (smile * (x > 0)).sum() > 0.9 * smile.sum()
    right = np.linalg.norm(rig.deltas[rig.shape_names.index("MouthSmileRight")], axis=1)
    assert (right * (x < 0)).sum() > 0.9 * right.sum()


def test_eye_blink_left_closes_the_eye_at_plus_x(rig):
    blink = rig.deltas[rig.shape_names.index("EyeBlinkLeft")]
    moved = np.linalg.norm(blink, axis=1) > 1.0
    assert moved.any() and (rig.neutral[moved, 0] > 0).all()
    assert blink[moved, 1].mean() < 0  # the upper lid comes down


def test_shapes_ict_splits_are_summed_and_unsplit_ones_map_directly():
    neutral = obj_vertices("generic_neutral_mesh")
    arrays = ict._parse(MODEL)
    keep = np.ones(len(neutral), bool)
    for _, a, b, color in ict.PARTS:
        keep[a:b] = color is not None
    names = list(arrays["shape_names"])
    for canonical, (left, right) in ict.SUMMED.items():
        expected = obj_vertices(left) + obj_vertices(right) - 2 * neutral
        np.testing.assert_allclose(arrays["deltas"][names.index(canonical)], expected[keep], atol=1e-3)
    expected = obj_vertices("jawOpen") - neutral
    np.testing.assert_allclose(arrays["deltas"][names.index("JawOpen")], expected[keep], atol=1e-3)


def test_overlay_shells_are_dropped_and_the_eyes_are_rigid(rig):
    assert rig.n_vertices == ict.N_VERTICES - (25351 - 24591)
    eyes = {e.yaw: e for e in rig.eyes}
    assert eyes["LeftEyeYaw"].pivot[0] > 20 and eyes["RightEyeYaw"].pivot[0] < -20
    assert 55 < eyes["LeftEyeYaw"].pivot[0] - eyes["RightEyeYaw"].pivot[0] < 70  # interpupillary distance, mm
    for e in rig.eyes:
        radius = np.linalg.norm(rig.neutral[e.vertices] - e.pivot, axis=1)
        assert 10 < np.median(radius) < 18  # the pivot is the eyeball's centre
    look = rig.deltas[rig.shape_names.index("EyeLookOutLeft")]
    assert not look[eyes["LeftEyeYaw"].vertices].any()  # the eye angles turn the eyeball
    assert np.abs(look).max() > 0  # ...the lids still follow


def test_probes_meet_at_rest_and_part_when_the_jaw_opens(rig):
    p, jaw = rig.probes, rig.deltas[rig.shape_names.index("JawOpen")]

    def gap(w):
        return np.linalg.norm(
            rig.neutral[p["upper_lip"]]
            + w * jaw[p["upper_lip"]]
            - rig.neutral[p["lower_lip"]]
            - w * jaw[p["lower_lip"]]
        )

    assert gap(0.0) < 1.5 and gap(1.0) > 10.0
    assert abs(rig.neutral[p["upper_lip"], 0]) < 1e-3  # on the midline
    width = rig.neutral[p["mouth_left"], 0] - rig.neutral[p["mouth_right"], 0]
    assert 40 < width < 65


def test_colours_separate_skin_teeth_and_mouth(rig):
    from emote.rigs.mesh_tools import MOUTH, SKIN, TEETH

    assert np.allclose(rig.colors[0], SKIN)
    assert (np.abs(rig.colors - TEETH).sum(1) < 1e-6).sum() == 21451 - 17039
    assert (np.abs(rig.colors - MOUTH).sum(1) < 1e-6).sum() > 2000


def test_the_cache_key_changes_when_a_model_file_changes(tmp_path):
    (tmp_path / "a.obj").write_text("v 0 0 0\n")
    before = ict._cache_key(tmp_path)
    os.utime(tmp_path / "a.obj", ns=(1, 1))
    assert ict._cache_key(tmp_path) != before


def test_a_folder_without_the_model_is_a_rig_error(tmp_path):
    with pytest.raises(RigError, match="not an ICT-FaceKit model folder"):
        load_ict_rig(tmp_path)
    with pytest.raises(RigError, match="emote rigs fetch ict-facekit"):
        load_ict_rig(tmp_path / "absent")


# -- the parsed model as one file (for machines without the model folder) --------------------


@pytest.fixture()
def parsed_npz(loads, cache, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTE_CACHE_DIR", str(cache))  # the module's cache: no second parse
    return save_ict_npz(ICT, tmp_path / "ict.npz")


def test_the_parsed_npz_loads_the_same_rig_without_the_model_folder(rig, parsed_npz):
    from emote.rigs import load_rig

    assert parsed_npz.stat().st_size < 10e6  # compressed: a fraction of the 143 MB folder
    for loaded in (load_ict_rig(parsed_npz), load_rig("ict-facekit", rig_path=parsed_npz)):
        assert loaded.shape_names == rig.shape_names and loaded.probes == rig.probes
        assert loaded.missing == ["TongueOut"]
        np.testing.assert_array_equal(loaded.deltas, rig.deltas)
        np.testing.assert_array_equal(loaded.faces, rig.faces)
        np.testing.assert_array_equal(loaded.colors, rig.colors)
        np.testing.assert_array_equal(loaded.head.pivot, rig.head.pivot)
        assert [e.yaw for e in loaded.eyes] == [e.yaw for e in rig.eyes]
        for a, b in zip(loaded.eyes, rig.eyes, strict=True):
            np.testing.assert_array_equal(a.vertices, b.vertices)
            np.testing.assert_array_equal(a.pivot, b.pivot)


def test_the_cache_file_itself_loads_as_a_rig(rig, cache):
    (cached,) = cache.glob("ict-facekit-*.npz")
    np.testing.assert_array_equal(load_ict_rig(cached).neutral, rig.neutral)


def test_an_npz_that_is_not_a_parsed_model_is_a_rig_error(tmp_path):
    curves = tmp_path / "take.npz"
    np.savez(curves, curves=np.zeros((3, 61), np.float32))
    with pytest.raises(RigError, match=r"take\.npz: not a parsed ICT-FaceKit model \(no neutral"):
        load_ict_rig(curves)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(RigError, match=r"garbage\.npz: cannot read"):
        load_ict_rig(garbage)
    with pytest.raises(RigError, match=r"absent\.npz: parsed ICT-FaceKit model not found"):
        load_ict_rig(tmp_path / "absent.npz")


def test_saving_without_a_model_folder_writes_nothing(tmp_path):
    dest = tmp_path / "ict.npz"
    with pytest.raises(RigError, match="emote rigs fetch ict-facekit"):
        save_ict_npz(tmp_path / "absent", dest)
    assert list(tmp_path.iterdir()) == []


def test_a_parsed_model_with_inconsistent_arrays_is_a_rig_error(parsed_npz, tmp_path):
    with np.load(parsed_npz) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["deltas"] = arrays["deltas"][:, :-1]  # one vertex short
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(RigError, match=r"bad\.npz: damaged parsed ICT-FaceKit model"):
        load_ict_rig(bad)


# -- the eyes: the cornea shells are not drawn, the eyeballs carry iris and pupil ------------


def is_color(colors: np.ndarray, color) -> np.ndarray:
    return np.abs(colors - np.asarray(color, np.float32)).sum(1) < 1e-6


def test_seen_from_the_front_the_eyeballs_show_pupils_on_their_axis(rig):
    from emote.rigs.mesh_tools import PUPIL, occluded_from_front

    pupil = is_color(rig.colors, PUPIL)
    for e in rig.eyes:
        drawn = np.intersect1d(e.vertices, rig.faces)
        rel = rig.neutral[drawn] - e.pivot
        on_axis = drawn[rel[:, 2] / np.linalg.norm(rel, axis=1) > np.cos(np.radians(8))]
        # The cornea shell stood 1.4 mm in front of the ball and showed white there.
        seen = on_axis[~occluded_from_front(rig.neutral, rig.faces, on_axis)]
        assert len(seen) >= 4 and pupil[seen].all()


def test_a_frontal_render_shows_dark_pupils_in_light_sclera(rig):
    from emote.errors import EmoteError
    from emote.render.backends import get_renderer
    from emote.render.scene import RenderSettings, Scene

    settings = RenderSettings(width=256, height=256)
    scene = Scene.for_mesh(rig.neutral, rig.faces, rig.colors, settings)
    try:
        renderer = get_renderer("opengl", scene=scene, settings=settings)
    except EmoteError as e:
        needs("opengl", str(e))
    with renderer:
        image = renderer.render(rig.neutral[None])[0].astype(int)

    def pixel(point):
        x, y = scene.camera.project(np.asarray([point]), 256, 256)[0].astype(int)
        return image[y, x]

    for e in rig.eyes:
        x, y = scene.camera.project(e.pivot[None], 256, 256)[0].astype(int)
        assert np.median(image[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3), axis=0).max() < 60  # pupil
        for side in (-1, 1):  # the sclera beyond the iris (radius ~7 mm), left and right of it
            row = [pixel(e.pivot + np.array([side * dx, 0.0, 0.0])) for dx in (7.0, 8.0, 9.0, 10.0, 11.0)]
            assert any(p.min() > 140 and np.ptp(p) < 40 for p in row), row  # light and grey, not skin


def format_1(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays as emote wrote them before the eye fix: cornea shells drawn, eyes white."""
    from emote.rigs.mesh_tools import SCLERA

    old = {k: v for k, v in arrays.items() if k != "format"}
    data = (MODEL / "generic_neutral_mesh.obj").read_bytes()
    faces = ict._faces(data)
    cornea = np.zeros(ict.N_VERTICES, bool)
    for (a, b), _ in ict.EYEBALLS.values():
        cornea[a:b] = True  # same numbering in the rig: only parts after the eyes are dropped
    old["faces"] = np.concatenate([arrays["faces"], faces[cornea[faces].all(1)]]).astype(np.int32)
    colors = arrays["colors"].copy()
    for side in ict.EYEBALLS:
        colors[arrays[f"eye_{side}_vertices"]] = SCLERA
    old["colors"] = colors
    return old


def test_a_parsed_model_from_before_the_eye_fix_loads_with_open_eyes(rig, parsed_npz, tmp_path):
    with np.load(parsed_npz) as z:
        arrays = {k: z[k] for k in z.files}
    old = tmp_path / "old.npz"
    np.savez(old, **format_1(arrays))
    loaded = load_ict_rig(old)
    np.testing.assert_array_equal(loaded.faces, rig.faces)
    np.testing.assert_array_equal(loaded.colors, rig.colors)


def test_a_parsed_model_of_a_newer_format_is_refused(parsed_npz, tmp_path):
    with np.load(parsed_npz) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["format"] = np.asarray(ict.FORMAT + 1)
    newer = tmp_path / "newer.npz"
    np.savez(newer, **arrays)
    with pytest.raises(RigError, match=r"newer\.npz: parsed ICT-FaceKit model of format \d+, newer than"):
        load_ict_rig(newer)
