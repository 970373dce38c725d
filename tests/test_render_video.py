"""Video, grid and contact-sheet specs: every frame and the audio reach the MP4, files appear
only when complete, grids and sheets tile and label their cells."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import needs

from emote.animation.channels import INDEX
from emote.animation.face_animation import FaceAnimation
from emote.errors import AudioError, EmoteError
from emote.render import RenderSettings, render_animation, render_grid, render_preview_png
from emote.render.files import read_png
from emote.render.font import text_mask
from emote.render.video import VideoEncoder, ffmpeg_exe

REPO = Path(__file__).resolve().parents[1]
SPEECH = REPO.parent / "shared" / "data" / "speech"
SMALL = RenderSettings(width=64, height=48)


class BallRig:
    """A UV sphere whose lower half drops with JawOpen: the smallest thing with a mouth."""

    def __init__(self, n: int = 16) -> None:
        lat, lon = np.meshgrid(
            np.linspace(0, np.pi, n), np.linspace(0, 2 * np.pi, 2 * n, endpoint=False), indexing="ij"
        )
        self.neutral = (
            (np.stack([np.sin(lat) * np.sin(lon), np.cos(lat), np.sin(lat) * np.cos(lon)], -1) * 100)
            .reshape(-1, 3)
            .astype(np.float32)
        )
        idx = np.arange(n * 2 * n).reshape(n, 2 * n)
        a, b = idx[:-1], np.roll(idx, -1, axis=1)[:-1]
        c, d = idx[1:], np.roll(idx, -1, axis=1)[1:]
        self.faces = (
            np.concatenate([np.stack([a, c, b], -1), np.stack([b, c, d], -1)]).reshape(-1, 3).astype(np.int32)
        )
        self.colors = np.tile(np.float32([[0.8, 0.6, 0.5]]), (len(self.neutral), 1))
        self.jaw = np.where(self.neutral[:, 1:2] < -20, np.float32([[0, -40, 0]]), np.float32(0)).astype(
            np.float32
        )
        self.calls = 0

    def pose(self, curves, *, device="cpu") -> torch.Tensor:
        self.calls += 1
        w = torch.as_tensor(np.asarray(curves, np.float32))[:, INDEX["JawOpen"]]
        return (torch.from_numpy(self.neutral) + w[:, None, None] * torch.from_numpy(self.jaw)).to(device)


def talking(n: int, fps: float = 30.0, **metadata) -> FaceAnimation:
    curves = np.zeros((n, 61), np.float32)
    curves[:, INDEX["JawOpen"]] = 0.5 + 0.5 * np.sin(np.arange(n) / 3)
    return FaceAnimation(fps, curves, metadata)


def decode_video(path: Path, width: int, height: int) -> np.ndarray:
    raw = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def audio_seconds(path: Path) -> float | None:
    """Decoded length of the first audio stream, None when there is none."""
    p = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-f",
            "f32le",
            "-ac",
            "1",
            "-ar",
            "8000",
            "-",
        ],
        capture_output=True,
    )
    return len(p.stdout) / 4 / 8000 if p.returncode == 0 else None


def no_leftovers(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if ".tmp" in p.name]


@pytest.fixture
def opengl():
    from emote.render.opengl import create_context

    try:
        create_context().release()
    except EmoteError as e:
        needs("opengl", str(e))


@pytest.fixture(scope="module")
def speech() -> Path:
    if not (SPEECH / "bobby.wav").is_file():
        needs("test-material", f"test speech not found in {SPEECH}")
    return SPEECH


def test_mp4_has_every_frame_and_the_audio_trimmed_to_the_video(tmp_path, opengl, speech):
    out = tmp_path / "line.mp4"
    anim = talking(24, fps=30.0)  # 0.8 s of video; the recording is longer
    stats = render_animation(
        BallRig(), anim, out, settings=SMALL, renderer="opengl", audio=speech / "bobby.wav", chunk=10
    )
    frames = decode_video(out, 64, 48)
    assert len(frames) == 24 == stats.frames
    assert audio_seconds(out) == pytest.approx(0.8, abs=0.05)
    assert set(stats.stages) == {"pose", "normals", "render", "encode"} and stats.fps > 0
    # The jaw opens and closes: the lowest drawn row moves over the clip.
    lowest = [np.nonzero((np.abs(f.astype(int) - f[0, 0]).sum(-1) > 30).any(1))[0].max() for f in frames]
    assert max(lowest) - min(lowest) >= 3
    assert no_leftovers(tmp_path)


def test_the_animations_own_audio_is_used_when_none_is_given(tmp_path, opengl, speech):
    out = tmp_path / "own.mp4"
    render_animation(
        BallRig(), talking(15, audio=str(speech / "bobby.wav")), out, settings=SMALL, renderer="opengl"
    )
    assert audio_seconds(out) == pytest.approx(0.5, abs=0.05)


def test_without_audio_the_video_is_silent(tmp_path, opengl):
    out = tmp_path / "silent.mp4"
    render_animation(BallRig(), talking(10), out, settings=SMALL, renderer="opengl")
    assert audio_seconds(out) is None and len(decode_video(out, 64, 48)) == 10


def test_progress_reports_fractions_up_to_one_and_frames_per_second(tmp_path, opengl):
    seen: list[tuple[float, float]] = []
    render_animation(BallRig(), talking(25), tmp_path / "p.mp4", settings=SMALL, renderer="opengl", chunk=8,
                     progress=lambda f, fps: seen.append((f, fps)))  # fmt: skip
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(seen) == 4
    assert all(fps > 0 for _, fps in seen)


def test_an_error_mid_encode_leaves_no_file_at_the_final_path(tmp_path, opengl):
    class Breaks(BallRig):
        def pose(self, curves, *, device="cpu"):
            if self.calls == 2:
                raise RuntimeError("rig exploded")
            return super().pose(curves, device=device)

    out = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError, match="exploded"):
        render_animation(Breaks(), talking(40), out, settings=SMALL, renderer="opengl", chunk=8)
    assert not out.exists() and no_leftovers(tmp_path)


def test_a_killed_render_leaves_no_file_at_the_final_path(tmp_path, opengl):
    out = tmp_path / "killed.mp4"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_render_video import BallRig, talking, SMALL
        from emote.render import render_animation
        def slow(fraction, fps):
            print("chunk", flush=True)
            time.sleep(0.5)
        render_animation(BallRig(), talking(300), {str(out)!r}, settings=SMALL, renderer="opengl", chunk=4, progress=slow)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "chunk"  # encoding has started
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(0.2)
    assert not out.exists()


def test_unreadable_audio_is_an_audio_error_naming_the_file(tmp_path, opengl):
    bad = tmp_path / "noise.wav"
    bad.write_bytes(b"this is not audio" * 10)
    out = tmp_path / "x.mp4"
    with pytest.raises(AudioError, match=r"noise\.wav") as e:
        render_animation(BallRig(), talking(10), out, settings=SMALL, renderer="opengl", audio=bad)
    assert "\n" not in str(e.value)
    assert not out.exists() and no_leftovers(tmp_path)
    with pytest.raises(AudioError, match=r"missing\.wav: no such file"):
        render_animation(
            BallRig(), talking(10), out, settings=SMALL, renderer="opengl", audio=tmp_path / "missing.wav"
        )


def test_encoder_refuses_odd_sizes(tmp_path):
    with pytest.raises(EmoteError, match="even"):
        VideoEncoder(tmp_path / "odd.mp4", width=65, height=48, fps=30)


def test_grid_tiles_labelled_cells_of_the_same_line(tmp_path, opengl):
    still = FaceAnimation.zeros(12, fps=30.0)
    anims = [("neutral", still), ("happy", talking(12)), ("sad", talking(9)), ("angry", talking(12))]
    out = tmp_path / "grid.mp4"
    stats = render_grid(BallRig(), anims, out, settings=SMALL, renderer="opengl", chunk=5)
    frames = decode_video(out, 128, 96)  # 2 × 2 cells of 64 × 48
    assert len(frames) == 12 == stats.frames
    cells = (
        frames.reshape(12, 2, 48, 2, 64, 3).transpose(0, 1, 3, 2, 4, 5).reshape(12, 4, 48, 64, 3).astype(int)
    )
    # The still cell does not change; the talking cells do.
    assert np.abs(cells[:, 0] - cells[0, 0]).max() < 24
    assert np.abs(cells[:, 1] - cells[0, 1]).max() > 60
    # Each cell carries its label: near-white ink in the top-left corner.
    assert all((cells[0, i, :20, :40] > 200).all(-1).sum() > 10 for i in range(4))


def test_preview_png_is_a_labelled_contact_sheet_spread_over_the_clip(tmp_path, opengl):
    path = tmp_path / "sheet.png"
    sheet = render_preview_png(
        BallRig(), talking(90), path, n=6, columns=3, settings=SMALL, renderer="opengl"
    )
    assert sheet.shape == (96, 192, 3)
    np.testing.assert_array_equal(read_png(path), sheet)
    cells = [sheet[r * 48 : (r + 1) * 48, c * 64 : (c + 1) * 64] for r in range(2) for c in range(3)]
    bodies = [cell[24:].astype(int) for cell in cells]  # below the labels
    assert max(np.abs(b - bodies[0]).max() for b in bodies) > 60  # different moments of the clip
    assert no_leftovers(tmp_path)


def test_text_mask_is_five_by_seven_glyphs_with_gaps():
    m = text_mask("Hi 2", scale=2)
    assert m.shape == (14, (4 * 6 - 1) * 2)
    assert m[:, 10:12].sum() == 0  # the gap after the first glyph
