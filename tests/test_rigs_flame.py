"""FLAME: a small synthetic FLAME-format model (same keys and conventions, random bases) — no real FLAME here."""

from __future__ import annotations

import pickle
import sys
import time
import types

import numpy as np
import pytest
import scipy.sparse
import torch

from emote.animation.channels import INDEX
from emote.errors import RigError
from emote.rigs.base import MeshRig, Rigid
from emote.rigs.flame import FLAME_URL, FlameLayer, fit_flame, load_flame_model, load_flame_rig


def uv_sphere(n_lat, n_lon, radii, centre):
    """Vertices and outward triangles of a latitude/longitude ellipsoid (front meridian at x = 0, z > 0)."""
    lat = np.linspace(-np.pi / 2, np.pi / 2, n_lat + 2)[1:-1]
    lon = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    p = np.stack([np.cos(la) * np.sin(lo), np.sin(la), np.cos(la) * np.cos(lo)], -1).reshape(-1, 3)
    p = np.concatenate([p, [[0, -1, 0], [0, 1, 0]]])
    faces = []
    for i in range(n_lat - 1):
        for j in range(n_lon):
            a, b = i * n_lon + j, i * n_lon + (j + 1) % n_lon
            faces += [[a, b, b + n_lon], [a, b + n_lon, a + n_lon]]
    south, north, top = n_lat * n_lon, n_lat * n_lon + 1, (n_lat - 1) * n_lon
    for j in range(n_lon):
        faces += [[south, (j + 1) % n_lon, j], [north, top + j, top + (j + 1) % n_lon]]
    return p * np.asarray(radii) + np.asarray(centre), np.asarray(faces)


def synthetic_flame(seed=0, n_expression=100, eyelids=False) -> dict:
    """A FLAME-format dict: ellipsoid head + two eyeballs, 5 joints, smooth random bases (metres)."""
    rng = np.random.default_rng(seed)
    head, hf = uv_sphere(18, 28, (0.075, 0.1, 0.09), (0, 0, 0))
    le, lf = uv_sphere(7, 10, (0.012,) * 3, (0.032, 0.03, 0.072))
    re, rf = uv_sphere(7, 10, (0.012,) * 3, (-0.032, 0.03, 0.072))
    v = np.concatenate([head, le, re])
    nh, ne = len(head), len(le)
    n = len(v)

    def sig(t):
        return 1 / (1 + np.exp(-t))

    w = np.zeros((n, 5))
    y, z = head[:, 1], head[:, 2]
    w[:nh, 2] = sig((-0.02 - y) / 0.004) * sig(z / 0.01)  # jaw: lower front
    w[:nh, 1] = sig((-0.075 - y) / 0.008) * (1 - w[:nh, 2])  # neck: bottom
    w[:nh, 0] = 1 - w[:nh, 1] - w[:nh, 2]
    w[nh : nh + ne, 3] = 1  # left eye (+x)
    w[nh + ne :, 4] = 1
    j = np.zeros((5, n))
    j[0, :nh] = 1 / nh
    bottom = np.nonzero(y < -0.09)[0]
    j[1, bottom] = 1 / len(bottom)
    ring = np.nonzero((y > -0.03) & (y < 0.0) & (z < 0.03))[0]
    j[2, ring] = 1 / len(ring)
    j[3, nh : nh + ne] = 1 / ne
    j[4, nh + ne :] = 1 / ne

    def fields(k, scale):
        omega, phase = rng.normal(0, 25, (300, 3)), rng.uniform(0, 2 * np.pi, 300)
        coeffs = rng.normal(0, 1, (300, 3 * k)) / np.sqrt(300)
        return (np.sin(v @ omega.T + phase) @ coeffs).reshape(n, 3, k) * scale

    model = {
        "v_template": v,
        "f": np.concatenate([hf, lf + nh, rf + nh + ne]).astype(np.uint32),
        "shapedirs": np.concatenate([fields(300, 2e-3), fields(n_expression, 0.6e-3)], axis=2),
        "posedirs": fields(36, 1e-3),
        "J_regressor": scipy.sparse.csc_matrix(j),
        "kintree_table": np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.int64),
        "weights": w,
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }
    if eyelids:  # a lid-closing shape over each eye, as some FLAME tool chains add
        for key, x0 in (("l_eyelid", 0.032), ("r_eyelid", -0.032)):
            lid = np.zeros((n, 3))
            over = (np.abs(head[:, 0] - x0) < 0.015) & (np.abs(head[:, 1] - 0.04) < 0.01) & (head[:, 2] > 0)
            lid[np.nonzero(over)[0], 1] = -0.004
            model[key] = lid
    return model


