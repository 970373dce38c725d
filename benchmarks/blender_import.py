"""How long the Blender add-on takes to import 1, 10 and 60 minutes of 60 fps curves.

For each Blender found (the ``bpy`` wheels of ``EMOTE_BPY_PYTHONS`` or
``~/.cache/emote/bpy-4.2`` and ``bpy-5.0``), each length and each format (emote
JSON, Live Link Face CSV), a fresh Blender process imports the file onto a mesh
with all 52 ARKit shape keys and every channel moving (the worst case: no
constant curve is compacted), in the two steps of the import operator: the file
read (``emote.export.read``) and the keying (``emote.blender.apply.apply_animation``:
matching, one action, bulk keyframes, scene set-up). Reported: both times, the
keyframes written and the process's peak memory.

    python benchmarks/blender_import.py [--minutes 1 10 60] [--formats json csv] [--out bench_out/blender_import.json]

The target (issue 5): a 10-minute clip imports in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results  # noqa: E402

from emote.animation.channels import N_ARKIT, N_CHANNELS  # noqa: E402
from emote.animation.face_animation import FaceAnimation  # noqa: E402

FPS = 60.0
DEFAULT_VENVS = ("bpy-4.2", "bpy-5.0")

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import bpy, addon_utils
bpy.ops.wm.read_factory_settings(use_empty=True)
addon_utils.enable("emote.blender", default_set=True)
from emote.animation.channels import ARKIT_NAMES
from emote.export import read
from emote.blender.apply import ImportOptions, apply_animation
from emote.batch.job import peak_rss_mb
bpy.ops.mesh.primitive_plane_add()
obj = bpy.context.object
obj.shape_key_add(name="Basis")
for name in ARKIT_NAMES:
    obj.shape_key_add(name=name[0].lower() + name[1:])  # Apple's spelling: matched, not identical
path = sys.argv[2]
t = time.perf_counter()
anim = read(path)
read_s = time.perf_counter() - t
t = time.perf_counter()
apply_animation(anim, bpy.context.scene, [obj], ImportOptions())  # what the operator runs after reading
key_s = time.perf_counter() - t
action = obj.data.shape_keys.animation_data.action
fcurves = action.layers[0].strips[0].channelbags[0].fcurves if hasattr(action, "layers") and action.layers else action.fcurves
keys = sum(len(fc.keyframe_points) for fc in fcurves)
bpy.context.scene.frame_set(anim.n_frames // 2 + 1)
check = abs(obj.data.shape_keys.key_blocks["jawOpen"].value - float(anim.channel("JawOpen")[anim.n_frames // 2]))
print("RESULT " + json.dumps({
    "blender": bpy.app.version_string, "frames": anim.n_frames, "read_s": read_s,
    "key_s": key_s, "total_s": read_s + key_s, "keys": keys, "max_error": check,
    "peak_rss_mb": peak_rss_mb(),
}))
"""


def bpy_pythons() -> list[str]:
    listed = os.environ.get("EMOTE_BPY_PYTHONS")
    if listed:
        candidates = [p for p in listed.split(os.pathsep) if p]
    else:
        candidates = [str(Path.home() / ".cache" / "emote" / v / "bin" / "python") for v in DEFAULT_VENVS]
    return [p for p in candidates if Path(p).is_file()]


def moving_curves(minutes: float, seed: int = 0) -> FaceAnimation:
    """Smooth curves on all 61 channels: a sum of three random sinusoids each."""
    n = round(minutes * 60 * FPS)
    rng = np.random.default_rng(seed)
    t = (np.arange(n, dtype=np.float32) / FPS)[:, None]
    curves = np.zeros((n, N_CHANNELS), np.float32)
    for _ in range(3):
        freq = rng.uniform(0.2, 4.0, N_CHANNELS).astype(np.float32)
        phase = rng.uniform(0, 2 * np.pi, N_CHANNELS).astype(np.float32)
        curves += np.sin(2 * np.pi * freq * t + phase) / 6
    curves[:, :N_ARKIT] += 0.5
    curves[:, N_ARKIT:] *= 0.5
    return FaceAnimation(FPS, curves, {"engine": "benchmark"})


def run(python: str, path: Path) -> dict:
    proc = subprocess.run(
        [python, "-c", CHILD, str(REPO), str(path)], capture_output=True, text=True, check=False
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        sys.exit(f"{python}: import failed\n{(proc.stdout + proc.stderr)[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60])
    parser.add_argument("--formats", nargs="+", default=["json", "csv"], choices=["json", "csv"])
    parser.add_argument("--out", type=Path, default=Path("bench_out/blender_import.json"))
    args = parser.parse_args()
    pythons = bpy_pythons()
    if not pythons:
        sys.exit(
            "no Python with the bpy wheel: set EMOTE_BPY_PYTHONS or create ~/.cache/emote/bpy-4.2 / bpy-5.0"
        )

    rows = []
    print(
        f"{'blender':>14} {'min':>4} {'fmt':>4} {'frames':>7} {'keys':>9} {'MB':>5} {'read s':>7} {'key s':>6} {'total s':>7} {'RSS MB':>7}"
    )
    with tempfile.TemporaryDirectory(prefix="emote-bench-") as tmp:
        for minutes in args.minutes:
            anim = moving_curves(minutes)
            for fmt in args.formats:
                path = Path(tmp) / f"take_{minutes:g}min.{fmt}"
                anim.save(path)
                size_mb = path.stat().st_size / 2**20
                for python in pythons:
                    r = run(python, path)
                    r.update(minutes=minutes, format=fmt, file_mb=size_mb)
                    rows.append(r)
                    print(
                        f"{r['blender']:>14} {minutes:>4g} {fmt:>4} {r['frames']:>7} {r['keys']:>9} {size_mb:>5.0f} "
                        f"{r['read_s']:>7.2f} {r['key_s']:>6.2f} {r['total_s']:>7.2f} {r['peak_rss_mb']:>7.0f}",
                        flush=True,
                    )
                path.unlink()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"fps": FPS, "channels": N_CHANNELS, "results": rows}
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out} and {write_results('blender_import', report)}")


if __name__ == "__main__":
    main()
