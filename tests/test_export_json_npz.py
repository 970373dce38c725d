"""emote JSON and NPZ: exact round trips and readers that say what is wrong."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from emote.animation import CHANNELS, FaceAnimation
from emote.errors import FormatError
from emote.export import json_format, npz, read, write

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
metadata_strategy = st.dictionaries(st.text(max_size=12), json_values, max_size=6)
curves_strategy = st.integers(0, 30).flatmap(
    lambda n: hnp.arrays(
        np.float32, (n, 61), elements=st.floats(allow_nan=False, allow_infinity=False, width=32)
    )
)
fps_strategy = st.floats(0.5, 1000, allow_nan=False) | st.sampled_from([24.0, 29.97, 30.0, 60.0])


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, np.float32).view(np.uint32)


def sample(n=20, **metadata) -> FaceAnimation:
    rng = np.random.default_rng(3)
    return FaceAnimation(30.0, rng.standard_normal((n, 61)).astype(np.float32), metadata)


@pytest.mark.parametrize("ext", [".json", ".npz"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(curves=curves_strategy, fps=fps_strategy, metadata=metadata_strategy)
def test_round_trip_is_exact(tmp_path, ext, curves, fps, metadata):
    anim = FaceAnimation(fps, curves, metadata)
    write(anim, tmp_path / f"a{ext}")
    back = read(tmp_path / f"a{ext}")
    assert back.fps == anim.fps
    assert np.array_equal(bits(back.curves), bits(anim.curves))  # bit for bit, -0.0 included
    assert back.metadata == anim.metadata
    assert back == anim


def test_json_layout_is_the_documented_schema(tmp_path):
    anim = sample(4, engine="phonetic", seed=7)
    write(anim, tmp_path / "a.json")
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["format"] == "emote.animation" and doc["schema_version"] == 1
    assert doc["fps"] == 30.0 and doc["frames"] == 4
    assert doc["channels"] == list(CHANNELS)
    assert len(doc["curves"]) == 61 and all(len(c) == 4 for c in doc["curves"])  # one list per channel
    jaw = CHANNELS.index("JawOpen")
    assert np.array_equal(np.float32(doc["curves"][jaw]), anim.channel("JawOpen"))
    assert doc["metadata"] == {"engine": "phonetic", "seed": 7, "version": anim.metadata["version"]}


def test_json_numbers_are_the_shortest_float32_text(tmp_path):
    curves = np.zeros((1, 61), np.float32)
    curves[0, :3] = [0.1, 1e-8, -0.0125]
    write(FaceAnimation(30, curves), tmp_path / "a.json")
    text = (tmp_path / "a.json").read_text()
    assert "[0.1]" in text and "[1e-08]" in text and "[-0.0125]" in text


def test_json_schema_doc_exists_and_names_every_key():
    from conftest import REPO

    doc = (REPO / "docs" / "json_schema.md").read_text()
    for key in ("format", "schema_version", "fps", "frames", "channels", "curves", "metadata"):
        assert f"`{key}`" in doc


@pytest.mark.parametrize("ext", [".json", ".npz"])
def test_channel_subset_in_any_order_is_mapped_by_name(tmp_path, ext):
    frames = 5
    values = {
        "JawOpen": np.linspace(0, 1, frames),
        "eyeblinkleft": np.full(frames, 0.5),
        "HeadYaw": np.full(frames, -0.2),
    }
    path = tmp_path / f"subset{ext}"
    if ext == ".json":
        doc = {
            "format": "emote.animation",
            "schema_version": 1,
            "fps": 24,
            "frames": frames,
            "channels": list(values),
            "curves": [v.tolist() for v in values.values()],
        }
        path.write_text(json.dumps(doc))
    else:
        np.savez(
            path, fps=24.0, channels=np.array(list(values)), curves=np.stack(list(values.values()), axis=1)
        )
    anim = read(path)
    assert anim.fps == 24 and anim.n_frames == frames
    np.testing.assert_allclose(anim.channel("JawOpen"), values["JawOpen"], rtol=1e-7)
    assert np.all(anim.channel("EyeBlinkLeft") == 0.5) and np.all(anim.channel("HeadYaw") == np.float32(-0.2))
    assert np.all(anim.channel("MouthClose") == 0)
    assert len(anim.metadata["missing_channels"]) == 58 and "JawOpen" not in anim.metadata["missing_channels"]


def good_doc(frames=3):
    return {
        "format": "emote.animation",
        "schema_version": 1,
        "fps": 30,
        "frames": frames,
        "channels": list(CHANNELS),
        "metadata": {},
        "curves": [[0.0] * frames for _ in CHANNELS],
    }


def _set(doc, key, value):
    doc[key] = value
    return doc


def _set_curve(doc, index, value):
    doc["curves"][index] = value
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _set(d, "format", "other"), "'format' is 'other', expected 'emote.animation'"),
        (
            lambda d: _set(d, "schema_version", 2),
            "schema_version 2 is newer than this emote reads (1); upgrade emote",
        ),
        (lambda d: _set(d, "fps", -1), "fps -1 is not a positive number"),
        (lambda d: _set(d, "frames", "3"), "'frames' '3' is not a frame count"),
        (
            lambda d: _set(d, "channels", ["JawOpen", "Smile", *CHANNELS[2:]]),
            "unknown channel 'Smile' in 'channels'",
        ),
        (
            lambda d: _set(d, "channels", ["JawOpen", "jawopen", *CHANNELS[2:]]),
            "channel 'JawOpen' appears more than once",
        ),
        (lambda d: _set_curve(d, 17, [0.0, 0.1]), "channel 'JawOpen' has 2 values, expected 3 ('frames')"),
        (lambda d: _set_curve(d, 17, [0.0, "a", 0.1]), "channel 'JawOpen': 'a' is not a number"),
        (lambda d: _set_curve(d, 17, [0.0, 1e39, 0.1]), "channel 'JawOpen': value beyond float32 range"),
        (lambda d: _set(d, "curves", [[0.0]] * 3), "'curves' must hold 61 lists (one per channel), got 3"),
        (lambda d: _set(d, "metadata", [1]), "'metadata' must be an object"),
        (lambda d: {k: v for k, v in d.items() if k != "fps"}, "key 'fps' missing (expected emote JSON)"),
    ],
)
def test_json_reader_validates_with_one_line_errors(tmp_path, change, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(change(good_doc())))
    with pytest.raises(FormatError) as e:
        read(path)
    assert str(e.value).startswith(f"{path}: ")
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_json_reader_rejects_broken_json_and_nan(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "emote.animation",')
    with pytest.raises(FormatError, match=r"broken\.json: not valid JSON \(line 1"):
        read(broken)
    nan = tmp_path / "nan.json"
    nan.write_text(json.dumps(good_doc()).replace("[0.0, 0.0, 0.0]", "[0.0, NaN, 0.0]", 1))
    with pytest.raises(FormatError, match="NaN is not a finite number"):
        read(nan)


def test_metadata_json_cannot_hold_is_refused_before_anything_is_written(tmp_path):
    anim = sample(3, callback=object())
    for ext in (".json", ".npz"):
        with pytest.raises(FormatError, match="metadata cannot be written as JSON"):
            write(anim, tmp_path / f"a{ext}")
    assert list(tmp_path.iterdir()) == []


def test_numpy_values_in_metadata_are_written_as_plain_json(tmp_path):
    anim = sample(2, seed=np.int64(4), gains=np.array([0.5, 1.0]))
    write(anim, tmp_path / "a.json")
    assert read(tmp_path / "a.json").metadata["gains"] == [0.5, 1.0]


def test_npz_arrays_are_plain_and_load_without_pickle(tmp_path):
    anim = sample(6, engine="phonetic")
    write(anim, tmp_path / "a.npz")
    with np.load(tmp_path / "a.npz") as z:  # allow_pickle=False is numpy's default
        assert z["curves"].dtype == np.float32 and z["curves"].shape == (6, 61)
        assert z["fps"].item() == 30.0 and z["channels"].tolist() == list(CHANNELS)
        assert json.loads(z["metadata"].item())["engine"] == "phonetic"
        assert z["format"].item() == "emote.animation" and z["schema_version"].item() == 1


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"fps": 30.0}, "array 'curves' missing"),
        ({"curves": np.zeros((2, 61), np.float32)}, "array 'fps' missing"),
        ({"curves": np.zeros((2, 60), np.float32), "fps": 30.0}, "'curves' has 60 columns for 61 channels"),
        ({"curves": np.full((2, 61), np.nan, np.float32), "fps": 30.0}, "'curves' holds NaN"),
        ({"curves": np.zeros((2, 61)), "fps": 0.0}, "fps 0.0 is not a positive number"),
        ({"curves": np.zeros((2, 61)), "fps": 30.0, "schema_version": 9}, "schema_version 9 is newer"),
        ({"curves": np.zeros((2, 61)), "fps": 30.0, "metadata": "{oops"}, "'metadata' is not valid JSON"),
        (
            {"curves": np.zeros((2, 1)), "fps": 30.0, "channels": np.array(["Smile"])},
            "unknown channel 'Smile'",
        ),
    ],
)
def test_npz_reader_validates(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(FormatError) as e:
        read(path)
    assert str(e.value).startswith(f"{path}: ") and message in str(e.value)


def test_npz_reader_refuses_non_archives_and_pickles(tmp_path):
    text = tmp_path / "text.npz"
    text.write_text("not an archive")
    with pytest.raises(FormatError, match=r"text\.npz: not a NumPy \.npz archive"):
        read(text)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, curves=np.zeros((1, 61)), fps=30.0, metadata=np.array([{"a": 1}], dtype=object))
    with pytest.raises(FormatError, match="pickled"):
        read(pickled)


def test_modules_follow_the_one_signature():
    assert json_format.EXTENSION == ".json" and npz.EXTENSION == ".npz"
