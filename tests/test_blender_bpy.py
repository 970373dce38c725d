"""The add-on in real Blender (the ``bpy`` wheel from PyPI), on every Blender version found.

Each test runs one fresh Python process per Blender version (bpy's state is
global and survives unregistering), with its own Blender user folder.
Interpreters come from ``EMOTE_BPY_PYTHONS`` (``os.pathsep``-separated) or the
default venvs ``~/.cache/emote/bpy-4.2`` and ``~/.cache/emote/bpy-5.0``::

    python3.11 -m venv ~/.cache/emote/bpy-4.2 && ~/.cache/emote/bpy-4.2/bin/pip install "bpy==4.2.*" "numpy<2"
    python3.11 -m venv ~/.cache/emote/bpy-5.0 && ~/.cache/emote/bpy-5.0/bin/pip install "bpy==5.0.*"
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import missing
from test_blender import fake_emote

from emote.animation.channels import ARKIT_NAMES, N_ARKIT, N_CHANNELS, rig_angles
from emote.animation.face_animation import FaceAnimation
from emote.blender.plan import pose_matrices

REPO = Path(__file__).resolve().parents[1]
ROCKETBOX = REPO.parent / "shared" / "data" / "rigs" / "rocketbox_male_adult_03.glb"
DEFAULT_VENVS = ("bpy-4.2", "bpy-5.0")


def bpy_pythons() -> list[str]:
    listed = os.environ.get("EMOTE_BPY_PYTHONS")
    if listed:
        candidates = [p for p in listed.split(os.pathsep) if p]
    else:
        candidates = [str(Path.home() / ".cache" / "emote" / v / "bin" / "python") for v in DEFAULT_VENVS]
    return [p for p in candidates if Path(p).is_file()]


PYTHONS = bpy_pythons()
pytestmark = pytest.mark.skipif(
    not PYTHONS,
    reason=missing(
        "bpy",
        "no Python with the bpy wheel: set EMOTE_BPY_PYTHONS or create ~/.cache/emote/bpy-4.2 "
        "and bpy-5.0 (see this file's docstring)",
    ),
)


def _label(python: str) -> str:
    return Path(python).parent.parent.name


@pytest.fixture(params=PYTHONS or [""], ids=[_label(p) for p in PYTHONS] or ["none"])
def blender(request) -> str:
    return request.param


PRELUDE = """\
import json, sys
P = json.load(open(sys.argv[1]))
if P.get("repo"):
    sys.path.insert(0, P["repo"])
import bpy, addon_utils
bpy.ops.wm.read_factory_settings(use_empty=True)

def result(**kw):
    print("RESULT " + json.dumps(kw), flush=True)

def arkit_mesh(names, name="Face"):
    bpy.ops.mesh.primitive_cube_add()
    obj = bpy.context.object
    obj.name = name
    obj.shape_key_add(name="Basis")
    for n in names:
        obj.shape_key_add(name=n).value = 0.25  # what an import must leave alone, unless it keys it
    return obj

def select_only(obj):
    for o in bpy.context.view_layer.objects:
        o.select_set(False)
    obj.select_set(True)
    bpy.context.view_layer.objects.active = obj

def sample_keys(obj, frames):
    keys = obj.data.shape_keys.key_blocks
    out = {}
    for f in frames:
        bpy.context.scene.frame_set(f)
        out[f] = {kb.name: kb.value for kb in keys[1:]}
    return out

def scene_info():
    s = bpy.context.scene
    return {"fps": s.render.fps, "fps_base": s.render.fps_base, "start": s.frame_start, "end": s.frame_end}
