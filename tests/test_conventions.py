"""Head/eye angle conventions against the Live Link Face app's own takes.

The facts below were measured on public takes recorded by the app
(``alexdjulin/LiveLinkFace-CSV-Retarget-For-Motionbuilder`` ``anim/alex_rom_3.csv``,
``alex_rom_4.csv``; ``dwskillman/BlendFiles`` ``MySlate_1_iPhone.csv``); their
files are not copied here. The test writes its own take that follows them:

- a 60 fps timecode clock, rows about 60 per second, sub-frames drifting
  (``11:54:29:19.804``, ``...:20.805``, ...);
- ``LeftEyeYaw ≈ 0.6 × (EyeLookInLeft − EyeLookOutLeft)`` and
  ``RightEyeYaw ≈ 0.6 × (EyeLookOutRight − EyeLookInRight)`` (correlation 1.00):
  positive eye yaw looks to the subject's right;
- ``Left/RightEyePitch ≈ 0.61 × EyeLookDown`` (positive looks down);
- ``EyeRoll ≈ tan(EyeYaw) · tan(EyePitch)`` per eye, and the two eyes' yaws differ.
"""

from __future__ import annotations

import numpy as np
import pytest

from emote.animation.channels import INDEX, RIG_SIGN, rig_angles
from emote.export import livelink
from emote.export.livelink import HEADER
from emote.performance.layer import PerformanceSettings, perform

APP_LOOK_SCALE = 0.6  # rad per unit of EyeLookIn/Out (measured)


def app_style_take(path, n: int = 600, seed: int = 0) -> None:
    """A take as the app writes it, following the measured conventions above."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 59.905
    # Gaze to the subject's right in radians, both eyes, plus convergence on the phone.
    gaze = 0.25 * np.sin(2 * np.pi * 0.4 * t) + 0.01 * rng.standard_normal(n)
    down = 0.15 + 0.1 * np.sin(2 * np.pi * 0.3 * t)
    verge = 0.05
    values = {name: np.zeros(n) for name in HEADER[2:]}
    for side, eye_yaw in (("Left", gaze + verge), ("Right", gaze - verge)):
        right, left = np.clip(eye_yaw, 0, None) / APP_LOOK_SCALE, np.clip(-eye_yaw, 0, None) / APP_LOOK_SCALE
        values[f"EyeLookIn{side}"] = right if side == "Left" else left
        values[f"EyeLookOut{side}"] = left if side == "Left" else right
        values[f"EyeLookDown{side}"] = down / 0.61
        values[f"{side}EyeYaw"] = eye_yaw
        values[f"{side}EyePitch"] = down
        values[f"{side}EyeRoll"] = np.tan(eye_yaw) * np.tan(down)
    t0 = 11 * 3600 + 54 * 60 + 29 + 19.804 / 60
    lines = [",".join(HEADER)]
    for i in range(n):
        ti = t0 + t[i]
        sec = int(ti)
        pos = round((ti - sec) * 60, 3)
        tc = f"{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}:{int(pos):02d}.{round(pos % 1 * 1000):03d}"
        lines.append(",".join([tc, "61", *(f"{values[h][i]:.10f}" for h in HEADER[2:])]))
    path.write_text("\r\n".join(lines) + "\r\n")


def eye_stats(curves: np.ndarray) -> dict[str, float]:
    c = lambda name: curves[:, INDEX[name]].astype(np.float64)  # noqa: E731
    left_look = c("EyeLookInLeft") - c("EyeLookOutLeft")
    right_look = c("EyeLookOutRight") - c("EyeLookInRight")
    return {
        "left_corr": np.corrcoef(c("LeftEyeYaw"), left_look)[0, 1],
        "right_corr": np.corrcoef(c("RightEyeYaw"), right_look)[0, 1],
        "left_slope": np.polyfit(left_look, c("LeftEyeYaw"), 1)[0],
        "right_slope": np.polyfit(right_look, c("RightEyeYaw"), 1)[0],
        "roll_err": max(
            np.abs(c(f"{s}EyeRoll") - np.tan(c(f"{s}EyeYaw")) * np.tan(c(f"{s}EyePitch"))).max()
            for s in ("Left", "Right")
        ),
        "vergence": float(np.mean(c("LeftEyeYaw") - c("RightEyeYaw"))),
    }


@pytest.fixture(scope="module")
def app_take(tmp_path_factory):
    path = tmp_path_factory.mktemp("llf") / "MySlate_1_iPhone.csv"
    app_style_take(path)
    return path


def test_reading_an_app_take_keeps_its_signs_and_its_60_fps(app_take):
    anim = livelink.read(app_take)
    assert anim.fps == 60 and anim.n_frames == 600
    stats = eye_stats(anim.curves)
    assert stats["left_corr"] > 0.99 and stats["right_corr"] > 0.99
    assert stats["left_slope"] == pytest.approx(APP_LOOK_SCALE, rel=0.02)
    assert stats["roll_err"] < 1e-6 and stats["vergence"] > 0


def test_emotes_gaze_follows_the_apps_conventions(app_take):
    # What the app measures on a person, emote's performance layer must write the same way.
    n, fps = 30 * 60, 30.0
    curves = perform(np.zeros((n, 61), np.float32), fps=fps, settings=PerformanceSettings(seed=4))
    ours, theirs = eye_stats(curves), eye_stats(livelink.read(app_take).curves)
    for key in ("left_corr", "right_corr"):
        assert np.sign(ours[key]) == np.sign(theirs[key]) and abs(ours[key]) > 0.95
    for key in ("left_slope", "right_slope"):
        assert ours[key] == pytest.approx(theirs[key], rel=0.15)
    assert ours["roll_err"] < 1e-6 and np.abs(curves[:, INDEX["LeftEyeRoll"]]).max() > 0
    assert ours["vergence"] > 0  # converging: the left eye looks more to the right than the right eye
    assert not np.array_equal(curves[:, INDEX["LeftEyeYaw"]], curves[:, INDEX["RightEyeYaw"]])


def test_rigs_turn_an_app_eye_yaw_to_the_characters_right():
    # Rig frame: +X is the character's left; R_y(yaw) with positive yaw turns +Z towards +X.
    curves = np.zeros((1, 61), np.float32)
    curves[0, INDEX["LeftEyeYaw"]] = 0.3
    curves[0, INDEX["HeadYaw"]] = 0.2
    yaw, _, _ = rig_angles(curves, ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll"))
    head, _, _ = rig_angles(curves, ("HeadYaw", "HeadPitch", "HeadRoll"))
    assert yaw[0] == pytest.approx(-0.3) and head[0] == pytest.approx(0.2)
    assert RIG_SIGN["LeftEyePitch"] == RIG_SIGN["RightEyePitch"] == 1.0


def test_blender_eye_bones_turn_to_the_characters_right():
    from emote.animation import FaceAnimation
    from emote.blender.plan import PoseTarget, plan_pose

    curves = np.zeros((2, 61), np.float32)
    curves[:, INDEX["LeftEyeYaw"]] = 0.3
    anim = FaceAnimation(30.0, curves)
    tracks = plan_pose(anim, PoseTarget(role="left_eye"))
    # delta_rotation_euler Z, about Blender's up axis: positive turns the face to the character's left.
    assert tracks[2].values[0] == pytest.approx(-0.3, abs=1e-6)
