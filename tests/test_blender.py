"""The Blender add-on's pure parts (no bpy): import plans, pose math, bone guessing, the emote job, the build."""

from __future__ import annotations

import base64
import hashlib
import stat
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from emote.animation.channels import ARKIT_NAMES, INDEX, N_CHANNELS
from emote.animation.face_animation import FaceAnimation
from emote.blender import job as jobmod
from emote.blender.plan import (
    PoseTarget,
    compact,
    find_audio,
    guess_pose_bones,
    matrix_to_euler_xyz,
    matrix_to_quaternion,
    plan_pose,
    plan_shape_keys,
    pose_matrices,
    scene_rate,
    shape_key_path,
)


def moving_animation(n: int = 40, fps: float = 30.0, seed: int = 0) -> FaceAnimation:
    rng = np.random.default_rng(seed)
    curves = rng.random((n, N_CHANNELS), dtype=np.float32)
    curves[:, len(ARKIT_NAMES) :] = (curves[:, len(ARKIT_NAMES) :] - 0.5) * 0.6
    return FaceAnimation(fps, curves)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Reference conversion (textbook formula) used as the oracle for matrix_to_quaternion."""
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


# -- shape keys -------------------------------------------------------------------


def test_shape_keys_match_arkit_names_in_any_spelling():
    anim = moving_animation()
    keys = ["jawOpen", "AK_44_MouthSmileLeft", "mouthSmile_R", "blendShape1.eyeBlinkLeft", "AA_VI_10_aa"]
    plan = plan_shape_keys(anim, keys, start_frame=1)
    assert plan.matched == {
        "JawOpen": ["jawOpen"],
        "MouthSmileLeft": ["AK_44_MouthSmileLeft"],
        "MouthSmileRight": ["mouthSmile_R"],
        "EyeBlinkLeft": ["blendShape1.eyeBlinkLeft"],
    }
    by_path = {t.data_path: t for t in plan.tracks}
    jaw = by_path[shape_key_path("jawOpen")]
    np.testing.assert_array_equal(jaw.values, anim.channel("JawOpen"))
    np.testing.assert_array_equal(jaw.frames, np.arange(1, anim.n_frames + 1))
    assert "AA_VI_10_aa" not in str(plan.tracks)


def test_unmatched_lists_every_arkit_curve_without_a_key_in_channel_order():
    plan = plan_shape_keys(moving_animation(), ["JawOpen", "TongueOut"])
    assert plan.unmatched == [n for n in ARKIT_NAMES if n not in ("JawOpen", "TongueOut")]


def test_tracks_start_at_the_requested_frame():
    plan = plan_shape_keys(moving_animation(n=5), ["JawOpen"], start_frame=101)
    assert plan.tracks[0].frames.tolist() == [101, 102, 103, 104, 105]


def test_constant_curves_keep_one_key_moving_curves_keep_all():
    anim = moving_animation(n=30)
    anim.curves[:, INDEX["CheekPuff"]] = 0.25
    plan = plan_shape_keys(anim, ["CheekPuff", "JawOpen"])
    sizes = {t.data_path: t.frames.size for t in plan.tracks}
    assert sizes == {shape_key_path("CheekPuff"): 1, shape_key_path("JawOpen"): 30}
    f, _ = compact(np.arange(3, dtype=np.float32), np.array([0.0, 0.0, 1e-7], np.float32))
    assert f.size == 3, "a curve that moves at all keeps every key"


def test_interleaved_keys_are_frame_value_pairs():
    track = plan_shape_keys(moving_animation(n=4), ["JawOpen"], start_frame=10).tracks[0]
    co = track.interleaved().reshape(-1, 2)
    np.testing.assert_array_equal(co[:, 0], [10, 11, 12, 13])
    np.testing.assert_array_equal(co[:, 1], track.values)


def test_shape_key_names_with_quotes_are_escaped_in_rna_paths():
    assert shape_key_path('say "ah"') == 'key_blocks["say \\"ah\\""].value'


# -- head and eyes ------------------------------------------------------------------


def test_positive_yaw_turns_the_face_to_the_characters_left():
    facing = np.array([0.0, -1.0, 0.0])  # Blender characters face -Y; +X is their left
    r = pose_matrices(np.array([0.4]), np.array([0.0]), np.array([0.0]))[0]
    turned = r @ facing
    assert turned[0] > 0.3 and abs(turned[2]) < 1e-12


def test_positive_pitch_tips_the_face_down():
    r = pose_matrices(np.array([0.0]), np.array([0.3]), np.array([0.0]))[0]
    assert (r @ np.array([0.0, -1.0, 0.0]))[2] < -0.2


def test_quaternions_reproduce_the_rotations():
    rng = np.random.default_rng(1)
    angles = rng.uniform(-3.0, 3.0, size=(3, 500))
    mats = pose_matrices(*angles)
    quats = matrix_to_quaternion(mats)
    np.testing.assert_allclose(np.linalg.norm(quats, axis=1), 1.0, atol=1e-12)
    assert (quats[:, 0] >= 0).all()
    for q, m in zip(quats, mats, strict=True):
        np.testing.assert_allclose(quat_to_matrix(q), m, atol=1e-9)


def test_euler_xyz_reproduces_the_rotations():
    rng = np.random.default_rng(2)
    mats = pose_matrices(*rng.uniform(-0.7, 0.7, size=(3, 200)))
    a, b, c = matrix_to_euler_xyz(mats).T
    rebuilt = pose_matrices(c, np.zeros_like(a), np.zeros_like(a))  # Rz(c)
    ry = pose_matrices(np.zeros_like(a), np.zeros_like(a), b)  # Ry(b)
    rx = pose_matrices(np.zeros_like(a), a, np.zeros_like(a))  # Rx(a)
    np.testing.assert_allclose(rebuilt @ ry @ rx, mats, atol=1e-9)


def test_bone_rotation_happens_about_armature_axes_whatever_the_bone_rest():
    anim = moving_animation(n=6)
    rng = np.random.default_rng(3)
    rest = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    rest *= np.sign(np.linalg.det(rest))  # a proper rotation
    tracks = plan_pose(anim, PoseTarget("head", "Bip01 Head", rest), start_frame=1)
    assert [t.index for t in tracks] == [0, 1, 2, 3]
    assert tracks[0].data_path == 'pose.bones["Bip01 Head"].rotation_quaternion'
    expected = pose_matrices(*(anim.channel(n) for n in ("HeadYaw", "HeadPitch", "HeadRoll")))
    for i in range(anim.n_frames):
        local = quat_to_matrix(np.array([t.values[i] for t in tracks], np.float64))
        # Posed bone in armature space = rest · local; it must equal R · rest.
        np.testing.assert_allclose(rest @ local, expected[i] @ rest, atol=2e-6)


def test_objects_turn_by_delta_rotation_and_still_pose_writes_nothing():
    anim = moving_animation(n=5)
    tracks = plan_pose(anim, PoseTarget("head"))
    assert [(t.data_path, t.index) for t in tracks] == [("delta_rotation_euler", i) for i in range(3)]
    still = FaceAnimation(30, np.zeros((5, N_CHANNELS), np.float32))
    assert plan_pose(still, PoseTarget("left_eye", "eye.L")) == []
    with pytest.raises(ValueError, match="unknown pose role"):
        plan_pose(anim, PoseTarget("tail"))


@pytest.mark.parametrize(
    ("bones", "expected"),
    [
        (
            [
                "Bip01",
                "Bip01 Neck",
                "Bip01 Head",
                "Bip01 LEye",
                "Bip01 REye",
                "Bip01 LEyeBlinkTop",
                "Bip01 HeadNub",
            ],
            {"head": "Bip01 Head", "left_eye": "Bip01 LEye", "right_eye": "Bip01 REye"},
        ),
        (
            [
                "mixamorig:Neck",
                "mixamorig:Head",
                "mixamorig:HeadTop_End",
                "mixamorig:LeftEye",
                "mixamorig:RightEye",
            ],
            {"head": "mixamorig:Head", "left_eye": "mixamorig:LeftEye", "right_eye": "mixamorig:RightEye"},
        ),
        (
            ["DEF-head", "ORG-head", "head", "ORG-eye.L", "eye.L", "MCH-eye.R", "eye.R", "lid.T.L"],
            {"head": "head", "left_eye": "eye.L", "right_eye": "eye.R"},
        ),
        (
            ["J_Bip_C_Head", "J_Adj_L_FaceEye", "J_Adj_R_FaceEye", "J_Bip_L_Hand"],
            {"head": "J_Bip_C_Head", "left_eye": "J_Adj_L_FaceEye", "right_eye": "J_Adj_R_FaceEye"},
        ),
        (["Hips", "Spine", "Leg.L"], {}),
    ],
)
def test_head_and_eye_bones_are_guessed_across_rig_conventions(bones, expected):
    assert guess_pose_bones(bones) == expected


# -- timing and audio ---------------------------------------------------------------


@pytest.mark.parametrize("fps", [24.0, 25.0, 30.0, 60.0, 29.97, 30000 / 1001, 23.976, 59.94])
def test_scene_rate_reproduces_the_frame_rate(fps):
    fps_int, base = scene_rate(fps)
    assert isinstance(fps_int, int)
    assert fps_int / base == pytest.approx(fps, rel=1e-12)


def test_scene_rate_rejects_nonsense():
    with pytest.raises(ValueError, match="fps"):
        scene_rate(0.0)


def test_audio_is_found_from_metadata_or_beside_the_file(tmp_path):
    take = tmp_path / "take.csv"
    take.write_text("x")
    assert find_audio(take, {}) is None
    (tmp_path / "take.flac").write_bytes(b"x")
    assert find_audio(take, {}) == (tmp_path / "take.flac").resolve()
    sub = tmp_path / "audio"
    sub.mkdir()
    (sub / "line.wav").write_bytes(b"x")
    assert find_audio(take, {"audio": "audio/line.wav"}) == (sub / "line.wav").resolve()
    assert find_audio(take, {"audio": "/elsewhere/take.flac"}) == (tmp_path / "take.flac").resolve()


# -- the emote job ------------------------------------------------------------------

# The stand-in emote below: tests that use it say so in their names;
# test_job_runs_the_real_emote_cli_with_the_panels_flags runs the real one.
FAKE_EMOTE = """\
#!{python}
# A stand-in for the emote CLI: checks its arguments like `emote animate`, prints a tqdm-style bar, writes JSON.
import sys, time
sys.path.insert(0, {repo!r})
args = sys.argv[1:]
if args[:1] == ["--version"]:
    print("emote 0.1.0"); sys.exit(0)
