"""`emote animate --render`, `emote render` and `emote rigs` on a real character."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "hello.wav"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emote", *args], capture_output=True, text=True, cwd=REPO, check=False
    )


@pytest.fixture(scope="module")
def rocketbox(rigs_dir):
    return rigs_dir / "rocketbox_male_adult_03.glb"


def streams(path: Path) -> list[str]:
    from emote.render.video import ffmpeg_exe

    res = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True, check=False
    )
    return [line.split(":")[2].strip() for line in res.stderr.splitlines() if "Stream #" in line]


def test_animate_renders_video_with_audio_and_a_preview_on_a_glb_character(tmp_path, rocketbox):
    res = run_cli(
        "animate", str(EXAMPLE), "--rig", str(rocketbox), "--format", "json,glb",
        "--render", "--preview-png", "--size", "256x256", "-o", str(tmp_path), "-q",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["hello.glb", "hello.json", "hello.mp4", "hello.png"]
    assert streams(tmp_path / "hello.mp4") == ["Video", "Audio"]
    from emote.render.files import read_png

    assert read_png(tmp_path / "hello.png").shape[1] == 4 * 256  # a contact sheet of frames


def test_render_command_draws_an_existing_animation(tmp_path, rocketbox):
    from emote.animation import FaceAnimation

    anim = FaceAnimation.zeros(20, fps=25)
    anim.curves[:, 17] = 0.6  # JawOpen
    anim.save(tmp_path / "take.json")
    res = run_cli("render", str(tmp_path / "take.json"), "--rig", str(rocketbox), "--size", "128x128",
                  "-o", str(tmp_path / "v"), "-q")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert streams(tmp_path / "v" / "take.mp4") == ["Video"]  # no audio to mux: a silent video


def test_rigs_info_reports_matched_and_missing_shapes(rigs_dir):
    res = run_cli("rigs", "info", "ict-facekit", "--rig-path", str(rigs_dir / "ict-facekit"))
    assert res.returncode == 0, res.stderr
    assert "51 ARKit shapes" in res.stdout and "TongueOut" in res.stdout


def test_a_missing_rig_fails_in_one_line_before_any_work(tmp_path):
    res = run_cli(
        "animate", str(EXAMPLE), "--rig", str(tmp_path / "nohead.glb"), "--render", "-o", str(tmp_path / "o")
    )
    assert res.returncode == 1
    assert "nohead.glb" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_flame_format_needs_the_flame_rig(tmp_path):
    res = run_cli("animate", str(EXAMPLE), "--rig", "flame", "--format", "flame", "-o", str(tmp_path / "o"))
    assert res.returncode == 1
    assert "flame.is.tue.mpg.de" in res.stderr
