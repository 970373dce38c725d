"""Frames to files: H.264 MP4 with the source audio, emotion grids, still contact sheets.

Frames stream through an ffmpeg pipe chunk by chunk (``chunk`` frames posed, shaded and
encoded at a time, the encoder writing one chunk while the next renders), so memory stays
flat however long the clip. Every file is written under a temporary name and renamed when
complete: an error or a kill never leaves a half file at the final path.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from emote.animation.face_animation import FaceAnimation
from emote.errors import AudioError, EmoteError, file_error
from emote.io.atomic import atomic_path
from emote.render.backends import Renderer, get_renderer
from emote.render.files import write_png
from emote.render.font import draw_label
from emote.render.scene import Frames, RenderSettings, Scene
from emote.rigs.posing import vertex_normals

log = logging.getLogger("emote.render")

ProgressFn = Callable[[float, float], None]
"""``progress(fraction, fps)``: fraction of frames done in [0, 1], frames per second so far."""


class PosableMesh(Protocol):
    """What rendering needs from a rig (``emote.rigs.base.MeshRig`` is one)."""

    neutral: np.ndarray  # (V, 3)
    faces: np.ndarray  # (F, 3)
    colors: np.ndarray  # (V, 3)

    def pose(self, curves: np.ndarray | torch.Tensor, *, device: str | torch.device = "cpu") -> torch.Tensor:
        """``curves (T, 61)`` → vertices ``(T, V, 3)``."""
        ...


@dataclass
class RenderStats:
    """How a render went.

    Attributes
    ----------
    frames : int
        Frames written.
    seconds : float
        Wall time from the first pose to the closed file.
    renderer : str
        Backend and what drew (e.g. the OpenGL renderer string).
    stages : dict[str, float]
        Seconds per stage: ``pose``, ``normals``, ``render`` (rasterising + read-back) and
        ``encode`` (time spent handing frames to ffmpeg, which overlaps rendering, plus
        finishing the file).
    """

    frames: int
    seconds: float
    renderer: str
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        """End-to-end frames per second."""
        return self.frames / self.seconds if self.seconds > 0 else math.inf


def ffmpeg_exe() -> str:
    """The ffmpeg binary: imageio-ffmpeg's bundled one, else ``ffmpeg`` on PATH."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:
        exe = shutil.which("ffmpeg")
        if exe is None:
            raise EmoteError(
                "video output needs ffmpeg: pip install imageio-ffmpeg (or install ffmpeg)"
            ) from None
        return exe


