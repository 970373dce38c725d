"""Tolerant ARKit name matching, on spellings from real tools and on a real character's 175 targets."""

from __future__ import annotations

import json
import struct

import pytest
from conftest import RIGS_DATA, needs

from emote.animation.channels import ARKIT_NAMES
from emote.rigs.names import canonical_arkit_name, match_arkit_names, missing_arkit_names

ROCKETBOX = RIGS_DATA / "rocketbox_male_adult_03.glb"


def rocketbox_target_names() -> list[str]:
    """The morph target names stored in the GLB's JSON chunk (read without any glTF library)."""
    if not ROCKETBOX.is_file():
        needs("test-material", f"not found at {ROCKETBOX}")
    data = ROCKETBOX.read_bytes()
    length, kind = struct.unpack("<I4s", data[12:20])
    assert kind == b"JSON"
    (mesh,) = json.loads(data[20 : 20 + length])["meshes"]
    return mesh["extras"]["targetNames"]


@pytest.mark.parametrize(
    ("source", "canonical"),
    [
        ("AK_25_JawOpen", "JawOpen"),
        ("jawOpen", "JawOpen"),
        ("JawOpen", "JawOpen"),
        ("JAWOPEN", "JawOpen"),
        ("mouthSmile_L", "MouthSmileLeft"),
        ("mouthSmileLeft", "MouthSmileLeft"),
        ("Mouth_Smile_Left", "MouthSmileLeft"),
        ("mouthSmile.L", "MouthSmileLeft"),
        ("L_mouthSmile", "MouthSmileLeft"),
        ("blendShape1.jawOpen", "JawOpen"),
        ("mesh.jawOpen", "JawOpen"),
        ("Face:eyeBlink_R", "EyeBlinkRight"),
        ("eyeBlink_R", "EyeBlinkRight"),
        ("ARKit_tongueOut", "TongueOut"),
        ("jawLeft", "JawLeft"),
        ("mouth_L", "MouthLeft"),
    ],
)
def test_spellings_from_common_tools_map_to_the_canonical_name(source, canonical):
    assert canonical_arkit_name(source) == canonical
    assert match_arkit_names(["unrelated", source]) == {1: canonical}


@pytest.mark.parametrize(
    "source",
    [
        "browInnerUp_L",
        "cheekPuff_R",
        "AU_26_JawDrop",
        "AA_VI_10_aa",
        "viseme_aa",
        "Eye_Left_Blink",
        "_Neutral",
        "",
    ],
)
def test_names_that_are_not_arkit_shapes_stay_unmatched(source):
    assert canonical_arkit_name(source) is None


def test_rocketbox_matches_all_52_arkit_shapes_from_its_ak_names():
    names = rocketbox_target_names()
    assert len(names) == 175
    matches = match_arkit_names(names)
    assert sorted(matches.values()) == sorted(ARKIT_NAMES)
    assert missing_arkit_names(matches) == []
    for index, canonical in matches.items():
        assert names[index].startswith("AK_") and names[index].endswith(canonical)


def test_rocketbox_visemes_facs_units_and_headbox_shapes_are_not_matched():
    names = rocketbox_target_names()
    matched = {names[i] for i in match_arkit_names(names)}
    others = [n for n in names if n.startswith(("AA_VI_", "AU_", "HB_"))]
    assert len(others) > 60
    assert not matched.intersection(others)


def test_an_explicit_arkit_tag_beats_another_rigs_vocabulary():
    # HB_08_TongueOut and SR_21_Jaw_Open would match on their own, but AK_ names the ARKit shape.
    names = ["HB_08_TongueOut", "SR_21_Jaw_Open", "AK_52_TongueOut", "AK_25_JawOpen"]
    assert match_arkit_names(names) == {2: "TongueOut", 3: "JawOpen"}
    assert match_arkit_names(["HB_08_TongueOut"]) == {0: "TongueOut"}


def test_the_exact_canonical_spelling_wins_and_each_shape_is_used_once():
    assert match_arkit_names(["jawOpen", "JawOpen", "AK_25_JawOpen"]) == {1: "JawOpen"}
    assert match_arkit_names(["jawOpen", "blendShape1.jawOpen"]) == {0: "JawOpen"}


def test_missing_names_come_in_canonical_order():
    present = [n for n in ARKIT_NAMES if n != "TongueOut" and not n.startswith("EyeLook")]
    missing = missing_arkit_names(present)
    assert missing == [n for n in ARKIT_NAMES if n == "TongueOut" or n.startswith("EyeLook")]
    assert missing_arkit_names({0: "JawOpen"}) == [n for n in ARKIT_NAMES if n != "JawOpen"]