"""


def run_blender(python: str, tmp_path: Path, body: str, **params) -> tuple[dict, str]:
    """Run ``PRELUDE + body`` in a fresh bpy process; return its RESULT dict and output."""
    script = tmp_path / "blender_script.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps(params))
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / "blender_user")}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [python, str(script), str(params_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"Blender script failed ({proc.returncode}):\n{output[-4000:]}"
    return json.loads(lines[-1][len("RESULT ") :]), output


def speech_like(n: int = 90, fps: float = 30.0) -> FaceAnimation:
    """Smooth, distinct motion on every channel (weights in [0, 1], angles within ±0.3 rad)."""
    t = np.arange(n)[:, None] / fps
    k = np.arange(N_CHANNELS)[None, :]
    curves = 0.5 + 0.45 * np.sin(2 * np.pi * (0.3 + 0.05 * k) * t + k)
    curves[:, N_ARKIT:] = 0.3 * np.sin(2 * np.pi * 0.4 * t + k[:, N_ARKIT:])
    return FaceAnimation(fps, curves.astype(np.float32), {"engine": "test"})


#: Shape keys of the test mesh: 20 ARKit shapes in the spellings rigs use, and two that are not ARKit.
MESH_KEYS = {
    "jawOpen": "JawOpen",
    "JawForward": "JawForward",
    "mouthSmile_L": "MouthSmileLeft",
    "mouthSmile_R": "MouthSmileRight",
    "AK_32_MouthFunnel": "MouthFunnel",
    "blendShape1.mouthPucker": "MouthPucker",
    "MouthClose": "MouthClose",
    "mouthLowerDown_L": "MouthLowerDownLeft",
    "mouthUpperUp_R": "MouthUpperUpRight",
    "eyeBlink_L": "EyeBlinkLeft",
    "eyeBlink_R": "EyeBlinkRight",
    "EyeWideLeft": "EyeWideLeft",
    "browInnerUp": "BrowInnerUp",
    "BrowDownLeft": "BrowDownLeft",
    "browOuterUp_R": "BrowOuterUpRight",
    "cheekPuff": "CheekPuff",
    "noseSneer_L": "NoseSneerLeft",
    "mouthPress_L": "MouthPressLeft",
    "mouthRollLower": "MouthRollLower",
    "tongueOut": "TongueOut",
    "Viseme_AA": None,
    "Smile_Big": None,
}
FRAMES = (1, 2, 17, 46, 90)


def assert_keys_follow(sampled: dict, anim: FaceAnimation, *, start: int = 1, atol: float = 1e-6) -> None:
    for frame, values in sampled.items():
        i = int(frame) - start
        for key, arkit in MESH_KEYS.items():
            expected = 0.25 if arkit is None else float(anim.channel(arkit)[i])  # non-ARKit: untouched
            assert values[key] == pytest.approx(expected, abs=atol), f"{key} at frame {frame}"


def test_imports_live_link_csv_and_emote_json_onto_arkit_shape_keys(blender, tmp_path):
    anim = speech_like()
    anim.save(tmp_path / "take.csv")
    anim.save(tmp_path / "line.json")
    res, output = run_blender(
        blender,
        tmp_path,
        """
        addon_utils.enable("emote.blender", default_set=True)
        obj = arkit_mesh(P["keys"])
        select_only(obj)
        out = {}
        for name in ("take.csv", "line.json"):
            bpy.context.scene.render.fps = 24  # the import must set it
            assert bpy.ops.import_anim.emote(filepath=name, add_sound=False) == {"FINISHED"}
            action = obj.data.shape_keys.animation_data.action
            out[name] = {"keys": sample_keys(obj, P["frames"]), "scene": scene_info(), "action": action.name}
        result(**out)
        """,
        repo=str(REPO),
        keys=list(MESH_KEYS),
        frames=FRAMES,
    )
    for name in ("take.csv", "line.json"):
        got = res[name]
        assert got["scene"] == {"fps": 30, "fps_base": 1.0, "start": 1, "end": anim.n_frames}
        assert got["action"].startswith("emote:")
        assert_keys_follow(got["keys"], anim)
    moving_unmatched = len(ARKIT_NAMES) - sum(v is not None for v in MESH_KEYS.values())
    assert f"{moving_unmatched} moving curves have no shape key: EyeLookDownLeft" in output
    assert f"{moving_unmatched} ARKit curves have no shape key" in output


def test_resamples_to_the_scenes_frame_rate_when_asked(blender, tmp_path):
    anim = speech_like(n=120, fps=60.0)
    anim.save(tmp_path / "line.json")
    res, _ = run_blender(
        blender,
        tmp_path,
        """
        addon_utils.enable("emote.blender", default_set=True)
        obj = arkit_mesh(P["keys"])
        select_only(obj)
        bpy.context.scene.render.fps = 24
        bpy.ops.import_anim.emote(filepath="line.json", frame_rate="SCENE", start_frame=10, add_sound=False)
        result(keys=sample_keys(obj, [10, 11, 30, 57]), scene=scene_info())
        """,
        repo=str(REPO),
        keys=list(MESH_KEYS),
    )
    resampled = anim.resample(24)
    assert res["scene"] == {"fps": 24, "fps_base": 1.0, "start": 10, "end": 10 + resampled.n_frames - 1}
    assert resampled.n_frames == 49  # 119/60 s span at 24 fps: ceil(47.6) + 1 frames
    assert_keys_follow(res["keys"], resampled, start=10)


@pytest.mark.skipif(not ROCKETBOX.is_file(), reason=missing("test-material", f"not found at {ROCKETBOX}"))
def test_rocketbox_character_gets_face_head_and_eyes(blender, tmp_path):
    anim = speech_like()
    anim.save(tmp_path / "line.json")
    res, output = run_blender(
        blender,
        tmp_path,
        """
        import numpy as np
        bpy.ops.import_scene.gltf(filepath=P["glb"])
        face = next(o for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys)
        rig = bpy.data.objects["Bip01"]
        addon_utils.enable("emote.blender", default_set=True)
        select_only(face)
        bpy.ops.import_anim.emote(filepath="line.json", pose_object=rig.name, add_sound=False)
        frames = P["frames"]
        keys = sample_keys(face, frames)
        turns = {}
        for f in frames:
            bpy.context.scene.frame_set(f)
            turns[f] = {}
            for bone in ("Bip01 Head", "Bip01 LEye", "Bip01 REye"):
                pb = rig.pose.bones[bone]
                def rot(m):
                    m = np.array(m.to_3x3()); return m / np.linalg.norm(m, axis=0)
                posed, rest = rot(pb.matrix), rot(pb.bone.matrix_local)
                parent = rot(pb.parent.matrix) @ rot(pb.parent.bone.matrix_local).T
                # the bone's own turn in armature axes, its parent's turn removed
                turns[f][bone] = (parent.T @ posed @ rest.T).tolist()
        result(keys=keys, turns=turns, shape_keys=[k.name for k in face.data.shape_keys.key_blocks])
        """,
        repo=str(REPO),
        glb=str(ROCKETBOX),
        frames=FRAMES,
    )
    assert "have no shape key" not in output, "all 52 ARKit shapes of the Rocketbox head are matched"
    for frame, values in res["keys"].items():
        i = int(frame) - 1
        for arkit_index, name in enumerate(ARKIT_NAMES):
            key = next(k for k in res["shape_keys"] if k.startswith("AK_") and k.endswith("_" + name))
            assert values[key] == pytest.approx(float(anim.curves[i, arkit_index]), abs=1e-6), (key, frame)
        assert values["AA_VI_10_aa"] == 0.0, "visemes are not ARKit shapes and stay untouched"
    roles = {"Bip01 Head": "Head", "Bip01 LEye": "LeftEye", "Bip01 REye": "RightEye"}
    for frame, bones in res["turns"].items():
        i = int(frame) - 1
        for bone, role in roles.items():
            # Eye channels carry the app's signs: mirrored into the rig frame (channels.RIG_SIGN).
            angles = rig_angles(
                anim.curves[i : i + 1], tuple(role + axis for axis in ("Yaw", "Pitch", "Roll"))
            )
            np.testing.assert_allclose(
                bones[bone], pose_matrices(*angles)[0], atol=2e-4, err_msg=f"{bone} @ {frame}"
            )


def test_extension_zip_installs_into_blender_and_imports(blender, tmp_path):
    from emote.blender_build import build_addon

    zip_path = build_addon(tmp_path / "dist")
    anim = speech_like()
    anim.save(tmp_path / "line.json")
    res, output = run_blender(
        blender,
        tmp_path,
        """
        import addon_utils
        bpy.ops.extensions.package_install_files(
            filepath=P["zip"], repo="user_default", enable_on_install=True)
        import emote
        module = "bl_ext.user_default.emote"
        enabled = module in {a.module for a in bpy.context.preferences.addons}
        obj = arkit_mesh(P["keys"])
        select_only(obj)
        bpy.ops.import_anim.emote(filepath="line.json", add_sound=False)
        keys = sample_keys(obj, P["frames"])
        prefs = bpy.context.preferences.addons[module].preferences.executable
        addon_utils.disable(module, default_set=True)
        result(
            emote_file=emote.__file__, enabled=enabled, keys=keys, prefs=prefs,
            gone=not hasattr(bpy.types, "IMPORT_ANIM_OT_emote") and not hasattr(bpy.types.Scene, "emote"),
        )
        """,
        zip=str(zip_path),
        keys=list(MESH_KEYS),
        frames=FRAMES,
    )
    assert res["enabled"] and res["prefs"] == "emote"
    assert str(tmp_path / "blender_user") in res["emote_file"], (
        "emote came from the bundled wheel, not the checkout"
    )
    assert_keys_follow(res["keys"], anim)
    assert res["gone"], output


def test_unregister_leaves_nothing_behind_and_registers_again(blender, tmp_path):
    res, _ = run_blender(
        blender,
        tmp_path,
        """
        import emote.blender
        def state():
            menu = bpy.types.TOPBAR_MT_file_import
            funcs = [f.__name__ for f in getattr(menu.draw, "_draw_funcs", [])]
            return {
                "operator": hasattr(bpy.types, "IMPORT_ANIM_OT_emote"),
                "handler": hasattr(bpy.types, "IO_FH_emote"),
                "panel": hasattr(bpy.types, "EMOTE_PT_animate"),
                "scene_prop": hasattr(bpy.types.Scene, "emote"),
                "wm_prop": hasattr(bpy.types.WindowManager, "emote_job"),
                "menu": "menu_import" in funcs,
            }
        before = state()
        emote.blender.register()
        on = state()
        emote.blender.unregister()
        off = state()
        emote.blender.register()
        again = state()
        emote.blender.unregister()
        result(before=before, on=on, off=off, again=again)
        """,
        repo=str(REPO),
    )
    assert not any(res["before"].values())
    assert all(res["on"].values()), res["on"]
    assert not any(res["off"].values()), res["off"]
    assert res["again"] == res["on"]


def test_bad_file_is_one_line_error_and_keys_nothing(blender, tmp_path):
    (tmp_path / "broken.json").write_text('{"format": "emote.animation", "fps": ')
    res, _ = run_blender(
        blender,
        tmp_path,
        """
        addon_utils.enable("emote.blender", default_set=True)
        obj = arkit_mesh(P["keys"])
        errors = []
        select_only(obj)
        for path in ("broken.json", "missing.csv"):
            try:
                bpy.ops.import_anim.emote(filepath=path)
            except RuntimeError as exc:
                errors.append(str(exc).strip())
        for o in bpy.context.view_layer.objects:
            o.select_set(False)
        bpy.context.view_layer.objects.active = None
        try:
            bpy.ops.import_anim.emote(filepath="broken.json")
        except RuntimeError as exc:
            errors.append(str(exc).strip())
        result(errors=errors, animated=obj.data.shape_keys.animation_data is not None, actions=len(bpy.data.actions))
        """,
        repo=str(REPO),
        keys=list(MESH_KEYS),
    )
    broken, missing, no_mesh = res["errors"]
    assert broken.startswith("Error: broken.json: ") and "\n" not in broken
    assert missing.startswith("Error: missing.csv: ") and "\n" not in missing
    assert "select a mesh with ARKit-named shape keys" in no_mesh
    assert not res["animated"] and res["actions"] == 0


def test_animate_from_audio_runs_a_stand_in_emote_and_keys_the_mesh(blender, tmp_path):
    """The operator's side, inside Blender: a stand-in emote (tests/test_blender.py's fake_emote)
    writes known curves fast; the real CLI behind the same job is tested in test_blender.py."""
    exe = fake_emote(tmp_path)
    audio = REPO / "examples" / "hello.wav"
    res, output = run_blender(
        blender,
        tmp_path,
        """
        addon_utils.enable("emote.blender", default_set=True)
        prefs = bpy.context.preferences.addons["emote.blender"].preferences
        obj = arkit_mesh(P["keys"])
        scene = bpy.context.scene
        scene.render.fps = 25
        settings = scene.emote
        settings.target, settings.audio, settings.emotion, settings.intensity = obj, P["audio"], "happy", 0.6
        prefs.executable = "no-such-emote-here"
        try:
            bpy.ops.emote.animate_audio()
            missing = ""
        except RuntimeError as exc:
            missing = str(exc).strip()
        prefs.executable = P["exe"]
        status = bpy.ops.emote.animate_audio()
        editor = scene.sequence_editor
        strips = [] if editor is None else [s.name for s in getattr(editor, "strips_all", None) or editor.sequences_all]
        result(
            status=sorted(status), missing=missing, keys=sample_keys(obj, [1, 12]), scene=scene_info(),
            strips=strips, audaspace=bpy.app.build_options.audaspace, message=bpy.context.window_manager.emote_job.message,
        )
        """,
        repo=str(REPO),
        keys=list(MESH_KEYS),
        exe=str(exe),
        audio=str(audio),
    )
    assert "no-such-emote-here: emote command not found" in res["missing"]
    assert res["status"] == ["FINISHED"], output
    assert res["keys"]["1"]["jawOpen"] == pytest.approx(0.6) and res["keys"]["12"][
        "jawOpen"
    ] == pytest.approx(0.6)
    assert res["keys"]["1"]["mouthSmile_L"] == 0.0
    assert res["scene"] == {"fps": 25, "fps_base": 1.0, "start": 1, "end": 12}, (
        "emote was asked for the scene's fps"
    )
    assert res["message"].startswith("done: hello.wav")
    if res["audaspace"]:
        assert res["strips"] == ["emote audio"]


def test_panels_draw_only_properties_and_operators_that_exist(blender, tmp_path):
    """Headless Blender has no UI: draw into a recording layout that checks every name used."""
    res, _ = run_blender(
        blender,
        tmp_path,
        """
        import types
        addon_utils.enable("emote.blender", default_set=True)
        from emote.blender import addon
        drawn = []

        def op_exists(idname):
            group, name = idname.split(".")
            return name in dir(getattr(bpy.ops, group))

        class Layout:
            def __getattr__(self, attr):  # use_property_split, enabled, ...: plain attributes
                raise AttributeError(attr)
            def __setattr__(self, attr, value):
                object.__setattr__(self, attr, value)
            def row(self, **kw): return Layout()
            def column(self, **kw): return Layout()
            def separator(self, **kw): pass
            def label(self, text="", icon="NONE"): drawn.append(("label", text))
            def prop(self, data, name, **kw):
                assert name in data.bl_rna.properties, name
                drawn.append(("prop", name))
            def prop_search(self, data, name, search_data, search_name, **kw):
                assert name in data.bl_rna.properties, name
                assert hasattr(search_data, search_name), search_name
                drawn.append(("prop", name))
            def operator(self, idname, **kw):
                assert op_exists(idname), idname
                drawn.append(("operator", idname))
            def progress(self, *, factor=0.0, type="BAR", text=""):
                drawn.append(("progress", round(factor, 2)))

        ctx = bpy.context
        rig = bpy.data.objects.new("Rig", bpy.data.armatures.new("Rig"))
        ctx.scene.collection.objects.link(rig)
        panel = types.SimpleNamespace(layout=Layout())
        addon.EMOTE_PT_animate.draw(panel, ctx)
        ctx.window_manager.emote_job.running = True
        ctx.window_manager.emote_job.progress = 0.4
        addon.EMOTE_PT_animate.draw(panel, ctx)
        rna = bpy.ops.import_anim.emote.get_rna_type()
        op = types.SimpleNamespace(layout=Layout(), bl_rna=rna, filepath="/x/take.csv", add_sound=True,
                                   pose_object="Rig", head_bone="", left_eye_bone="", right_eye_bone="")
        op.draw_pose = types.MethodType(addon.PoseProps.draw_pose, op)
        addon.IMPORT_ANIM_OT_emote.draw(op, ctx)
        prefs = ctx.preferences.addons["emote.blender"].preferences
        addon.EMOTE_AP_preferences.draw(types.SimpleNamespace(layout=Layout(), executable=prefs.executable,
                                                               python=prefs.python, bl_rna=prefs.bl_rna), ctx)
        result(drawn=drawn)
        """,
        repo=str(REPO),
    )
    drawn = [tuple(d) for d in res["drawn"]]
    assert ("operator", "emote.animate_audio") in drawn
    assert ("progress", 0.4) in drawn and ("operator", "emote.cancel_job") in drawn
    assert ("label", "take.csv") in drawn
    assert ("prop", "head_bone") in drawn, "an armature rig offers its bones"
    assert ("operator", "emote.check_install") in drawn


def test_body_animation_on_the_rig_survives_and_reimport_replaces_only_emote_curves(blender, tmp_path):
    anim = speech_like()
    anim.save(tmp_path / "line.json")
    res, output = run_blender(
        blender,
        tmp_path,
        """
        addon_utils.enable("emote.blender", default_set=True)
        rig = bpy.data.objects.new("Rig", bpy.data.armatures.new("Rig"))
        bpy.context.scene.collection.objects.link(rig)
        bpy.context.view_layer.objects.active = rig
        bpy.ops.object.mode_set(mode="EDIT")
        for name, head, tail, parent in (("hips", (0, 0, 1), (0, 0, 1.2), None), ("head", (0, 0, 1.5), (0, 0, 1.7), "hips"),
                                         ("eye.L", (0.03, -0.08, 1.6), (0.03, -0.1, 1.6), "head"),
                                         ("eye.R", (-0.03, -0.08, 1.6), (-0.03, -0.1, 1.6), "head")):
            b = rig.data.edit_bones.new(name)
            b.head, b.tail = head, tail
            if parent:
                b.parent = rig.data.edit_bones[parent]
        bpy.ops.object.mode_set(mode="OBJECT")
        # The user's body animation: the hips walk, the head has its own (to be replaced) rotation.
        for f, x in ((1, 0.0), (90, 2.0)):
            rig.pose.bones["hips"].location = (x, 0, 0)
            rig.pose.bones["hips"].keyframe_insert("location", frame=f)
            rig.pose.bones["head"].keyframe_insert("rotation_quaternion", frame=f)
        body = rig.animation_data.action.name
        face = arkit_mesh(P["keys"])
        face.parent = rig
        select_only(face)
        for _ in range(2):  # importing twice must not stack curves
            bpy.ops.import_anim.emote(filepath="line.json", pose_object="Rig", add_sound=False)
        action = rig.animation_data.action
        from emote.blender import fcurves
        curves = fcurves.existing_channels(rig).fcurves
        paths = sorted({(fc.data_path, fc.array_index) for fc in curves})
        bpy.context.scene.frame_set(46)
        hips_x = rig.pose.bones["hips"].location.x
        posed = [list(r) for r in rig.pose.bones["head"].matrix.to_3x3()]
        rest = [list(r) for r in rig.data.bones["head"].matrix_local.to_3x3()]
        result(body=body, action=action.name, paths=paths, n_curves=len(curves), hips_x=hips_x, posed=posed, rest=rest,
               face_actions=len([a for a in bpy.data.actions if a.users and a.name.startswith("emote:")]))
        """,
        repo=str(REPO),
        keys=list(MESH_KEYS),
    )
    assert res["action"] == res["body"], "the rig keeps playing the user's action"
    assert "emote curves written into its action" in output
    expected_paths = sorted(
        [['pose.bones["hips"].location', i] for i in range(3)]
        + [
            [f'pose.bones["{b}"].rotation_quaternion', i]
            for b in ("head", "eye.L", "eye.R")
            for i in range(4)
        ]
    )
    assert res["paths"] == expected_paths and res["n_curves"] == len(expected_paths)
    assert 0.8 < res["hips_x"] < 1.2, "the walk (hips x: 0 → 2 over frames 1-90) still plays"
    i = 45
    rot = pose_matrices(*(anim.channel("Head" + a)[i : i + 1] for a in ("Yaw", "Pitch", "Roll")))
    # The head turned about the armature's axes (the hips only move, so nothing else turns it).
    np.testing.assert_allclose(res["posed"], rot[0] @ np.array(res["rest"]), atol=1e-5)
    assert res["face_actions"] == 1, "a re-import replaces the earlier emote action"


def test_blenders_own_glb_and_usd_importers_key_whole_frames_at_the_files_rate(blender, tmp_path):
    # The README's advice for Blender without the add-on: set the scene to the file's rate, then
    # File > Import. Blender's USD importer keys time code i at frame i; its glTF importer
    # converts seconds to frames at the scene's rate (glTF carries no frame rate).
    from emote.export import glb, usd

    anim = speech_like(12, fps=25.0)
    glb.write(anim, tmp_path / "take.glb")
    usd.write(anim, tmp_path / "take.usda")
    res, _ = run_blender(
        blender,
        tmp_path,
        """
        out = {}
        for path in ("take.glb", "take.usda"):
            bpy.ops.wm.read_factory_settings(use_empty=True)
            bpy.context.scene.render.fps, bpy.context.scene.render.fps_base = 25, 1.0
            if path.endswith(".glb"):
                bpy.ops.import_scene.gltf(filepath=path)
            else:
                bpy.ops.wm.usd_import(filepath=path)
            obj = next(o for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys)
            keys = obj.data.shape_keys
            action = keys.animation_data.action
            curves = list(getattr(action, "fcurves", None) or [])
            if not curves:  # Blender 5: layered actions
                curves = [fc for layer in action.layers for strip in layer.strips
                          for bag in strip.channelbags for fc in bag.fcurves]
            frames = sorted({round(k.co[0], 4) for fc in curves for k in fc.keyframe_points})
            out[path] = {"frames": frames, "names": [kb.name for kb in keys.key_blocks[1:]],
                         "stage_fps": scene_info()["fps"]}
        result(**out)
        """,
    )
    from emote.rigs.registry import load_rig

    rig = load_rig("default")
    empty = {n for n, d in zip(rig.shape_names, rig.deltas, strict=True) if not d.any()}
    for path in ("take.glb", "take.usda"):
        assert res[path]["stage_fps"] == 25
        frames = np.asarray(res[path]["frames"])
        assert len(frames) == anim.n_frames and np.allclose(frames, np.round(frames)), (path, frames)
        assert np.allclose(np.diff(frames), 1.0)
    assert not empty & set(res["take.usda"]["names"])  # no empty EyeLook shape keys from USD
    assert set(res["take.usda"]["names"]) == set(rig.shape_names) - empty