class VideoEncoder:
    """Stream RGB frames into an H.264 MP4 (yuv420p), optionally muxing an audio track.

    Use as a context manager: leaving it normally finishes the file and moves it to ``path``;
    leaving it with an exception kills ffmpeg and removes the partial file.

    Parameters
    ----------
    path : path-like
        Final ``.mp4`` path.
    width, height : int
        Frame size (even).
    fps : float
        Frame rate.
    audio : path-like, optional
        Sound file whose audio track is muxed in from time 0.
    duration : float, optional
        Trim the audio to this many seconds (the video's length); without it the file ends
        with the shorter of the two streams.
    crf : int
        x264 constant rate factor (0 lossless … 51 worst; 18 is visually lossless).
    preset : str
        x264 speed preset.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        width: int,
        height: int,
        fps: float,
        audio: str | os.PathLike[str] | None = None,
        duration: float | None = None,
        crf: int = 18,
        preset: str = "veryfast",
    ) -> None:
        if width % 2 or height % 2:
            raise EmoteError(f"{path}: video size {width}x{height} must be even for H.264 yuv420p")
        if not 0 <= crf <= 51:
            raise EmoteError(f"crf {crf}: must be between 0 and 51")
        if audio is not None:
            from emote.audio.io import audio_info

            audio_info(audio)  # missing, not audio, damaged: said now, not after every frame is drawn
        self.path, self.width, self.height, self.fps = Path(path), width, height, float(fps)
        self.frames_written = 0
        self.seconds_writing = 0.0
        cmd = [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", f"{self.fps:.6g}",
            "-i", "pipe:0",
        ]  # fmt: skip
        if audio is not None:
            if duration is not None:
                cmd += ["-t", f"{duration:.6f}"]
            cmd += ["-i", os.fspath(audio), "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac", "-b:a", "160k"]
            if duration is None:
                cmd += ["-shortest"]
        cmd += ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p"]
        cmd += ["-movflags", "+faststart", "-f", "mp4"]
        self._audio = audio
        # Entered here, left in close() (commit) or abort() (remove): the file outlives __init__.
        self._files = contextlib.ExitStack()
        self._tmp = self._files.enter_context(atomic_path(self.path))
        self._stderr = self._files.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                [*cmd, os.fspath(self._tmp)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
            )
        except BaseException as e:
            self._discard(e)
            raise

    def write(self, frames: Frames) -> None:
        """Append frames ``(N, H, W, 3) uint8`` (or one ``(H, W, 3)``)."""
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        if frames.dtype != np.uint8 or frames.shape[1:] != (self.height, self.width, 3):
            raise ValueError(f"frames must be (N, {self.height}, {self.width}, 3) uint8, got {frames.shape}")
        t = time.perf_counter()
        try:
            self._proc.stdin.write(memoryview(np.ascontiguousarray(frames)).cast("B"))
        except (BrokenPipeError, OSError):
            self._proc.wait()
            raise self._failure() from None
        self.frames_written += len(frames)
        self.seconds_writing += time.perf_counter() - t

    def close(self) -> Path:
        """Finish the file and move it to its final path."""
        t = time.perf_counter()
        with contextlib.suppress(BrokenPipeError, OSError):
            self._proc.stdin.close()
        rc = self._proc.wait()
        self.seconds_writing += time.perf_counter() - t
        if rc != 0 or self.frames_written == 0:
            err = self._failure() if rc != 0 else EmoteError(f"{self.path}: no frames to encode")
            self._discard(err)
            raise err
        self._files.close()  # closes stderr, moves the file to its final path
        return self.path

    def abort(self) -> None:
        """Stop ffmpeg and remove the partial file; nothing appears at the final path."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._discard(EmoteError("aborted"))

    def _discard(self, exc: BaseException) -> None:
        # atomic_path removes the temporary file and re-raises ``exc``; the caller raises its own.
        with contextlib.suppress(type(exc)):
            self._files.__exit__(type(exc), exc, exc.__traceback__)

    def _failure(self) -> EmoteError:
        self._stderr.seek(0)
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1] if lines else f"ffmpeg exited with {self._proc.returncode}"
        if self._audio is not None and any(os.fspath(self._audio) in line for line in lines):
            return file_error(AudioError, self._audio, f"cannot read audio ({reason})")
        return EmoteError(f"{self.path}: video encoding failed ({reason})")

    def __enter__(self) -> VideoEncoder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# -- rendering whole animations ---------------------------------------------------------


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _audio_of(anim: FaceAnimation, audio: str | os.PathLike[str] | None) -> Path | None:
    """The explicit ``audio``, else the animation's source audio (``metadata['audio']``) if it exists."""
    if audio is not None:
        return Path(audio)
    meta = anim.metadata.get("audio")
    if isinstance(meta, str) and Path(meta).is_file():
        return Path(meta)
    if isinstance(meta, str) and meta:
        log.warning("%s: the animation's audio is missing; the video has no sound (give --audio)", meta)
    return None


def _renderer_for(
    rig: PosableMesh,
    renderer: str | Renderer,
    settings: RenderSettings,
    device: str | torch.device | None,
) -> tuple[Renderer, bool]:
    """The renderer to use and whether we own it (and must close it)."""
    if isinstance(renderer, Renderer):
        if renderer.scene.n_vertices != len(rig.neutral):
            raise EmoteError(
                f"renderer was built for {renderer.scene.n_vertices} vertices, the rig has {len(rig.neutral)}"
            )
        return renderer, False
    scene = Scene.for_mesh(rig.neutral, rig.faces, rig.colors, settings)
    return get_renderer(renderer, scene=scene, settings=settings, device=device), True


