"""Hostile animation files (Live Link CSV, JSON, NPZ, MetaHuman CSV) and rig files (GLB, FLAME).

Every reader refuses garbage with a one-line :class:`EmoteError` naming the file; the
``emote convert`` CLI turns that into one stderr line and writes nothing.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import needs

from emote.animation import FaceAnimation
from emote.errors import EmoteError, FormatError, RigError
from emote.export import read, write
from emote.rigs import flame, gltf

pytestmark = pytest.mark.timeout(120)

SUFFIXES = (".csv", ".json", ".npz", ".metahuman.csv")


@pytest.fixture(scope="module")
def good_files(tmp_path_factory) -> dict[str, bytes]:
    """A short, lively animation in every curve format."""
    rng = np.random.default_rng(0)
    curves = np.zeros((40, 61), np.float32)
    curves[:, :52] = rng.uniform(0, 1, (40, 52))
    curves[:, 52:] = rng.uniform(-0.3, 0.3, (40, 9))
    anim = FaceAnimation(30.0, curves, {"engine": "test"})
    folder = tmp_path_factory.mktemp("good")
    files = {}
    for suffix in SUFFIXES:
        write(anim, folder / f"take{suffix}")
        files[suffix] = (folder / f"take{suffix}").read_bytes()
    return files


def garbage(good: bytes) -> dict[str, bytes]:
    return {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "ten_bytes": good[:10],
        "random": os.urandom(3000),
        "plain_text": b"hello world, this is not an animation\n",
        "non_utf8": good[:100] + b"\xff\xfe\xe9" + good[103:],
        "nul_bytes": b"\x00" * 500,
    }


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize(
    "case", ["empty", "truncated", "ten_bytes", "random", "plain_text", "non_utf8", "nul_bytes"]
)
def test_damaged_animation_files_are_refused_in_one_line(tmp_path, good_files, suffix, case):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(garbage(good_files[suffix])[case])
    with pytest.raises(FormatError) as info:
        read(path)
    message = str(info.value)
    assert "bad" in message and "\n" not in message


def test_npz_with_corrupt_compressed_data_is_a_format_error(tmp_path, good_files):
    good = good_files[".npz"]
    path = tmp_path / "damaged.npz"
    path.write_bytes(good[:100] + b"\xff\xfe\xe9" + good[103:])
    with pytest.raises(FormatError):
        read(path)


def test_wrong_format_under_the_right_extension_is_refused(tmp_path, good_files):
    for suffix, other in ((".csv", ".npz"), (".json", ".csv"), (".npz", ".json"), (".metahuman.csv", ".npz")):
        path = tmp_path / f"swapped{suffix}"
        path.write_bytes(good_files[other])
        with pytest.raises(FormatError):
            read(path)


LIVELINK_ROWS = {
    "unknown_columns": lambda h, rows: ("Timecode,Foo,Bar", rows),
    "duplicated_column": lambda h, rows: (h + ",JawOpen", [r + ",0" for r in rows]),
    "short_row": lambda h, rows: (h, [*rows[:3], rows[3][:40]]),
    "number_too_big_for_a_float": lambda h, rows: (h, [r.replace("0.", "9e999", 1) for r in rows]),
    "nan_value": lambda h, rows: (
        h,
        [r.replace(",0.", ",nan,0.", 1).replace(",nan,0.", ",nan", 1) for r in rows],
    ),
    "bad_timecode": lambda h, rows: (h, ["xx" + r[2:] for r in rows]),
    "huge_timecode": lambda h, rows: (h, ["99999999999" + r[2:] for r in rows]),
    "time_going_back": lambda h, rows: (h, rows[::-1]),
    "semicolons": lambda h, rows: (h.replace(",", ";"), [r.replace(",", ";") for r in rows]),
}


@pytest.mark.parametrize("case", sorted(LIVELINK_ROWS))
def test_malformed_live_link_csvs_are_refused(tmp_path, good_files, case):
    header, *rows = good_files[".csv"].decode().splitlines()
    header, rows = LIVELINK_ROWS[case](header, rows)
    path = tmp_path / f"{case}.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(FormatError) as info:
        read(path)
    assert case in str(info.value) and "\n" not in str(info.value)


def test_huge_but_finite_curve_values_are_refused_not_overflowed(tmp_path, good_files):
    header, *rows = good_files[".csv"].decode().splitlines()
    path = tmp_path / "huge.csv"
    path.write_text("\n".join([header, *[r.replace(",0.", ",1e300,", 1) for r in rows]]) + "\n")
    with pytest.raises(FormatError):
        read(path)


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"fps": 0}, "fps"),
        ({"fps": "30"}, "fps"),
        ({"fps": -5}, "fps"),
        ({"channels": "JawOpen"}, "channels"),
        ({"curves": [[1, 2], [3]]}, "curves"),
    ],
)
def test_json_with_wrong_fields_is_refused(tmp_path, good_files, change, word):
    doc = json.loads(good_files[".json"])
    doc.update(change)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(FormatError) as info:
        read(path)
    assert word in str(info.value)


def test_deeply_nested_json_is_a_format_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(FormatError):
        read(path)


def test_npz_with_pickled_objects_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.npz"
    np.savez(path, curves=np.array([Evil()], dtype=object), fps=np.array(30.0))
    with pytest.raises(FormatError):
        read(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("arrays", "word"),
    [
        ({"foo": np.zeros(3)}, "curves"),
        ({"curves": np.zeros((5, 3)), "fps": np.array(30.0)}, "61"),
        ({"curves": np.full((5, 61), np.nan, np.float32), "fps": np.array(30.0)}, "NaN"),
        ({"curves": np.zeros((5, 61), np.float32), "fps": np.array(-1.0)}, "fps"),
        ({"curves": np.full((5, 61), 1e300), "fps": np.array(30.0)}, "float32"),
    ],
)
def test_npz_with_wrong_arrays_is_refused(tmp_path, arrays, word):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(FormatError) as info:
        read(path)
    assert word in str(info.value)


def test_convert_cli_refuses_garbage_in_one_line_and_writes_nothing(tmp_path):
    src = tmp_path / "take.csv"
    src.write_bytes(os.urandom(1000))
    dst = tmp_path / "out" / "take.json"
    res = subprocess.run([sys.executable, "-m", "emote", "convert", str(src), str(dst)],
                         capture_output=True, text=True, check=False, timeout=60)  # fmt: skip
    assert res.returncode == 1 and res.stderr.startswith("emote: error:") and "take.csv" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not dst.exists()


# -- rigs: GLB / glTF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.glb", b""),
        ("text.glb", b"hello, not a model"),
        ("json_as.glb", b'{"asset": {"version": "2.0"}}'),
        ("magic_then_garbage.glb", b"glTF" + os.urandom(600)),
        ("random.gltf", os.urandom(600)),
        ("no_mesh.gltf", b'{"asset": {"version": "2.0"}}'),
        ("truncated_json.gltf", b'{"asset": {"version": "2.0"}, "meshes": [{"primitives": [{"attr'),
    ],
)
def test_bad_gltf_rigs_are_refused_naming_the_file(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(RigError) as info:
        gltf.load_gltf_rig(path)
    assert name in str(info.value) and "\n" not in str(info.value)


def test_a_truncated_real_glb_is_refused(tmp_path):
    real = Path(__file__).resolve().parents[2] / "shared" / "data" / "rigs" / "rocketbox_male_adult_03.glb"
    if not real.is_file():
        needs("test-material", f"test rig not found at {real}")
    data = real.read_bytes()
    for cut in (100, len(data) // 2, len(data) - 10):
        path = tmp_path / f"cut_{cut}.glb"
        path.write_bytes(data[:cut])
        with pytest.raises(RigError):
            gltf.load_gltf_rig(path)


BOMB = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # keep the machine safe
    from emote.rigs.gltf import load_gltf_rig
    n = 300_000_000
    doc = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
           "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
           "accessors": [{"componentType": 5126, "count": n, "type": "VEC3"},
                         {"componentType": 5125, "count": n, "type": "SCALAR"}]}
    open(sys.argv[1], "w").write(json.dumps(doc))
    try:
        load_gltf_rig(sys.argv[1])
    except Exception as err:
        print(type(err).__name__, err)
    """
)