assert args[0] == "animate", args
audio = args[1]
out = args[args.index("-o") + 1]
if "fail" in audio:
    print("Traceback (most recent call last): ...", file=sys.stderr)
    print(audio + ": not an audio file", file=sys.stderr)
    sys.exit(2)
import os
for pct in (10, 50, 90) if os.environ.get("EMOTE_PROGRESS") else ():  # the bar only on request
    sys.stderr.write(f"\\ranimating: {{pct:3d}}%|###       | {{pct}}/100 [00:01<00:01]")
    sys.stderr.flush()
    time.sleep(float({delay!r}))
import numpy as np
from emote.animation.face_animation import FaceAnimation
curves = np.zeros((12, 61), np.float32)
curves[:, 17] = float(args[args.index("--intensity") + 1])
fps = float(args[args.index("--fps") + 1]) if "--fps" in args else 30.0
FaceAnimation(fps, curves, {{"argv": args}}).save(out + "/line.json")
"""


def fake_emote(tmp_path: Path, delay: float = 0.05) -> Path:
    repo = str(Path(__file__).resolve().parents[1])
    script = tmp_path / "bin" / "emote"
    script.parent.mkdir(exist_ok=True)
    script.write_text(FAKE_EMOTE.format(python=sys.executable, repo=repo, delay=delay))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_command_line_carries_every_choice(tmp_path):
    req = jobmod.AnimateRequest(
        audio=Path("a.wav"), emotion="happy", intensity=0.5, engine="phonetic", text="hi", fps=24, seed=3
    )
    argv = jobmod.animate_argv(["emote"], req, tmp_path)
    assert argv[:7] == ["emote", "animate", "a.wav", "--format", "json", "-o", str(tmp_path)]
    flags = dict(zip(argv[7::2], argv[8::2], strict=True))
    assert flags == {
        "--emotion": "happy",
        "--intensity": "0.5",
        "--engine": "phonetic",
        "--text": "hi",
        "--fps": "24",
        "--seed": "3",
    }
    track = jobmod.animate_argv(
        ["emote"], jobmod.AnimateRequest(Path("a.wav"), emotion_track=Path("t.json")), tmp_path
    )
    assert "--emotion-track" in track and "--emotion" not in track


def test_missing_emote_says_what_to_do(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(jobmod.EmoteNotFoundError, match=r"not found.*install emote.*preferences"):
        jobmod.emote_command(executable="emote")
    with pytest.raises(jobmod.EmoteNotFoundError, match="/nowhere/python: Python interpreter not found"):
        jobmod.emote_command(python="/nowhere/python")
    assert jobmod.emote_command(python=sys.executable) == [sys.executable, "-m", "emote"]


def test_job_reports_a_stand_in_emotes_progress_then_hands_back_the_json(tmp_path):
    from emote.export import read

    exe = fake_emote(tmp_path, delay=0.3)
    job = jobmod.AnimateJob.start([str(exe)], jobmod.AnimateRequest(Path("line.wav"), intensity=0.7, fps=25))
    seen = []
    deadline = time.monotonic() + 60
    while (status := job.poll()).state == "running" and time.monotonic() < deadline:
        seen.append(status.progress)
        time.sleep(0.05)
    assert status.state == "done", status.message
    assert 0.0 < max(seen) < 1.0, "progress came from the bar while running"
    assert seen == sorted(seen)
    anim = read(status.result)
    assert anim.fps == 25.0
    np.testing.assert_allclose(anim.channel("JawOpen"), 0.7)
    out_dir = job.out_dir
    job.cleanup()
    assert not out_dir.exists()


def test_job_runs_the_real_emote_cli_with_the_panels_flags(tmp_path):
    """The add-on's job against the real `emote animate` (not the stand-in): every flag it passes
    is one the CLI accepts, and the JSON it hands back is the animation asked for."""
    from emote.export import read

    audio = Path(__file__).resolve().parents[1] / "examples" / "hello.wav"
    request = jobmod.AnimateRequest(audio, emotion="happy", intensity=0.6, engine="phonetic", fps=25, seed=3)
    job = jobmod.AnimateJob.start([sys.executable, "-m", "emote"], request)
    status = job.wait(300)
    try:
        assert status.state == "done", status.message
        anim = read(status.result)
    finally:
        job.cleanup()
    assert anim.fps == 25.0 and anim.n_frames > 25
    assert anim.metadata["engine"] == "phonetic" and anim.metadata["seed"] == 3
    assert anim.metadata["emotion_track"]["segments"][0]["emotion"] == "happy"
    assert anim.channel("JawOpen").max() > 0.1  # it spoke


def test_failed_job_reports_a_stand_in_emotes_own_error_line(tmp_path):
    exe = fake_emote(tmp_path)
    job = jobmod.AnimateJob.start([str(exe)], jobmod.AnimateRequest(Path("fail.wav")))
    status = job.wait(60)
    job.cleanup()
    assert status.state == "failed"
    assert status.message == "emote failed: fail.wav: not an audio file"


def test_cancelled_job_stops_a_stand_in_emote_process(tmp_path):
    exe = fake_emote(tmp_path, delay=30)
    job = jobmod.AnimateJob.start([str(exe)], jobmod.AnimateRequest(Path("line.wav")))
    time.sleep(0.2)
    t0 = time.monotonic()
    job.cancel()
    assert time.monotonic() - t0 < 10
    assert job.poll().state == "cancelled"
    job.cleanup()


def test_unrunnable_executable_is_a_clear_error(tmp_path):
    not_exe = tmp_path / "emote"
    not_exe.write_text("no shebang, not executable")
    with pytest.raises(jobmod.EmoteNotFoundError, match="cannot run emote"):
        jobmod.AnimateJob.start([str(not_exe)], jobmod.AnimateRequest(Path("a.wav")))


# -- the add-on package ---------------------------------------------------------------


def test_blender_package_imports_without_bpy():
    import subprocess

    code = (
        "import sys; sys.modules['bpy'] = None\n"
        "import emote.blender, emote.blender.plan, emote.blender.job\n"
        "assert callable(emote.blender.register)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def addon_zip(tmp_path_factory) -> Path:
    from emote.blender_build import build_addon

    return build_addon(tmp_path_factory.mktemp("addon"))


def test_build_addon_makes_an_extension_zip(addon_zip):
    import tomllib

    from emote import __version__

    assert addon_zip.name == f"emote-{__version__}.zip"
    with zipfile.ZipFile(addon_zip) as zf:
        names = set(zf.namelist())
        manifest = tomllib.loads(zf.read("blender_manifest.toml").decode())
        shim = zf.read("__init__.py").decode()
    wheel = f"wheels/emote-{__version__}-py3-none-any.whl"
    assert names == {"blender_manifest.toml", "__init__.py", wheel}
    assert manifest["id"] == "emote" and manifest["version"] == __version__
    assert manifest["type"] == "add-on" and manifest["blender_version_min"] == "4.2.0"
    assert manifest["wheels"] == [f"./{wheel}"]
    assert "def register" in shim and "def unregister" in shim


def test_wheel_holds_the_shared_readers_and_nothing_blender_lacks(addon_zip, tmp_path):
    with zipfile.ZipFile(addon_zip) as zf:
        whl = tmp_path / "emote.whl"
        whl.write_bytes(zf.read(next(n for n in zf.namelist() if n.endswith(".whl"))))
    with zipfile.ZipFile(whl) as wz:
        names = set(wz.namelist())
        record = wz.read(next(n for n in names if n.endswith("/RECORD"))).decode().splitlines()
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            if not digest:
                continue
            data = wz.read(path)
            assert (
                digest
                == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            )
            assert int(size) == len(data)
    for needed in (
        "emote/blender/addon.py",
        "emote/blender/plan.py",
        "emote/export/json_format.py",
        "emote/export/livelink.py",
        "emote/rigs/names.py",
        "emote/animation/channels.py",
    ):
        assert needed in names
    assert "emote/rigs/base.py" not in names, "torch-based rig code must not ship to Blender"
    assert not any(n.startswith(("emote/engines", "emote/render", "emote/cli")) for n in names)


def test_wheel_modules_import_with_only_stdlib_and_numpy(addon_zip, tmp_path):
    """The copy inside the zip is self-sufficient: read a JSON through it with torch and scipy blocked."""
    import subprocess

    with zipfile.ZipFile(addon_zip) as zf:
        whl = tmp_path / "emote.whl"
        whl.write_bytes(zf.read(next(n for n in zf.namelist() if n.endswith(".whl"))))
    site = tmp_path / "site-packages"  # extracted, as Blender's extension manager does
    zipfile.ZipFile(whl).extractall(site)
    anim = moving_animation(n=7)
    anim.save(tmp_path / "a.json")
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(site)!r})
        sys.modules["torch"] = sys.modules["scipy"] = None  # importing them now fails
        from emote.export import read
        from emote.rigs.names import match_arkit_names
        from emote.blender.plan import plan_shape_keys
        import emote
        assert emote.__file__.startswith({str(site)!r}), emote.__file__
        anim = read({str(tmp_path / "a.json")!r})
        print(len(plan_shape_keys(anim, ["jawOpen", "AK_01_BrowDownLeft"]).tracks), anim.n_frames)
        """
    )
    out = subprocess.run([sys.executable, "-s", "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "7"]


def test_build_is_reproducible(addon_zip, tmp_path):
    from emote.blender_build import build_addon

    again = build_addon(tmp_path)
    assert again.read_bytes() == addon_zip.read_bytes()
