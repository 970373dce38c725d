"""GLB export: mesh + ARKit morph targets + weights animation, read back by us and by Blender.

The Blender check imports the file with the glTF importer of real Blender (the
``bpy`` wheel from PyPI) in a separate process per Blender found. Interpreters
come from ``EMOTE_BPY_PYTHONS`` (``os.pathsep``-separated; ``EMOTE_BPY_PYTHON``
for one) or the venvs ``~/.cache/emote/bpy-4.2`` / ``bpy-5.0``::

    python3.11 -m venv ~/.cache/emote/bpy-4.2 && ~/.cache/emote/bpy-4.2/bin/pip install "bpy==4.2.*" "numpy<2"
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import missing

from emote.animation.channels import ARKIT_NAMES, INDEX, N_ARKIT
from emote.animation.face_animation import FaceAnimation
from emote.errors import FormatError
from emote.export import glb
from emote.rigs.base import MeshRig, Rigid
from emote.rigs.gltf import load_gltf_rig


def small_rig(names=("EyeBlinkRight", "JawOpen", "MouthSmileLeft", "BrowInnerUp")) -> MeshRig:
    """A 6×6 vertex grid (mm) with one distinct shape per name."""
    xs, ys = np.meshgrid(np.linspace(-30, 30, 6), np.linspace(-40, 40, 6))
    neutral = np.stack([xs.ravel(), ys.ravel(), np.zeros(36)], 1).astype(np.float32)
    faces = []
    for i in range(5):
        for j in range(5):
            a = i * 6 + j
            faces += [[a, a + 1, a + 7], [a, a + 7, a + 6]]
    rng = np.random.default_rng(4)
    deltas = np.zeros((len(names), 36, 3), np.float32)
    for s in range(len(names)):
        moved = rng.choice(36, 5 + 10 * s, replace=False)  # some sparse, some dense targets
        deltas[s, moved] = rng.normal(0, 3, (len(moved), 3))
    return MeshRig(
        name="grid",
        neutral=neutral,
        faces=np.asarray(faces, np.int32),
        shape_names=list(names),
        deltas=deltas,
        colors=np.full((36, 3), 0.7, np.float32),
        head=Rigid(np.arange(36), np.array([0, -50, -20], np.float32), "HeadYaw", "HeadPitch", "HeadRoll"),
    )


def animation(frames=12, fps=30.0, seed=0) -> FaceAnimation:
    rng = np.random.default_rng(seed)
    curves = np.zeros((frames, 61), np.float32)
    curves[:, :N_ARKIT] = rng.uniform(0, 1, (frames, N_ARKIT))
    curves[:, N_ARKIT:] = rng.uniform(-0.3, 0.3, (frames, 9))
    return FaceAnimation(fps, curves, {"engine": "test", "seed": seed})


def glb_json(path: Path) -> dict:
    data = path.read_bytes()
    magic, version, total = struct.unpack("<4sII", data[:12])
    assert (magic, version, total) == (b"glTF", 2, len(data))
    length, kind = struct.unpack("<I4s", data[12:20])
    assert kind == b"JSON"
    return json.loads(data[20 : 20 + length])


def test_glb_holds_named_targets_and_a_linear_weights_animation(tmp_path):
    rig, anim = small_rig(), animation()
    glb.write(anim, tmp_path / "a.glb", rig=rig)
    doc = glb_json(tmp_path / "a.glb")
    mesh = doc["meshes"][0]
    assert mesh["extras"]["targetNames"] == list(rig.shape_names)
    assert len(mesh["primitives"][0]["targets"]) == len(rig.shape_names)
    (animation_,) = doc["animations"]
    paths = {c["target"]["path"] for c in animation_["channels"]}
    assert paths == {"weights", "rotation"}
    assert all(s["interpolation"] == "LINEAR" for s in animation_["samplers"])
    times = doc["accessors"][animation_["samplers"][0]["input"]]
    assert times["count"] == anim.n_frames and times["max"][0] == pytest.approx(
        (anim.n_frames - 1) / anim.fps
    )


def test_glb_round_trips_the_curves_the_rig_has(tmp_path):
    rig, anim = small_rig(), animation()
    glb.write(anim, tmp_path / "a.glb", rig=rig)
    back = glb.read(tmp_path / "a.glb")
    assert back.fps == anim.fps and back.metadata["seed"] == 0
    cols = [INDEX[n] for n in rig.shape_names]
    np.testing.assert_array_equal(back.curves[:, cols], anim.curves[:, cols])
    np.testing.assert_array_equal(back.pose, anim.pose)
    others = [i for i in range(N_ARKIT) if i not in cols]
    assert not back.curves[:, others].any()  # shapes the rig lacks are not invented


def test_glb_mesh_loads_back_as_the_same_rig_in_mm(tmp_path):
    rig = small_rig()
    glb.write(animation(), tmp_path / "a.glb", rig=rig)
    again = load_gltf_rig(tmp_path / "a.glb")
    assert again.shape_names == rig.shape_names
    np.testing.assert_allclose(again.neutral, rig.neutral, atol=1e-4)
    np.testing.assert_allclose(again.deltas, rig.deltas, atol=1e-4)


def test_a_failed_glb_write_leaves_no_file(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(glb, "glb_bytes", boom)
    with pytest.raises(RuntimeError):
        glb.write(animation(), tmp_path / "a.glb", rig=small_rig())
    assert list(tmp_path.iterdir()) == []


def test_reading_a_glb_without_weights_animation_is_a_format_error(tmp_path):
    path = tmp_path / "still.glb"
    glb.write(animation(frames=0), path, rig=small_rig())
    with pytest.raises(FormatError, match=r"still\.glb: no morph-target weights animation"):
        glb.read(path)


# -- Blender -------------------------------------------------------------------------------------


def bpy_pythons() -> list[str]:
    listed = os.environ.get("EMOTE_BPY_PYTHONS") or os.environ.get("EMOTE_BPY_PYTHON")
    if listed:
        candidates = [p for p in listed.split(os.pathsep) if p]
    else:
        candidates = [
            str(Path.home() / ".cache" / "emote" / v / "bin" / "python") for v in ("bpy-4.2", "bpy-5.0")
        ]
    return [p for p in candidates if Path(p).is_file()]


PYTHONS = bpy_pythons()

IMPORT_SCRIPT = """\
import json, sys
import bpy
path, fps, out = sys.argv[-3], int(sys.argv[-2]), sys.argv[-1]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.context.scene.render.fps = fps
bpy.ops.import_scene.gltf(filepath=path)
obj = next(o for o in bpy.context.scene.objects if o.type == "MESH")
keys = obj.data.shape_keys
action = keys.animation_data.action