class _Stages:
    """Accumulates per-stage wall time, synchronising CUDA so the split is honest."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds = {"pose": 0.0, "normals": 0.0, "render": 0.0}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        _sync(self.device)
        now = time.perf_counter()
        self.seconds[stage] += now - self._t
        self._t = now

    def restart(self) -> None:
        self._t = time.perf_counter()


class _EncodeBehind:
    """Encode chunk k on a worker thread while chunk k+1 renders, in two alternating buffers.

    ffmpeg encodes in its own process; the thread only feeds the pipe, so rendering and
    encoding overlap and at most two chunks of frames exist at any time.
    """

    def __init__(self, encoder: VideoEncoder, shape: tuple[int, ...]) -> None:
        self._encoder = encoder
        self._buffers = [np.empty(shape, np.uint8) for _ in range(2)]
        self._futures: list[Future | None] = [None, None]
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emote-encode")
        self._k = 0

    def buffer(self) -> np.ndarray:
        """The next buffer to render into, once the encoder is done with its previous contents."""
        self._wait(self._k % 2)
        return self._buffers[self._k % 2]

    def submit(self, n: int) -> None:
        """Encode the first ``n`` frames of the buffer last returned by :meth:`buffer`."""
        i = self._k % 2
        self._futures[i] = self._pool.submit(self._encoder.write, self._buffers[i][:n])
        self._k += 1

    def _wait(self, i: int) -> None:
        future, self._futures[i] = self._futures[i], None
        if future is not None:
            future.result()  # re-raises an encoder failure here, in the rendering thread

    def __enter__(self) -> _EncodeBehind:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self._wait(self._k % 2)
            self._wait((self._k + 1) % 2)
        self._pool.shutdown(wait=True, cancel_futures=True)


def _stream(
    cells: Sequence[tuple[PosableMesh, np.ndarray]],
    labels: Sequence[str] | None,
    out_path: str | os.PathLike[str],
    *,
    fps: float,
    settings: RenderSettings,
    renderer: str | Renderer,
    audio: Path | None,
    progress: ProgressFn | None,
    chunk: int,
    columns: int,
    crf: int,
    device: str | torch.device | None,
) -> RenderStats:
    """Pose, shade, tile (``cells`` = (rig, curves) per grid cell) and encode, chunk by chunk."""
    if chunk < 1:
        raise EmoteError(f"chunk {chunk}: must be >= 1")
    n_frames = max(len(curves) for _, curves in cells)
    if n_frames == 0:
        raise EmoteError(f"{out_path}: the animation has no frames")
    t_start = time.perf_counter()
    r, owned = _renderer_for(cells[0][0], renderer, settings, device)
    h, w = r.settings.height, r.settings.width
    rows, grid = math.ceil(len(cells) / columns), len(cells) > 1
    background = (np.asarray(r.settings.background) * 255 + 0.5).astype(np.uint8)
    label_scale = max(2, h // 128)
    faces = r.faces.to(r.device)
    cell_buf = np.empty((chunk, h, w, 3), np.uint8) if grid else None
    stages = _Stages(r.device)
    try:
        with (
            VideoEncoder(
                out_path,
                width=columns * w,
                height=rows * h,
                fps=fps,
                audio=audio,
                duration=n_frames / fps,
                crf=crf,
            ) as encoder,
            _EncodeBehind(encoder, (chunk, rows * h, columns * w, 3)) as behind,
        ):
            for start in range(0, n_frames, chunk):
                stop = min(start + chunk, n_frames)
                n = stop - start
                target = behind.buffer()
                if grid:
                    target[:n] = background  # empty cells
                stages.restart()
                for i, (rig, curves) in enumerate(cells):
                    verts = rig.pose(curves[start:stop], device=r.device)
                    stages.lap("pose")
                    normals = vertex_normals(verts, faces)
                    stages.lap("normals")
                    if grid:
                        row, col = divmod(i, columns)
                        cell = target[:n, row * h : (row + 1) * h, col * w : (col + 1) * w]
                        cell[...] = r.render(verts, normals, out=cell_buf)
                        if labels is not None:
                            xy = 3 * label_scale
                            draw_label(cell, labels[i], x=xy, y=xy, scale=label_scale)
                    else:
                        r.render(verts, normals, out=target)
                    stages.lap("render")
                behind.submit(n)
                if progress is not None:
                    progress(stop / n_frames, stop / max(time.perf_counter() - t_start, 1e-9))
        return RenderStats(
            frames=n_frames,
            seconds=time.perf_counter() - t_start,
            renderer=f"{r.name}: {r.description}",
            stages={**stages.seconds, "encode": encoder.seconds_writing},
        )
    finally:
        if owned:
            r.close()


def render_animation(
    rig: PosableMesh,
    anim: FaceAnimation,
    out_path: str | os.PathLike[str],
    *,
    settings: RenderSettings | None = None,
    renderer: str | Renderer = "auto",
    audio: str | os.PathLike[str] | None = None,
    progress: ProgressFn | None = None,
    chunk: int = 64,
    crf: int = 18,
    device: str | torch.device | None = None,
) -> RenderStats:
    """Render ``anim`` on ``rig`` to an H.264 MP4 with the audio muxed in sync.

    Parameters
    ----------
    rig : PosableMesh
        A mesh rig (``emote.rigs.MeshRig``): neutral, faces, colors, ``pose(curves)``.
    anim : FaceAnimation
        ``curves: (frames, 61)`` at ``anim.fps`` (the video's frame rate).
    out_path : path-like
        The ``.mp4`` to write (atomically).
    settings : RenderSettings, optional
        Size, background, framing, lighting. Ignored when ``renderer`` is a Renderer.
    renderer : {"auto", "opengl", "pytorch3d"} or Renderer
        Backend name, or an open renderer to reuse (its scene must be this rig's).
    audio : path-like, optional
        Audio to mux; default the animation's source (``anim.metadata["audio"]``) when that
        file exists, else a silent video. Trimmed to the video's length.
    progress : callable, optional
        ``progress(fraction, fps)`` after every chunk.
    chunk : int
        Frames posed and rendered per batch (memory: ``chunk · H · W · 3`` bytes, twice).
    crf : int
        x264 quality (lower is better; 18 is visually lossless).
    device : str or torch.device, optional
        PyTorch3D's device.

    Returns
    -------
    RenderStats
        Frames, wall time, per-stage seconds.
    """
    settings = settings or RenderSettings()
    return _stream(
        [(rig, anim.curves)], None, out_path, fps=anim.fps, settings=settings, renderer=renderer,
        audio=_audio_of(anim, audio), progress=progress, chunk=chunk, columns=1, crf=crf, device=device,
    )  # fmt: skip


def render_grid(
    rig: PosableMesh,
    anims: Sequence[tuple[str, FaceAnimation]],
    out_path: str | os.PathLike[str],
    *,
    settings: RenderSettings | None = None,
    renderer: str | Renderer = "auto",
    audio: str | os.PathLike[str] | None = None,
    columns: int | None = None,
    progress: ProgressFn | None = None,
    chunk: int = 16,
    crf: int = 18,
    device: str | torch.device | None = None,
) -> RenderStats:
    """Render several animations of the same line side by side, labelled, into one MP4.

    Parameters
    ----------
    rig : PosableMesh
    anims : sequence of (label, FaceAnimation)
        E.g. ``[("happy", a), ("sad", b)]``; all are shown at the first one's fps (others are
        resampled), shorter ones hold their last frame.
    out_path : path-like
    settings : RenderSettings, optional
        Size of *one* cell.
    columns : int, optional
        Cells per row (default ``ceil(sqrt(len(anims)))``).
    audio : path-like, optional
        Default: the first animation's source audio.
    chunk : int
        Frames per batch (per cell).
    renderer, progress, crf, device
        As for :func:`render_animation`.

    Returns
    -------
    RenderStats
    """
    if not anims:
        raise EmoteError("render_grid: no animations given")
    settings = settings or RenderSettings()
    fps = anims[0][1].fps
    curves = [(a if a.fps == fps else a.resample(fps)).curves for _, a in anims]
    n = max(len(c) for c in curves)
    curves = [
        np.concatenate([c, np.repeat(c[-1:], n - len(c), axis=0)]) if 0 < len(c) < n else c for c in curves
    ]
    columns = columns or math.ceil(math.sqrt(len(anims)))
    return _stream(
        [(rig, c) for c in curves], [label for label, _ in anims], out_path, fps=fps, settings=settings,
        renderer=renderer, audio=_audio_of(anims[0][1], audio), progress=progress, chunk=chunk,
        columns=columns, crf=crf, device=device,
    )  # fmt: skip


def contact_sheet(
    frames: Frames, labels: Sequence[str] | None = None, *, columns: int | None = None
) -> np.ndarray:
    """Tile frames ``(N, H, W, 3)`` into one image ``(rows·H, columns·W, 3)``, labelled top-left."""
    n, h, w, _ = frames.shape
    columns = columns or min(n, 4)
    rows = math.ceil(n / columns)
    sheet = np.zeros((rows * h, columns * w, 3), np.uint8)
    scale = max(2, h // 128)
    for i in range(n):
        r, c = divmod(i, columns)
        cell = sheet[r * h : (r + 1) * h, c * w : (c + 1) * w]
        cell[...] = frames[i]
        if labels is not None:
            draw_label(cell, labels[i], x=scale * 3, y=scale * 3, scale=scale)
    return sheet


def render_preview_png(
    rig: PosableMesh,
    anim: FaceAnimation,
    path: str | os.PathLike[str],
    *,
    n: int = 8,
    columns: int | None = None,
    settings: RenderSettings | None = None,
    renderer: str | Renderer = "auto",
    device: str | torch.device | None = None,
) -> np.ndarray:
    """A still contact sheet: ``n`` frames spread evenly over the clip, each labelled with its time.

    Returns
    -------
    np.ndarray [shape=(rows·H, columns·W, 3), uint8]
        The sheet, also written to ``path`` as PNG (atomically).
    """
    if anim.n_frames == 0:
        raise EmoteError(f"{path}: the animation has no frames")
    settings = settings or RenderSettings()
    idx = np.unique(np.round(np.linspace(0, anim.n_frames - 1, max(1, n))).astype(int))
    r, owned = _renderer_for(rig, renderer, settings, device)
    try:
        frames = r.render(rig.pose(anim.curves[idx], device=r.device))
    finally:
        if owned:
            r.close()
    sheet = contact_sheet(frames, [f"{i / anim.fps:.2f} s" for i in idx], columns=columns)
    write_png(path, sheet)
    return sheet
