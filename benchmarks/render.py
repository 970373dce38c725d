"""Render throughput: frames per second per backend and rig, end to end and split by stage.

End to end is what ``emote animate --render`` does: pose a clip in chunks, compute normals,
rasterise + read back, encode H.264 (with audio when ``--audio`` is given). Stages are timed
inside the same run (``pose``, ``normals``, ``render`` = rasterising + read-back, ``encode`` =
time spent handing frames to ffmpeg, which overlaps rendering).

    python benchmarks/render.py                                    # CPU: OpenGL, ICT + default head
    python benchmarks/render.py --device cuda --backends pytorch3d,opengl --batch 32 --baseline

``--baseline`` adds PyTorch3D as shipped (``MeshRasterizer`` + ``HardPhongShader``, one light,
normals computed by ``Meshes``, read back to the CPU) at batch 1 and ``--batch``: the figures
the issue quotes (67 / 137 fps on an H100 for the ICT head at 512²).

Rigs: ``ict`` (ICT-FaceKit from ``--ict``, default ../shared/data/rigs/ict-facekit),
``default`` (the embedded default head; a ~20k-vertex stand-in with 52 synthetic shapes while
it is not built yet), ``rocketbox`` (the glTF test character). When ``emote.rigs.posing`` is
missing, rigs pose with a plain linear blendshape sum (no rigid eyes/head): the cost is the same.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emote.animation.channels import INDEX, N_ARKIT, N_CHANNELS  # noqa: E402
from emote.animation.face_animation import FaceAnimation  # noqa: E402
from emote.render import RenderSettings, Scene, get_renderer, render_animation  # noqa: E402

SHARED = REPO.parent / "shared" / "data"


# -- rigs ---------------------------------------------------------------------------------


@dataclass
class BenchRig:
    """Anything with neutral/faces/colors/pose, plus a note on where it came from."""

    name: str
    neutral: np.ndarray
    faces: np.ndarray
    colors: np.ndarray
    source: str
    _pose: object

    def pose(self, curves, *, device="cpu") -> torch.Tensor:
        return self._pose(curves, device=device)


class LinearPose:
    """``neutral + Σ w_s deltas[s]`` in one matmul (the blendshape part of MeshRig.pose)."""

    def __init__(self, neutral: np.ndarray, deltas: np.ndarray, columns: np.ndarray) -> None:
        self.neutral = torch.from_numpy(np.ascontiguousarray(neutral, np.float32))
        self.deltas = torch.from_numpy(np.ascontiguousarray(deltas, np.float32)).reshape(len(deltas), -1)
        self.columns = torch.as_tensor(columns, dtype=torch.long)
        self._on: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def __call__(self, curves, *, device="cpu") -> torch.Tensor:
        key = str(device)
        if key not in self._on:
            self._on[key] = (self.neutral.to(device), self.deltas.to(device))
        neutral, deltas = self._on[key]
        w = torch.as_tensor(np.asarray(curves, np.float32)).to(device)[:, self.columns]
        return neutral + (w @ deltas).reshape(len(w), *neutral.shape)


def _mesh_rig_pose(rig) -> tuple[object, str]:
    try:
        import emote.rigs.posing  # noqa: F401

        return rig.pose, "MeshRig.pose"
    except ImportError:
        cols = np.array([INDEX[n] for n in rig.shape_names], np.int64)
        return LinearPose(
            rig.neutral, rig.deltas, cols
        ), "linear blendshapes (emote.rigs.posing not there yet)"


def load(name: str, source: str | Path) -> BenchRig:
    """A rig through ``emote.rigs.registry.load_rig`` (a name, an ICT folder or a glTF file)."""
    from emote.rigs.registry import load_rig

    rig = load_rig(source)
    pose, how = _mesh_rig_pose(rig)
    return BenchRig(name, rig.neutral, rig.faces, rig.colors, f"emote.rigs ({rig.name}), {how}", pose)


def load_default() -> BenchRig:
    from emote.errors import RigError

    try:
        return load("default", "default")
    except RigError:
        return stand_in_head()


def stand_in_head(n_lat: int = 100, n_lon: int = 200, seed: int = 0) -> BenchRig:
    """A head-sized ellipsoid of n_lat·n_lon (20k) vertices with 52 smooth random shapes."""
    lat, lon = np.meshgrid(
        np.linspace(0.02, np.pi - 0.02, n_lat),
        np.linspace(0, 2 * np.pi, n_lon, endpoint=False),
        indexing="ij",
    )
    unit = np.stack([np.sin(lat) * np.sin(lon), np.cos(lat), np.sin(lat) * np.cos(lon)], -1).reshape(-1, 3)
    neutral = (unit * [75.0, 110.0, 95.0]).astype(np.float32)
    idx = np.arange(n_lat * n_lon).reshape(n_lat, n_lon)
    a, b = idx[:-1], np.roll(idx, -1, axis=1)[:-1]
    c, d = idx[1:], np.roll(idx, -1, axis=1)[1:]
    faces = np.concatenate([np.stack([a, c, b], -1), np.stack([b, c, d], -1)]).reshape(-1, 3).astype(np.int32)
    rng = np.random.default_rng(seed)
    centres = unit[rng.integers(0, len(unit), N_ARKIT)]
    falloff = np.exp(-(1 - unit @ centres.T) / 0.02)  # (V, 52) bumps ~ 0.2 rad wide
    deltas = (falloff.T[..., None] * unit[None] * 6.0).astype(np.float32)  # 6 mm outward bumps
    colors = np.tile(np.float32([[0.80, 0.62, 0.52]]), (len(neutral), 1))
    pose = LinearPose(neutral, deltas, np.arange(N_ARKIT))
    return BenchRig(
        "default", neutral, faces, colors, "stand-in ellipsoid (default head not built yet)", pose
    )


def _smooth(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``x`` convolved with ``kernel``, same length as ``x`` whatever their sizes."""
    k = len(kernel)
    return np.convolve(np.pad(x, k, mode="edge"), kernel, "same")[k:-k]