def test_a_tiny_gltf_claiming_a_billion_vertices_is_refused_before_allocating(tmp_path):
    res = subprocess.run([sys.executable, "-c", BOMB, str(tmp_path / "bomb.gltf")], capture_output=True, text=True,
                         check=False, timeout=100)  # fmt: skip
    assert res.stdout.startswith("RigError") and "MemoryError" not in res.stdout, res.stdout + res.stderr


# -- rigs: FLAME ----------------------------------------------------------------------------------------------


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p, m: p.write_bytes(b""), id="empty"),
        pytest.param(lambda p, m: p.write_text("hello"), id="text"),
        pytest.param(lambda p, m: p.write_bytes(os.urandom(400)), id="random"),
        pytest.param(lambda p, m: p.write_bytes(pickle.dumps({"a": 1})), id="wrong-dict"),
        pytest.param(lambda p, m: p.write_bytes(pickle.dumps([1, 2, 3])), id="a-list"),
        pytest.param(
            lambda p, m: p.write_bytes(pickle.dumps({"v_template": np.zeros(3)})[:40]), id="truncated"
        ),
        pytest.param(lambda p, m: p.write_bytes(pickle.dumps(_Evil(m))), id="code-execution"),
    ],
)
def test_bad_flame_model_files_are_refused_and_never_run_code(tmp_path, make):
    path, marker = tmp_path / "generic_model.pkl", tmp_path / "pwned"
    make(path, marker)
    with pytest.raises(RigError) as info:
        flame.load_flame_model(path)
    assert "generic_model.pkl" in str(info.value)
    assert not marker.exists()


def test_flame_npz_without_the_model_arrays_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    np.savez(path, foo=np.zeros(3))
    with pytest.raises(RigError) as info:
        flame.load_flame_model(path)
    assert "v_template" in str(info.value)


def test_every_reader_error_is_an_emote_error():
    assert issubclass(FormatError, EmoteError) and issubclass(RigError, EmoteError)
