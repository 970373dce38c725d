"""MetaHuman curves: the authored ARKit map, its CSV, and reading it back by solving the map."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emote.animation import FaceAnimation
from emote.animation.channels import ARKIT_NAMES, POSE_NAMES
from emote.errors import FormatError, RigError
from emote.export import metahuman, read, write
from emote.rigs.metahuman import load_mapping
from emote.rigs_data import rig_file

T3D = "mh_ctrl_expressions_t3d_251.txt"
CONTROL_MAPPER = "mh_ctrl_expressions_controlmapper_251.txt"


@pytest.fixture(scope="module")
def mapping():
    return load_mapping()


def reference_names(reference_dir, name):
    path = reference_dir / name
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def in_range_animation(n=50, fps=30.0, seed=0):
    rng = np.random.default_rng(seed)
    curves = np.empty((n, 61), np.float32)
    curves[:, :52] = rng.random((n, 52))
    curves[:, 52:] = rng.uniform(-0.6, 0.6, (n, 9))
    return FaceAnimation(fps, curves, {"engine": "test"})


# -- the mapping data --------------------------------------------------------------
def test_mapping_covers_all_52_arkit_shapes_each_with_a_note(mapping):
    doc = json.loads(rig_file("metahuman", "arkit_to_metahuman.json").read_text())
    assert list(doc["arkit"]) == list(ARKIT_NAMES)
    for name in ARKIT_NAMES:
        note = doc["arkit"][name]["note"]
        assert len(note) > 15, name
    assert mapping.weights.shape == (len(mapping.curves), 52)
    assert set(doc["pose"]) == set(POSE_NAMES)


def test_mapping_uses_only_curves_of_both_reference_lists(mapping, reference_dir):
    t3d = reference_names(reference_dir, T3D)
    control_mapper = reference_names(reference_dir, CONTROL_MAPPER)
    assert set(mapping.curves) <= t3d & control_mapper


def test_well_known_shapes_drive_their_metahuman_curves(mapping):
    def drives(shape):
        k = ARKIT_NAMES.index(shape)
        return {mapping.curves[i]: mapping.weights[i, k] for i in np.flatnonzero(mapping.weights[:, k])}

    assert drives("JawOpen") == {"CTRL_expressions_jawOpen": 1.0}
    assert drives("MouthSmileLeft")["CTRL_expressions_mouthCornerPullL"] == 1.0
    assert drives("TongueOut")["CTRL_expressions_tongueOut"] == 1.0
    assert set(drives("MouthClose")) == {
        f"CTRL_expressions_mouthLipsTogether{q}" for q in ("UL", "UR", "DL", "DR")
    }
    # L/R are the character's sides: the left eye looking in looks to the character's right.
    assert "CTRL_expressions_eyeLookRightL" in drives("EyeLookInLeft")


def test_every_shape_owns_a_curve_so_the_map_is_invertible(mapping):
    own = mapping.own_curves()
    assert all(own[name] for name in ARKIT_NAMES), [n for n in ARKIT_NAMES if not own[n]]
    assert np.linalg.matrix_rank(mapping.weights) == 52


def test_in_range_arkit_weights_never_push_a_curve_out_of_range(mapping):
    # Column sums ≤ 1 per curve: the worst case (every shape at 1) stays within [0, 1].
    assert (mapping.weights.clip(min=0).sum(axis=1) <= 1 + 1e-12).all()
    assert (mapping.weights >= 0).all()
    raw = np.ones((1, 52)) @ mapping.weights.T
    assert np.array_equal(mapping.to_curves(np.ones((1, 52))), raw)


# -- the CSV ---------------------------------------------------------------------------
def test_written_file_has_time_then_the_used_curves_then_the_angles(tmp_path, mapping):
    anim = in_range_animation(4)
    write(anim, tmp_path / "a.metahuman.csv")
    lines = (tmp_path / "a.metahuman.csv").read_text().splitlines()
    assert lines[0].split(",") == ["Time", *mapping.curves, *POSE_NAMES]
    assert len(lines) == 5 and lines[2].startswith("0.033333333,")
    col = lines[0].split(",").index("CTRL_expressions_jawOpen")
    assert np.float32(lines[3].split(",")[col]) == anim.channel("JawOpen")[2]


@pytest.mark.parametrize("fps", [24.0, 29.97, 30.0, 60.0])
def test_round_trip_recovers_the_arkit_curves(tmp_path, fps):
    anim = in_range_animation(80, fps=fps, seed=int(fps))
    write(anim, tmp_path / "a.metahuman.csv")
    back = read(tmp_path / "a.metahuman.csv")
    assert back.fps == fps and back.n_frames == anim.n_frames
    np.testing.assert_allclose(back.curves, anim.curves, atol=1e-6, rtol=0)
    assert "missing_channels" not in back.metadata


def test_out_of_range_weights_are_clipped_in_the_file(tmp_path):
    anim = in_range_animation(3)
    anim.curves[:, ARKIT_NAMES.index("JawOpen")] = [1.5, -0.5, 0.5]
    write(anim, tmp_path / "a_metahuman.csv")
    lines = (tmp_path / "a_metahuman.csv").read_text().splitlines()
    col = lines[0].split(",").index("CTRL_expressions_jawOpen")
    assert [float(line.split(",")[col]) for line in lines[1:]] == [1.0, 0.0, 0.5]
    back = read(tmp_path / "a_metahuman.csv")
    assert back.channel("JawOpen").tolist() == [1.0, 0.0, 0.5]


def test_missing_curve_columns_leave_those_shapes_unknown(tmp_path, mapping):
    anim = in_range_animation(5)
    write(anim, tmp_path / "full.metahuman.csv")
    lines = (tmp_path / "full.metahuman.csv").read_text().splitlines()
    header = lines[0].split(",")
    drop = {header.index("CTRL_expressions_tongueOut"), header.index("HeadRoll")}
    kept = [",".join(c for i, c in enumerate(line.split(",")) if i not in drop) for line in lines]
    (tmp_path / "part.metahuman.csv").write_text("\n".join(kept) + "\n")
    back = read(tmp_path / "part.metahuman.csv")
    # TongueOut still shows in tongueDown/tongueWide, which only it drives: recovered anyway.
    np.testing.assert_allclose(back.channel("TongueOut"), anim.channel("TongueOut"), atol=1e-6)
    assert back.metadata["missing_channels"] == ["HeadRoll"]
    assert np.all(back.channel("HeadRoll") == 0)


def test_a_plain_csv_with_ctrl_columns_is_read_as_metahuman(tmp_path):
    anim = in_range_animation(6)
    write(anim, tmp_path / "a.metahuman.csv")
    (tmp_path / "renamed.csv").write_bytes((tmp_path / "a.metahuman.csv").read_bytes())
    back = read(tmp_path / "renamed.csv")
    assert back.metadata["source_format"] == "metahuman"


def test_errors_name_the_file(tmp_path):
    no_time = tmp_path / "a.metahuman.csv"
    no_time.write_text("Frame,CTRL_expressions_jawOpen\n0,0.5\n")
    with pytest.raises(
        FormatError, match=r"a\.metahuman\.csv: column 'Time' missing \(expected MetaHuman curves CSV\)"
    ):
        read(no_time)
    no_curves = tmp_path / "b.metahuman.csv"
    no_curves.write_text("Time,Foo\n0,0.5\n")
    with pytest.raises(FormatError, match=r"b\.metahuman\.csv: no CTRL_expressions_\* column"):
        read(no_curves)
    backwards = tmp_path / "c.metahuman.csv"
    backwards.write_text("Time,CTRL_expressions_jawOpen\n0.1,0.5\n0.0,0.5\n")
    with pytest.raises(FormatError, match="line 3: Time does not increase"):
        read(backwards)


def test_a_broken_mapping_file_is_a_rig_error(tmp_path):
    doc = json.loads(rig_file("metahuman", "arkit_to_metahuman.json").read_text())
    del doc["arkit"]["TongueOut"]
    (tmp_path / "m.json").write_text(json.dumps(doc))
    with pytest.raises(RigError, match="'TongueOut' has no entry"):
        load_mapping(tmp_path / "m.json")
    doc = json.loads(rig_file("metahuman", "arkit_to_metahuman.json").read_text())
    doc["arkit"]["BrowInnerUp"]["curves"] = {"CTRL_expressions_browDownL": 1.0}  # only another shape's curve
    doc["arkit"]["BrowDownLeft"]["curves"] = {"CTRL_expressions_browDownL": 1.0}
    (tmp_path / "m.json").write_text(json.dumps(doc))
    with pytest.raises(RigError, match="not invertible"):
        load_mapping(tmp_path / "m.json")


def test_module_follows_the_one_signature():
    assert metahuman.EXTENSION == ".metahuman.csv"