class _ChumpyLike:
    """Pickles the way chumpy.Ch does: a class from module 'chumpy.ch' with its array in state['x']."""

    def __init__(self, x):
        self.x = x

    def __getstate__(self):
        return {"x": self.x, "_dirty_vars": set()}


def write_model(path, model, *, chumpy=True):
    """Pickle ``model`` like a real FLAME file: protocol 2, shapedirs as a chumpy object."""
    data = dict(model)
    if chumpy:
        module = types.ModuleType("chumpy.ch")
        _ChumpyLike.__module__, _ChumpyLike.__qualname__ = "chumpy.ch", "Ch"
        module.Ch = _ChumpyLike
        sys.modules["chumpy"], sys.modules["chumpy.ch"] = types.ModuleType("chumpy"), module
        try:
            data["shapedirs"] = _ChumpyLike(model["shapedirs"])
            with open(path, "wb") as f:
                pickle.dump(data, f, protocol=2)
        finally:
            del sys.modules["chumpy"], sys.modules["chumpy.ch"]
    else:
        with open(path, "wb") as f:
            pickle.dump(data, f, protocol=2)
    return path


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return write_model(tmp_path_factory.mktemp("flame") / "generic_model.pkl", synthetic_flame())


def displacement(layer, psi, jaw):
    """Target displacements (S, V, 3) through the model itself."""
    psi = torch.as_tensor(np.asarray(psi, np.float64))
    z = torch.zeros(len(psi), 1, 3, dtype=torch.float64)
    pose = torch.cat([z, z, torch.as_tensor(np.asarray(jaw, np.float64))[:, None], z, z], 1)
    rest = layer(
        torch.zeros(1, layer.n_expression, dtype=torch.float64), torch.zeros(1, 5, 3, dtype=torch.float64)
    )
    return (layer(psi, pose) - rest).numpy()


def test_a_chumpy_pickled_model_loads_without_chumpy(model_file):
    assert "chumpy" not in sys.modules
    model = load_flame_model(model_file)
    raw = synthetic_flame()
    assert model.n_vertices == len(raw["v_template"]) and model.n_expression == 100
    np.testing.assert_array_equal(model.exprdirs, raw["shapedirs"][:, :, 300:])
    np.testing.assert_array_equal(model.j_regressor, raw["J_regressor"].toarray())
    assert list(model.parents) == [-1, 0, 1, 1, 1]


def test_the_fit_reproduces_a_random_expression_and_jaw_pose(model_file):
    layer = FlameLayer(load_flame_model(model_file), n_expression=50)
    rng = np.random.default_rng(1)
    psi_true = rng.normal(0, 1, (2, 50))
    jaw_true = np.array([[0.2, 0.03, -0.02], [0.05, -0.04, 0.0]])
    target = displacement(layer, psi_true, jaw_true)
    assert np.abs(target).max() > 0.01  # the motion is centimetres
    fit = fit_flame(layer, target)
    print(
        f"FLAME fit on the synthetic model: RMS {fit.rms_mm} mm, jaw error {np.abs(fit.jaw - jaw_true).max():.2e} rad"
    )
    assert fit.rms_mm.max() < 0.05  # mm
    np.testing.assert_allclose(fit.jaw, jaw_true, atol=2e-3)
    np.testing.assert_allclose(fit.expression, psi_true, atol=0.05)


def source_rig(layer, model):
    """A source rig on the same mesh whose ARKit shapes are FLAME motions with known parameters."""
    rng = np.random.default_rng(3)
    psi_smile = rng.normal(0, 1, 50)
    deltas = displacement(layer, np.stack([np.zeros(50), psi_smile]), [[0.25, 0, 0], [0, 0, 0]]) * 1000
    joints = layer.joints() * 1000
    rig = MeshRig(
        name="synthetic-source",
        neutral=(model.template * 1000).astype(np.float32),
        faces=model.faces.astype(np.int32),
        shape_names=["JawOpen", "MouthSmileLeft"],
        deltas=deltas.astype(np.float32),
        colors=np.ones((model.n_vertices, 3), np.float32),
        eyes=[
            Rigid(np.zeros(0, np.int64), joints[3], "LeftEyeYaw"),
            Rigid(np.zeros(0, np.int64), joints[4], "RightEyeYaw"),
        ],
    )
    return rig, psi_smile