def curves(action):
    if getattr(action, "layers", None):  # Blender 4.4+: slotted actions, channel bags
        for layer in action.layers:
            for strip in layer.strips:
                for bag in strip.channelbags:
                    yield from bag.fcurves
    else:
        yield from action.fcurves

values = {}
for fc in curves(action):
    if not fc.data_path.startswith('key_blocks["'):
        continue  # Blender 5 may put the head node's rotation in the same action
    name = fc.data_path.split('"')[1]
    values[name] = [[kp.co[0], kp.co[1]] for kp in fc.keyframe_points]
json.dump({"version": bpy.app.version_string,
           "shape_keys": [k.name for k in keys.key_blocks],
           "keyed": values}, open(out, "w"))
"""


@pytest.mark.skipif(
    not PYTHONS,
    reason=missing(
        "bpy",
        "no Python with the bpy wheel: set EMOTE_BPY_PYTHONS (or EMOTE_BPY_PYTHON) or create "
        "~/.cache/emote/bpy-4.2 (see this file's docstring)",
    ),
)
@pytest.mark.parametrize(
    "python", PYTHONS or [""], ids=[Path(p).parent.parent.name for p in PYTHONS] or ["none"]
)
def test_blender_imports_shape_keys_keyed_like_the_animation(tmp_path, python):
    rig, anim = small_rig(), animation(frames=10)
    glb.write(anim, tmp_path / "a.glb", rig=rig)
    (tmp_path / "import.py").write_text(IMPORT_SCRIPT)
    out = tmp_path / "keys.json"
    run = subprocess.run(
        [python, str(tmp_path / "import.py"), str(tmp_path / "a.glb"), "30", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(out.read_text())
    assert set(rig.shape_names) <= set(got["shape_keys"])
    for name in rig.shape_names:
        keyed = np.asarray(got["keyed"][name])
        assert len(keyed) == anim.n_frames, (got["version"], name)
        frames = keyed[:, 0] - keyed[0, 0]
        np.testing.assert_allclose(frames, np.arange(anim.n_frames), atol=1e-3)
        np.testing.assert_allclose(keyed[:, 1], anim.channel(name), atol=1e-4)
    assert set(got["keyed"]) <= set(ARKIT_NAMES)