def speech_like_curves(n_frames: int, fps: float, *, audio: Path | None = None, seed: int = 0) -> np.ndarray:
    """Curves that move like speech: the jaw follows the audio's loudness (or ~4 Hz syllables),
    lips round and close now and then, eyes blink every ~3 s, the head sways slowly."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / fps
    curves = np.zeros((n_frames, N_CHANNELS), np.float32)
    if audio is not None:
        import soundfile as sf

        y, sr = sf.read(audio, dtype="float32", always_2d=True)
        y = y.mean(axis=1)
        hop = sr / fps
        rms = np.array(
            [np.sqrt(np.mean(y[int(i * hop) : int((i + 1) * hop)] ** 2 + 1e-12)) for i in range(n_frames)]
        )
        env = np.clip(rms / (np.percentile(rms, 95) + 1e-9), 0, 1)
    else:
        env = np.clip(0.5 * (1 + np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6))), 0, 1)
    smooth = _smooth(env, np.ones(3) / 3)
    curves[:, INDEX["JawOpen"]] = 0.55 * smooth
    kernel = np.exp(-0.5 * (np.arange(-9, 10) / 3.0) ** 2)
    kernel /= kernel.sum()
    for name, amount in (
        ("MouthFunnel", 0.5),
        ("MouthPucker", 0.5),
        ("MouthClose", 0.3),
        ("MouthStretchLeft", 0.3),
        ("MouthStretchRight", 0.3),
    ):
        curves[:, INDEX[name]] = (
            np.clip(_smooth(rng.normal(0, 1.2, n_frames), kernel), 0, 1) * amount * (smooth > 0.1)
        )
    blink = np.clip(1 - np.abs(np.mod(t + 0.7, 3.1) - 0.1) / 0.1, 0, 1)  # 0.2 s triangle every 3.1 s
    curves[:, INDEX["EyeBlinkLeft"]] = curves[:, INDEX["EyeBlinkRight"]] = blink
    curves[:, INDEX["HeadYaw"]] = 0.08 * np.sin(2 * np.pi * 0.3 * t)
    curves[:, INDEX["HeadPitch"]] = 0.04 * np.sin(2 * np.pi * 0.2 * t + 1)
    return curves


# Crude emotion overlays for the evidence grid (the performance layer does this properly).
EMOTIONS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"MouthSmileLeft": 0.8, "MouthSmileRight": 0.8, "CheekSquintLeft": 0.5, "CheekSquintRight": 0.5,
              "EyeSquintLeft": 0.3, "EyeSquintRight": 0.3},
    "sad": {"MouthFrownLeft": 0.7, "MouthFrownRight": 0.7, "BrowInnerUp": 0.8, "MouthShrugLower": 0.3,
            "EyeLookDownLeft": 0.3, "EyeLookDownRight": 0.3},
    "angry": {"BrowDownLeft": 0.9, "BrowDownRight": 0.9, "NoseSneerLeft": 0.5, "NoseSneerRight": 0.5,
              "EyeSquintLeft": 0.4, "EyeSquintRight": 0.4, "MouthPressLeft": 0.3, "MouthPressRight": 0.3},
    "surprised": {"BrowInnerUp": 0.9, "BrowOuterUpLeft": 0.9, "BrowOuterUpRight": 0.9, "EyeWideLeft": 0.8,
                  "EyeWideRight": 0.8, "JawOpen": 0.15},
}  # fmt: skip


def with_emotion(curves: np.ndarray, emotion: str) -> np.ndarray:
    out = curves.copy()
    for name, value in EMOTIONS[emotion].items():
        out[:, INDEX[name]] = np.clip(out[:, INDEX[name]] + value, 0, 1)
    return out


# -- measurements -------------------------------------------------------------------------


def end_to_end(rig: BenchRig, backend: str, args: argparse.Namespace, out_dir: Path) -> dict:
    settings = RenderSettings(width=args.size, height=args.size)
    scene = Scene.for_mesh(rig.neutral, rig.faces, rig.colors, settings)
    kwargs = {"device": args.device} if backend == "pytorch3d" else {}
    renderer = get_renderer(backend, scene=scene, settings=settings, **kwargs)
    if backend == "pytorch3d":
        renderer.batch = args.batch
    anim = FaceAnimation(args.fps, speech_like_curves(args.frames, args.fps, audio=args.audio), {})
    try:
        # Warm up (shader compilation, CUDA kernels, first-touch allocations).
        renderer.render(rig.pose(anim.curves[:2], device=renderer.device))
        cpu0 = _cpu_seconds()
        stats = render_animation(
            rig,
            anim,
            out_dir / f"render_{rig.name}_{backend}.mp4",
            renderer=renderer,
            audio=args.audio,
            chunk=args.chunk,
        )
        cpu = _cpu_seconds() - cpu0
    finally:
        renderer.close()
    per_frame = {k: 1000 * v / stats.frames for k, v in stats.stages.items()}
    return {
        "rig": rig.name,
        "rig_source": rig.source,
        "vertices": len(rig.neutral),
        "triangles": len(rig.faces),
        "backend": backend,
        "renderer": stats.renderer,
        "size": args.size,
        "frames": stats.frames,
        "chunk": args.chunk,
        "batch": args.batch if backend == "pytorch3d" else 1,
        "fps_end_to_end": stats.fps,
        "cpu_ms_per_frame": 1000 * cpu / stats.frames,
        "ms_per_frame": per_frame,
        "fps_by_stage": {k: (1000 / v if v > 0 else None) for k, v in per_frame.items()},
    }


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg): a load-independent cost."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def shipped_pytorch3d(rig: BenchRig, args: argparse.Namespace, batch: int) -> dict:
    """PyTorch3D as shipped: HardPhongShader, one DirectionalLight, Meshes-computed normals."""
    import pytorch3d.renderer as p3r
    from pytorch3d.structures import Meshes

    from emote.render.pytorch3d_backend import pytorch3d_camera

    device = torch.device(args.device)
    settings = RenderSettings(width=args.size, height=args.size)
    scene = Scene.for_mesh(rig.neutral, rig.faces, rig.colors, settings)
    cameras = pytorch3d_camera(scene.camera, device=device)
    renderer = p3r.MeshRenderer(
        rasterizer=p3r.MeshRasterizer(
            cameras=cameras,
            raster_settings=p3r.RasterizationSettings(image_size=args.size, faces_per_pixel=1),
        ),
        shader=p3r.HardPhongShader(
            device=device, cameras=cameras, lights=p3r.DirectionalLights(device=device)
        ),
    )
    faces = torch.from_numpy(rig.faces.astype(np.int64)).to(device)
    colors = torch.from_numpy(rig.colors).to(device)
    curves = speech_like_curves(args.frames, args.fps, audio=args.audio)
    n = args.frames

    def run(stop: int) -> None:
        for start in range(0, stop, batch):
            verts = rig.pose(curves[start : start + batch], device=device)
            b = len(verts)
            meshes = Meshes(verts=verts, faces=faces.expand(b, -1, -1),
                            textures=p3r.TexturesVertex(verts_features=colors.expand(b, -1, -1)))  # fmt: skip
            renderer(meshes)[..., :3].mul(255).clamp(0, 255).byte().cpu()

    run(min(n, 2 * batch))
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    run(n)
    seconds = time.perf_counter() - t0
    return {
        "rig": rig.name, "vertices": len(rig.neutral), "triangles": len(rig.faces),
        "backend": "pytorch3d-shipped", "renderer": f"HardPhongShader on {device}", "size": args.size,
        "frames": n, "batch": batch, "fps_end_to_end": n / seconds,
        "note": "pose + render + read-back, no encoding (the issue's baseline)",
    }  # fmt: skip


def evidence(rig: BenchRig, args: argparse.Namespace, out_dir: Path) -> list[str]:
    """A contact sheet of the line and a 4-emotion grid (MP4 + a still of one grid frame)."""
    from emote.render import render_grid, render_preview_png
    from emote.render.video import ffmpeg_exe

    device = args.device if args.device.startswith("cuda") else None
    backend = "auto"
    curves = speech_like_curves(args.frames, args.fps, audio=args.audio)
    anim = FaceAnimation(args.fps, curves, {})
    sheet = out_dir / f"render_{rig.name}.png"
    render_preview_png(
        rig, anim, sheet, n=8, settings=RenderSettings(width=256, height=256), renderer=backend, device=device
    )
    grid = out_dir / f"grid_{rig.name}.mp4"
    anims = [
        (e, FaceAnimation(args.fps, with_emotion(curves, e), {}))
        for e in ("happy", "sad", "angry", "surprised")
    ]
    render_grid(
        rig,
        anims,
        grid,
        settings=RenderSettings(width=256, height=256),
        renderer=backend,
        audio=args.audio,
        device=device,
    )
    still = out_dir / f"grid_{rig.name}.png"
    at = f"{min(args.frames - 1, int(args.fps * 1.3)) / args.fps:.3f}"
    import subprocess

    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-ss", at, "-i", str(grid), "-frames:v", "1", str(still)],
        check=True,
    )
    return [str(sheet), str(grid), str(still)]


# -- CLI ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rigs", default="ict,default", help="comma list of ict, default, rocketbox")
    p.add_argument(
        "--backends", default=None, help="comma list (default: opengl on CPU, pytorch3d,opengl on CUDA)"
    )
    p.add_argument("--device", default="cpu", help="torch device for posing and PyTorch3D (cpu, cuda)")
    p.add_argument("--size", type=int, default=512)
    p.add_argument(
        "--frames", type=int, default=None, help="frames per run (default: the audio's length, else 300)"
    )
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--chunk", type=int, default=64)
    p.add_argument("--batch", type=int, default=32, help="PyTorch3D frames per rasteriser call")
    p.add_argument("--audio", type=Path, default=None, help="audio to mux (encoding cost includes it)")
    p.add_argument("--ict", type=Path, default=SHARED / "rigs" / "ict-facekit")
    p.add_argument("--rocketbox", type=Path, default=SHARED / "rigs" / "rocketbox_male_adult_03.glb")
    p.add_argument("--baseline", action="store_true", help="also PyTorch3D as shipped (HardPhongShader)")
    p.add_argument(
        "--evidence", action="store_true", help="also write a contact sheet and a 4-emotion grid per rig"
    )
    p.add_argument("--out", type=Path, default=REPO / "bench_out" / "render.json")
    args = p.parse_args(argv)
    if args.frames is None:
        args.frames = 300
        if args.audio is not None:
            import soundfile as sf

            args.frames = int(sf.info(args.audio).duration * args.fps)
    cuda = args.device.startswith("cuda")
    backends = (
        args.backends.split(",") if args.backends else (["pytorch3d", "opengl"] if cuda else ["opengl"])
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    loaders = {
        "ict": lambda: load("ict", args.ict),
        "default": load_default,
        "rocketbox": lambda: load("rocketbox", args.rocketbox),
    }

    results: list[dict] = []
    for name in args.rigs.split(","):
        t0 = time.perf_counter()
        rig = loaders[name]()
        print(f"{name}: {len(rig.neutral)} vertices, {len(rig.faces)} triangles ({rig.source}; "
              f"loaded in {time.perf_counter() - t0:.1f} s)", flush=True)  # fmt: skip
        for backend in backends:
            try:
                results.append(end_to_end(rig, backend, args, args.out.parent))
            except Exception as e:  # one backend failing (no EGL on a GPU box) must not stop the rest
                results.append({"rig": name, "backend": backend, "error": f"{type(e).__name__}: {e}"})
            print(" ", _row(results[-1]), flush=True)
        if args.evidence:
            for path in evidence(rig, args, args.out.parent):
                print("  wrote", path, flush=True)
        if args.baseline:
            for batch in sorted({1, args.batch}):
                try:
                    results.append(shipped_pytorch3d(rig, args, batch))
                except Exception as e:
                    results.append(
                        {
                            "rig": name,
                            "backend": "pytorch3d-shipped",
                            "batch": batch,
                            "error": f"{type(e).__name__}: {e}",
                        }
                    )
                print(" ", _row(results[-1]), flush=True)

    print()
    print(
        f"{'rig':10} {'backend':18} {'batch':>5} {'fps e2e':>8} {'pose':>7} {'normals':>7} {'render':>7}"
        f" {'encode':>7} {'cpu':>7}  (ms/frame; cpu = CPU time of all threads and ffmpeg)"
    )
    for r in results:
        print(_row(r))
    meta = {
        "python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine(),
        "processor": platform.processor(), "cpus": os.cpu_count(), "device": args.device,
        "cuda_device": torch.cuda.get_device_name() if cuda and torch.cuda.is_available() else None,
        "size": args.size, "frames": args.frames, "chunk": args.chunk,
        "load_average": os.getloadavg(),
    }  # fmt: skip
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"\nwrote {args.out}")
    return 0


def _row(r: dict) -> str:
    if "error" in r:
        return f"{r['rig']:10} {r['backend']:18} error: {r['error']}"
    ms = r.get("ms_per_frame", {})
    cols = " ".join(
        f"{ms[k]:7.1f}" if k in ms else f"{'-':>7}" for k in ("pose", "normals", "render", "encode")
    )
    cols += f" {r['cpu_ms_per_frame']:7.1f}" if "cpu_ms_per_frame" in r else f" {'-':>7}"
    return f"{r['rig']:10} {r['backend']:18} {r.get('batch', 1):5d} {r['fps_end_to_end']:8.1f} {cols}"


if __name__ == "__main__":
    raise SystemExit(main())