def test_the_arkit_map_fitted_at_load_recovers_the_sources_parameters(model_file, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTE_CACHE_DIR", str(tmp_path))
    model = load_flame_model(model_file)
    src, psi_smile = source_rig(FlameLayer(model, n_expression=50), model)
    t0 = time.perf_counter()
    rig = load_flame_rig(model_file, source=src)
    fitted = time.perf_counter() - t0
    curves = np.zeros((3, 61), np.float32)
    curves[1, INDEX["JawOpen"]] = 1.0
    curves[2, INDEX["MouthSmileLeft"]] = 0.5
    curves[2, INDEX["HeadYaw"]] = 0.3
    params = rig.flame_params(curves)
    np.testing.assert_allclose(params["jaw_pose"][1], [0.25, 0, 0], atol=5e-3)
    np.testing.assert_allclose(params["expression"][2], 0.5 * psi_smile, atol=0.05)
    assert not params["expression"][0].any() and not params["jaw_pose"][0].any()
    np.testing.assert_allclose(params["neck_pose"][2], [0, 0.3, 0], atol=1e-6)
    assert params["eye_pose"].shape == (3, 6) and "eyelids" not in params
    assert rig.shape_names == ["JawOpen", "MouthSmileLeft"] and "TongueOut" in rig.missing
    assert max(rig.fit_rms_mm.values()) < 0.05
    # The rendered mesh shows FLAME's response: the jaw shape opens the jaw region.
    jaw_delta = rig.deltas[rig.shape_names.index("JawOpen")]
    np.testing.assert_allclose(jaw_delta, src.deltas[0], atol=0.2)
    # Second load: the map comes from the cache.
    t0 = time.perf_counter()
    again = load_flame_rig(model_file, source=src)
    assert time.perf_counter() - t0 < fitted
    np.testing.assert_array_equal(again.expression_map, rig.expression_map)
    assert list(tmp_path.glob("flame-map-*.npz"))


def test_eyelid_blendshapes_are_driven_by_the_blinks(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTE_CACHE_DIR", str(tmp_path))
    path = write_model(tmp_path / "with_lids.pkl", synthetic_flame(eyelids=True), chumpy=False)
    model = load_flame_model(path)
    assert model.eyelids is not None and model.eyelids[0][:, 1].min() < 0
    layer = FlameLayer(model, n_expression=10)
    src, _ = source_rig(FlameLayer(model, n_expression=50), model)
    src.shape_names[1] = "EyeBlinkLeft"
    src.deltas[1] = model.eyelids[0] * 1000  # the source's blink is exactly the left eyelid shape
    src.__post_init__()
    rig = load_flame_rig(path, source=src, n_expression=10)
    curves = np.zeros((1, 61), np.float32)
    curves[0, INDEX["EyeBlinkLeft"]] = 1.0
    params = rig.flame_params(curves)
    np.testing.assert_allclose(params["eyelids"], [[1.0, 0.0]])
    assert np.abs(params["expression"]).max() < 0.05  # the lids carry the blink, not the expression
    assert layer.n_expression == 10


def test_without_a_model_file_the_error_says_where_flame_comes_from(tmp_path):
    with pytest.raises(RigError) as missing:
        load_flame_model(tmp_path / "generic_model.pkl")
    message = str(missing.value)
    assert message.startswith(f"{tmp_path / 'generic_model.pkl'}: FLAME model file not found")
    assert FLAME_URL in message and "--flame-model" in message and "\n" not in message
    with pytest.raises(RigError, match=r"flame\.is\.tue\.mpg\.de"):
        load_flame_model(None)


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"v_template": Exploit()}, protocol=2))
    with pytest.raises(
        RigError,
        match=r"evil\.pkl: not a readable FLAME model \(refusing to load (__builtin__|builtins)\.print",
    ):
        load_flame_model(path)


def test_a_file_that_is_not_flame_is_a_rig_error(tmp_path):
    path = write_model(tmp_path / "other.pkl", {"v_template": np.zeros((4, 3))}, chumpy=False)
    with pytest.raises(RigError, match=r"other\.pkl: not a FLAME model: missing f, shapedirs"):
        load_flame_model(path)
