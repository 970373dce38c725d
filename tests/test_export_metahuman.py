"""MetaHuman curves: the authored ARKit map, its CSV, and reading it back by solving the map."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import needs

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
        needs("test-material", f"{path} not found")
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
    assert set(mapping.curves) <= t3d
    # tongueRollDown is driven by Epic's pose asset but has no control of that name in the
    # control-mapper list; every other curve drives either.
    assert set(mapping.curves) - control_mapper == {"CTRL_expressions_tongueRollDown"}


# The CTRL_expressions_* curves and weights of the poses of Epic's ARKit mapping pose asset
# (mh_arkit_mapping_pose, as read from alexdjulin/LiveLinkFace-CSV-Retarget-For-Motionbuilder
# map/mh_arkit_mapping_pose.T3D and its unreal_mapping.txt listing) for the shapes where emote's
# map differed; values of magnitude < 1e-5 and the browLateralL 0.031405 offset omitted (the
# mapping's "differences" says why).
def quarters(prefix: str, weight: float) -> dict[str, float]:
    return {f"CTRL_expressions_{prefix}{q}": weight for q in ("UL", "UR", "DL", "DR")}


EPIC_POSES: dict[str, dict[str, float]] = {
    "JawForward": {"CTRL_expressions_jawFwd": 0.998648},
    "MouthFunnel": quarters("mouthFunnel", 1.0),
    "MouthPucker": quarters("mouthLipsPurse", 1.0)
    | quarters("mouthLipsTowards", 0.412242)
    | quarters("mouthFunnel", 0.751934),
    "MouthRollLower": {
        "CTRL_expressions_mouthUpperLipRollInL": 0.49881, "CTRL_expressions_mouthUpperLipRollInR": 0.49881,
        "CTRL_expressions_mouthLowerLipRollInL": 1.0, "CTRL_expressions_mouthLowerLipRollInR": 1.0,
    },
    "MouthRollUpper": {
        "CTRL_expressions_mouthUpperLipRollInL": 0.997621, "CTRL_expressions_mouthUpperLipRollInR": 0.997621,
    },
    "MouthUpperUpLeft": {"CTRL_expressions_mouthUpperLipRaiseL": 1.0},
    "MouthUpperUpRight": {"CTRL_expressions_mouthUpperLipRaiseR": 1.0},
    "BrowDownLeft": {"CTRL_expressions_browDownL": 1.0},
    "BrowDownRight": {"CTRL_expressions_browDownR": 1.0},
    "BrowInnerUp": {
        "CTRL_expressions_browLateralL": 1.0, "CTRL_expressions_browLateralR": 1.0,
        "CTRL_expressions_browRaiseInL": 1.0, "CTRL_expressions_browRaiseInR": 1.0,
    },
    "BrowOuterUpLeft": {"CTRL_expressions_browRaiseInL": 1.0, "CTRL_expressions_browRaiseOuterL": 1.0},
    "BrowOuterUpRight": {"CTRL_expressions_browRaiseInR": 1.0, "CTRL_expressions_browRaiseOuterR": 1.0},
    "CheekPuff": {
        "CTRL_expressions_mouthCheekBlowL": 1.0, "CTRL_expressions_mouthCheekBlowR": 1.0,
        "CTRL_expressions_mouthLipsBlowL": 1.0, "CTRL_expressions_mouthLipsBlowR": 1.0,
    },
    "CheekSquintLeft": {"CTRL_expressions_eyeCheekRaiseL": 1.0},
    "NoseSneerLeft": {"CTRL_expressions_noseWrinkleL": 1.0},
    "NoseSneerRight": {"CTRL_expressions_noseWrinkleR": 1.0},
    "TongueOut": {
        "CTRL_expressions_tongueDown": 0.825971, "CTRL_expressions_tongueRight": 0.069764,
        "CTRL_expressions_tongueOut": 0.768854, "CTRL_expressions_tongueRollDown": 0.247319,
        "CTRL_expressions_tongueWide": 0.627775,
    },
    "JawOpen": {"CTRL_expressions_jawOpen": 1.0},
    "EyeLookInLeft": {"CTRL_expressions_eyeLookRightL": 1.0},
    "MouthSmileLeft": {"CTRL_expressions_mouthCornerPullL": 1.0},
}  # fmt: skip


def drives(mapping, shape):
    k = ARKIT_NAMES.index(shape)
    return {mapping.curves[i]: float(mapping.weights[i, k]) for i in np.flatnonzero(mapping.weights[:, k])}


@pytest.mark.parametrize("shape", sorted(EPIC_POSES))
def test_shapes_drive_the_curves_of_epics_arkit_mapping_pose_asset(mapping, shape):
    assert drives(mapping, shape) == pytest.approx(EPIC_POSES[shape], abs=1e-9)


def test_mouth_close_is_emotes_own_because_epics_asset_has_none(mapping):
    doc = json.loads(rig_file("metahuman", "arkit_to_metahuman.json").read_text())
    assert "MouthClose" in doc["differences"] and "browLateralL 0.031405" in doc["differences"]
    assert set(drives(mapping, "MouthClose")) == set(quarters("mouthLipsTogether", 1.0))


def test_the_map_is_invertible_and_only_two_shapes_share_all_their_curves(mapping):
    own = mapping.own_curves()
    # Funnel under MouthPucker's funnel, upper-lip roll under MouthRollLower's, as in Epic's asset.
    assert [name for name in ARKIT_NAMES if not own[name]] == ["MouthFunnel", "MouthRollUpper"]
    assert np.linalg.matrix_rank(mapping.weights) == 52
    assert (mapping.weights >= 0).all()


def test_only_the_curves_epics_asset_overdrives_can_clip(mapping):
    over = {
        c for c, total in zip(mapping.curves, mapping.weights.sum(axis=1), strict=True) if total > 1 + 1e-9
    }
    assert over == set(quarters("mouthFunnel", 1.0)) | {
        "CTRL_expressions_mouthUpperLipRollInL", "CTRL_expressions_mouthUpperLipRollInR",
        "CTRL_expressions_browRaiseInL", "CTRL_expressions_browRaiseInR",
    }  # fmt: skip


# -- the CSV: Unreal's CurveTable layout ----------------------------------------------------------
def unreal_curve_table(text: str) -> dict[str, list[tuple[float, float]]]:
    """A CurveTable CSV as Unreal imports it, written from Unreal's documentation.

    *Data Driven Gameplay Elements* (Epic, Unreal Engine docs, "Curve Tables"):
    the first row holds the X (key time) values, its first cell a free label;
    every further row is one curve, its name in the first cell, then its Y value
    for each key. Row names must be unique; every key needs a value.
    """
    rows = [line.split(",") for line in text.splitlines() if line.strip()]
    keys = [float(cell) for cell in rows[0][1:]]
    assert keys == sorted(keys) and len(set(keys)) == len(keys), "key times must increase"
    table: dict[str, list[tuple[float, float]]] = {}
    for row in rows[1:]:
        name, values = row[0], row[1:]
        assert name and name not in table, f"row name {name!r} empty or repeated"
        assert len(values) == len(keys), f"row {name!r}: {len(values)} values for {len(keys)} keys"
        table[name] = list(zip(keys, map(float, values), strict=True))
    return table


def test_written_file_imports_as_an_unreal_curve_table(tmp_path, mapping):
    anim = in_range_animation(4)
    write(anim, tmp_path / "a.metahuman.csv")
    text = (tmp_path / "a.metahuman.csv").read_text()
    assert text.startswith("---,0.000000000,0.033333333,")
    table = unreal_curve_table(text)
    assert list(table) == [*mapping.curves, *POSE_NAMES]
    expected = mapping.to_curves(anim.blendshapes)
    jaw = mapping.curves.index("CTRL_expressions_jawOpen")
    assert [v for _, v in table["CTRL_expressions_jawOpen"]] == pytest.approx(expected[:, jaw], abs=1e-7)
    assert [t for t, _ in table["HeadYaw"]] == pytest.approx(np.arange(4) / 30.0, abs=1e-9)
    assert [v for _, v in table["HeadYaw"]] == pytest.approx(anim.channel("HeadYaw"), abs=1e-7)
    assert "-0.0," not in text and not text.rstrip().endswith("-0.0")


@pytest.mark.parametrize("fps", [24.0, 29.97, 30.0, 60.0])
def test_round_trip_is_exact_unless_a_curve_clipped_and_then_rewrites_the_same_file(tmp_path, fps, mapping):
    anim = in_range_animation(80, fps=fps, seed=int(fps))
    write(anim, tmp_path / "a.metahuman.csv")
    back = read(tmp_path / "a.metahuman.csv")
    assert back.fps == fps and back.n_frames == anim.n_frames
    assert "missing_channels" not in back.metadata
    raw = anim.blendshapes.astype(np.float64) @ mapping.weights.T
    clipped = (raw > 1.0).any(axis=1)
    assert 0 < clipped.sum() < anim.n_frames  # random weights clip now and then
    np.testing.assert_allclose(back.curves[~clipped], anim.curves[~clipped], atol=1e-6, rtol=0)
    # Where funnel or upper-lip roll clipped, only their shapes are unknown beyond the clip.
    hidden = [ARKIT_NAMES.index(n) for n in ("MouthFunnel", "MouthRollUpper")]
    seen = np.setdiff1d(np.arange(61), hidden)
    np.testing.assert_allclose(back.curves[:, seen], anim.curves[:, seen], atol=1e-5, rtol=0)
    write(back, tmp_path / "b.metahuman.csv")
    np.testing.assert_allclose(
        mapping.to_curves(back.blendshapes), mapping.to_curves(anim.blendshapes), atol=1e-5
    )


def test_the_column_layout_of_earlier_files_still_reads(tmp_path, mapping):
    anim = in_range_animation(5)
    anim.curves[:, :52] *= 0.4  # nothing clips
    values = np.hstack([mapping.to_curves(anim.blendshapes), anim.curves[:, 52:]])
    lines = [",".join(["Time", *mapping.curves, *POSE_NAMES])]
    lines += [",".join([f"{i / 30:.9f}", *(repr(float(v)) for v in row)]) for i, row in enumerate(values)]
    (tmp_path / "old.csv").write_text("\n".join(lines) + "\n")
    back = read(tmp_path / "old.csv")
    assert back.metadata["source_format"] == "metahuman" and back.fps == 30
    np.testing.assert_allclose(back.curves, anim.curves, atol=1e-6)


def test_out_of_range_weights_are_clipped_in_the_file(tmp_path):
    anim = in_range_animation(3)
    anim.curves[:, ARKIT_NAMES.index("JawOpen")] = [1.5, -0.5, 0.5]
    write(anim, tmp_path / "a_metahuman.csv")
    table = unreal_curve_table((tmp_path / "a_metahuman.csv").read_text())
    assert [v for _, v in table["CTRL_expressions_jawOpen"]] == [1.0, 0.0, 0.5]
    back = read(tmp_path / "a_metahuman.csv")
    assert back.channel("JawOpen").tolist() == [1.0, 0.0, 0.5]


def test_missing_curve_rows_leave_those_shapes_unknown(tmp_path, mapping):
    anim = in_range_animation(5)
    anim.curves[:, :52] *= 0.4  # nothing clips
    write(anim, tmp_path / "full.metahuman.csv")
    lines = (tmp_path / "full.metahuman.csv").read_text().splitlines()
    kept = [line for line in lines if not line.startswith(("CTRL_expressions_tongueOut,", "HeadRoll,"))]
    assert len(kept) == len(lines) - 2
    (tmp_path / "part.metahuman.csv").write_text("\n".join(kept) + "\n")
    back = read(tmp_path / "part.metahuman.csv")
    # TongueOut still shows in the other tongue curves, which only it drives: recovered anyway.
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
