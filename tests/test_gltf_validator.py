"""Every GLB emote writes passes the Khronos glTF validator with no errors.

The validator is the reference implementation of the glTF 2.0 specification's
rules (npm package ``gltf-validator``), run through ``tests/gltf_validate.js``
with Node.js. ``./setup.sh`` installs it into ``$EMOTE_CACHE_DIR/gltf-validator``
(default ``~/.cache/emote``); ``EMOTE_GLTF_VALIDATOR`` may point at the package
folder instead. Under CI (``CI`` set) a missing validator fails the tests
instead of skipping them (the skip policy in ``tests/conftest.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import RIGS_DATA, needs
from test_glb import animation, small_rig
from test_rigs_gltf import make_head

from emote.animation.face_animation import FaceAnimation
from emote.export import glb
from emote.rigs.base import MeshRig
from emote.rigs.gltf import load_gltf_rig

RUNNER = Path(__file__).with_name("gltf_validate.js")


def validator_package() -> Path:
    explicit = os.environ.get("EMOTE_GLTF_VALIDATOR")
    if explicit:
        return Path(explicit)
    cache = Path(os.environ.get("EMOTE_CACHE_DIR") or Path.home() / ".cache" / "emote")
    return cache / "gltf-validator" / "node_modules" / "gltf-validator"


@pytest.fixture(scope="module")
def validate():
    package, node = validator_package(), shutil.which("node")
    if node is None or not (package / "package.json").is_file():
        missing = "node" if node is None else f"the gltf-validator package at {package}"
        needs("gltf-validator", f"{missing} missing: run ./setup.sh")  # fails under CI (conftest)

    def run(*paths: Path) -> list[dict]:
        done = subprocess.run(
            [node, str(RUNNER), str(package), *map(str, paths)], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return run


def errors(report: dict) -> list[str]:
    return [
        f"{m['code']} {m.get('pointer', '')}: {m['message']}"
        for m in report["messages"]
        if m["severity"] == 0
    ]


def test_the_validator_catches_what_it_should(validate, tmp_path):
    # A sparse accessor with byteOffset but no bufferView: the error emote's GLBs once had.
    good = tmp_path / "good.glb"
    glb.write(animation(), good, rig=small_rig())
    data = bytearray(good.read_bytes())
    length = int.from_bytes(data[12:16], "little")
    doc = json.loads(data[20 : 20 + length])
    sparse = next(a for a in doc["accessors"] if "sparse" in a)
    sparse["byteOffset"] = 0
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    bad_bytes = data[:12] + len(text).to_bytes(4, "little") + b"JSON" + text + data[20 + length :]
    bad_bytes[8:12] = len(bad_bytes).to_bytes(4, "little")
    bad = tmp_path / "bad.glb"
    bad.write_bytes(bytes(bad_bytes))
    good_report, bad_report = validate(good, bad)
    assert errors(good_report) == []
    assert any("UNSATISFIED_DEPENDENCY" in e and "byteOffset" in e for e in errors(bad_report))


def test_every_glb_emote_writes_has_no_validation_errors(validate, tmp_path):
    anim = animation(frames=20)
    rigs: dict[str, MeshRig | None] = {"default-head": None, "grid": small_rig()}
    rigs["grid-no-shapes"] = MeshRig(
        name="bare", neutral=rigs["grid"].neutral, faces=rigs["grid"].faces, shape_names=[],
        deltas=np.zeros((0, 36, 3), np.float32), colors=rigs["grid"].colors,
    )  # fmt: skip
    make_head(tmp_path / "user_head.glb")
    rigs["user-gltf-head"] = load_gltf_rig(tmp_path / "user_head.glb")
    rocketbox = RIGS_DATA / "rocketbox_male_adult_03.glb"
    if rocketbox.is_file():
        rigs["rocketbox"] = load_gltf_rig(rocketbox)
    if (RIGS_DATA / "ict-facekit" / "FaceXModel" / "generic_neutral_mesh.obj").is_file():
        from emote.rigs.ict import load_ict_rig

        rigs["ict"] = load_ict_rig(RIGS_DATA / "ict-facekit")
    paths = []
    for name, rig in rigs.items():
        paths.append(tmp_path / f"{name}.glb")
        glb.write(anim, paths[-1], rig=rig)
    paths.append(tmp_path / "empty.glb")
    glb.write(FaceAnimation(30.0, np.zeros((0, 61), np.float32)), paths[-1], rig=small_rig())
    reports = validate(*paths)
    assert {Path(r["file"]).stem: errors(r) for r in reports} == {p.stem: [] for p in paths}
