"""Resolving --rig names and paths, curve-only rigs, and fetching ICT-FaceKit (never from the network here)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import RIGS_DATA, needs

from emote.animation.channels import INDEX, N_ARKIT
from emote.errors import RigError
from emote.rigs import registry
from emote.rigs.base import MeshRig
from emote.rigs.registry import CurveRig, fetch_rig, load_rig


def test_metahuman_is_a_curve_rig_with_ctrl_expressions_and_pose_columns():
    rig = load_rig("metahuman")
    assert isinstance(rig, CurveRig) and rig.preview == "default"
    assert all(n.startswith("CTRL_expressions_") for n in rig.control_names[:-9])
    assert rig.control_names[-9:][0] == "HeadYaw"
    curves = np.zeros((2, 61), np.float32)
    curves[1, INDEX["JawOpen"]] = 1.0
    curves[1, INDEX["HeadYaw"]] = 0.2
    controls = rig.controls(curves)
    assert controls.shape == (2, len(rig.control_names))
    assert not controls[0].any()
    assert controls[1, :-9].max() > 0.5 and controls[1, -9] == pytest.approx(0.2)


def test_arkit_rig_passes_the_curves_through():
    curves = np.random.default_rng(0).uniform(0, 1, (4, 61)).astype(np.float32)
    np.testing.assert_array_equal(load_rig("arkit").controls(curves), curves)


def test_a_glb_path_loads_as_a_mesh_rig():
    path = RIGS_DATA / "rocketbox_male_adult_03.glb"
    if not path.is_file():
        needs("test-material", f"not found at {path}")
    rig = load_rig(str(path))
    assert isinstance(rig, MeshRig) and len(rig.shape_names) == N_ARKIT


def test_ict_without_a_path_or_a_fetched_copy_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTE_CACHE_DIR", str(tmp_path))
    with pytest.raises(RigError, match=r"emote rigs fetch ict-facekit.*--rig-path"):
        load_rig("ict-facekit")


def test_flame_without_a_model_file_says_where_flame_comes_from():
    with pytest.raises(RigError, match=r"flame\.is\.tue\.mpg\.de.*--flame-model"):
        load_rig("flame")


def test_unknown_rigs_list_the_known_ones(tmp_path):
    with pytest.raises(
        RigError, match="unknown rig 'gollum'; rigs are default, ict-facekit, flame, metahuman, arkit"
    ):
        load_rig("gollum")
    other = tmp_path / "head.fbx"
    other.write_bytes(b"x")
    with pytest.raises(RigError, match=r"head\.fbx: not a rig file"):
        load_rig(other)


def tiny_ict_repo(root):
    """A minimal ICT-FaceKit-shaped repository: a neutral triangle and two expression files."""
    model = root / "FaceXModel"
    model.mkdir(parents=True)
    (model / "generic_neutral_mesh.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    (model / "jawOpen.obj").write_text("v 0 -1 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    (model / "mouthSmile_L.obj").write_text("v 0 0 0\nv 1 0.5 0\nv 0 1 0\nf 1 2 3\n")
    (root / "LICENSE").write_text("MIT")
    return (
        "LICENSE",
        "FaceXModel/generic_neutral_mesh.obj",
        "FaceXModel/jawOpen.obj",
        "FaceXModel/mouthSmile_L.obj",
    )


def test_fetch_downloads_into_place_and_the_rig_then_loads_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTE_CACHE_DIR", str(tmp_path / "cache"))
    files = tiny_ict_repo(tmp_path / "remote")
    monkeypatch.setattr(registry, "ICT_FILES", files)
    seen = []
    folder = fetch_rig(
        "ict-facekit", url_template=(tmp_path / "remote").as_uri() + "/{path}", progress=seen.append
    )
    assert folder == registry.ict_default_folder()
    assert sorted(p.name for p in (folder / "FaceXModel").iterdir()) == sorted(
        f.split("/")[-1] for f in files[1:]
    )
    assert seen[-1] == 1.0
    rig = load_rig("ict-facekit")
    assert rig.shape_names == ["JawOpen", "MouthSmileLeft"]
    np.testing.assert_allclose(rig.deltas[0, 0], [0, -10, 0])  # cm → mm


def test_a_failed_fetch_names_the_url_and_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "ICT_FILES", ("FaceXModel/generic_neutral_mesh.obj",))
    dest = tmp_path / "ict"
    with pytest.raises(RigError, match=r"file:///nonexistent/.*generic_neutral_mesh\.obj: download failed"):
        fetch_rig("ict-facekit", dest, url_template="file:///nonexistent/{branch}/{path}")
    assert list(tmp_path.iterdir()) == []


def test_only_freely_licensed_rigs_can_be_fetched():
    with pytest.raises(RigError, match="cannot fetch rig 'flame'"):
        fetch_rig("flame")
