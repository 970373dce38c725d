"""Issue 14, class 4: files and names that try to reach outside where they belong.

glTF URIs resolve inside the rig's folder only (``data:`` URIs allowed); indices and
morph targets are checked against the vertex count; ``--name`` is one plain file name;
a batch never writes through a symbolic link inside its output folder.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hostile import error_line, leftovers, run_emote, speech_wav

from emote.cli.main import main
from emote.errors import RigError
from emote.rigs.gltf import load_gltf_rig

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(sys.platform == "win32", reason="platform: POSIX paths and symlinks"),
]

POSITIONS = np.array([[0, 0, 0], [0.05, 0, 0], [0, 0.05, 0], [0.05, 0.05, 0]], np.float32)
TARGET = np.tile(np.array([0, -0.01, 0], np.float32), (4, 1))


def gltf_doc(uri: str, *, indices=(0, 1, 2, 1, 3, 2), target=TARGET, image_uri: str | None = None) -> dict:
    """A two-triangle head with a 'jawOpen' morph target, its buffer at ``uri``."""
    idx = np.asarray(indices, np.uint16).tobytes()
    idx += b"\0" * (-len(idx) % 4)
    blob = POSITIONS.tobytes() + idx + np.asarray(target, np.float32).tobytes()
    doc = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
        "meshes": [{"extras": {"targetNames": ["jawOpen"]},
                    "primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "targets": [{"POSITION": 2}]}]}],
        "buffers": [{"uri": uri, "byteLength": len(blob)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 48},
                        {"buffer": 0, "byteOffset": 48, "byteLength": 2 * len(indices)},
                        {"buffer": 0, "byteOffset": 48 + len(idx), "byteLength": 12 * len(target)}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3",
                       "min": [0, 0, 0], "max": [0.05, 0.05, 0]},
                      {"bufferView": 1, "componentType": 5123, "count": len(indices), "type": "SCALAR"},
                      {"bufferView": 2, "componentType": 5126, "count": len(target), "type": "VEC3"}],
    }  # fmt: skip
    if image_uri is not None:
        doc["images"] = [{"uri": image_uri}]
        doc["textures"] = [{"source": 0}]
        doc["materials"] = [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}]
        doc["meshes"][0]["primitives"][0]["material"] = 0
    doc["_blob"] = blob
    return doc


def write_gltf(folder: Path, name: str, doc: dict) -> Path:
    blob = doc.pop("_blob")
    uri = doc["buffers"][0]["uri"]
    if uri == "mesh.bin":
        (folder / "mesh.bin").write_bytes(blob)
    elif uri.startswith("data:"):
        doc["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64.b64encode(blob).decode()
    path = folder / name
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def rig_dir(tmp_path) -> Path:
    folder = tmp_path / "rig"
    folder.mkdir()
    (tmp_path / "outside.bin").write_bytes(gltf_doc("x")["_blob"])  # a valid buffer, but outside the folder
    return folder


@pytest.mark.parametrize("uri", ["data:", "mesh.bin"])
def test_data_uris_and_files_beside_the_rig_load(rig_dir, uri):
    rig = load_gltf_rig(write_gltf(rig_dir, "head.gltf", gltf_doc(uri)))
    assert rig.n_vertices == 4 and rig.shape_names == ["JawOpen"]


@pytest.mark.parametrize(
    "uri",
    ["../../../../etc/passwd", "/etc/passwd", "file:///etc/passwd", "../outside.bin", "%2e%2e/outside.bin",
     "sub/../../outside.bin", "http://example.com/mesh.bin", "link.bin"],
)  # fmt: skip
def test_buffer_uris_outside_the_rigs_folder_are_refused(rig_dir, uri):
    (rig_dir / "link.bin").symlink_to(rig_dir.parent / "outside.bin")  # a link out counts as outside
    path = write_gltf(rig_dir, "evil.gltf", gltf_doc(uri))
    with pytest.raises(
        RigError, match=r"evil\.gltf: buffer uri .* points outside the rig's folder \(refused\)"
    ):
        load_gltf_rig(path)


def test_image_uris_outside_the_rigs_folder_are_refused_too(rig_dir):
    path = write_gltf(rig_dir, "evil.gltf", gltf_doc("data:", image_uri="../../../../etc/shadow"))
    with pytest.raises(RigError, match="image uri"):
        load_gltf_rig(path)


def test_rigs_info_refuses_a_traversing_rig_in_one_line(rig_dir):
    path = write_gltf(rig_dir, "evil.gltf", gltf_doc("../../../../etc/passwd"))
    error_line(run_emote("rigs", "info", str(path), timeout=60), "evil.gltf", "outside the rig's folder")


@pytest.mark.parametrize(
    "indices, target, words",
    [((0, 1, 2, 1, 3, 9), TARGET, "index 9 refers past its 4 vertices"),
     ((0, 1, 2, 1, 3, 60000), TARGET, "index 60000"),
     ((0, 1, 2), np.zeros((3, 3), np.float32), "morph target 'JawOpen' has 3 vertices, the mesh 4")],
)  # fmt: skip
def test_indices_and_targets_are_checked_against_the_vertex_count(rig_dir, indices, target, words):
    path = write_gltf(rig_dir, "bad.gltf", gltf_doc("data:", indices=indices, target=target))
    with pytest.raises(RigError, match=words):
        load_gltf_rig(path)


@pytest.mark.parametrize("name", ["../../escape", "/tmp/absolute", "a/b", "..", ".", ".hidden", "a\\b", ""])
def test_animate_name_must_be_one_plain_file_name(tmp_path, capsys, name):
    audio = speech_wav(tmp_path / "line.wav")
    out = tmp_path / "deep" / "out"
    before = leftovers(tmp_path)
    assert main(["animate", str(audio), "-o", str(out), "-q", "--name", name]) == 1
    assert "--name" in capsys.readouterr().err
    assert leftovers(tmp_path) == before  # nothing written anywhere, inside -o or out of it


def test_a_symlinked_folder_inside_a_batch_output_folder_is_not_written_through(tmp_path):
    audio = speech_wav(tmp_path / "line.wav")
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "hero").symlink_to(elsewhere)
    manifest = tmp_path / "lines.csv"
    manifest.write_text(f"audio,output\n{audio},hero/line\n{audio},plain\n")
    res = run_emote("batch", str(manifest), "-o", str(out), "-q")
    assert res.returncode == 1 and b"symbolic link" in res.stderr
    assert os.listdir(elsewhere) == []
    assert (out / "plain.csv").exists()  # the other line ran


def test_batch_state_through_a_symlink_is_refused(tmp_path):
    audio = speech_wav(tmp_path / "line.wav")
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / ".emote-batch").symlink_to(elsewhere)
    manifest = tmp_path / "lines.csv"
    manifest.write_text(f"audio\n{audio}\n")
    error_line(run_emote("batch", str(manifest), "-o", str(out), "-q"), ".emote-batch", "symbolic link")
    assert os.listdir(elsewhere) == []
