"""Peak memory of `emote animate` against the frame count: is memory bounded by the frame limit?

Animates a synthetic 2-minute clip (all four curve formats, recognised phones) at frame rates
up to the 1000 fps limit, each run in a fresh process, and reports its peak resident memory.
Memory grows with the frame count (the curves themselves and the performance layer's
per-frame arrays) but not with anything else the input controls; the slope times
``EMOTE_MAX_FRAMES`` is the most any accepted input can cost.

    python benchmarks/memory_limits.py [--seconds 120]      # -> benchmarks/results/memory_limits.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from emote.batch.job import peak_rss_mb
from emote.cli.main import main
t = time.perf_counter()
code = main(["animate", sys.argv[1], "-o", sys.argv[2], "-q", "--fps", sys.argv[3]])
print(json.dumps({"rc": code, "seconds": time.perf_counter() - t,
                  "peak_mib": peak_rss_mb()}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--fps", default="30,240,1000")
    args = parser.parse_args()
    from emote.limits import limit

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        audio = Path(tmp) / "speech.wav"
        sr = 16000
        t = np.arange(int(args.seconds * sr)) / sr
        sf.write(
            audio,
            (0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32),
            sr,
        )
        for fps in (float(f) for f in args.fps.split(",")):
            done = subprocess.run([sys.executable, "-c", CHILD, str(audio), str(Path(tmp) / "out"), f"{fps:g}"],
                                  capture_output=True, text=True, check=True, cwd=REPO)  # fmt: skip
            result = json.loads(done.stdout.strip().splitlines()[-1])
            frames = round(args.seconds * fps) + 1
            rows.append({"fps": fps, "frames": frames, **result})
            print(
                f"{fps:7g} fps {frames:8d} frames  peak {result['peak_mib']:7.0f} MiB  {result['seconds']:6.1f} s"
            )
    (small, large) = rows[0], rows[-1]
    slope = (large["peak_mib"] - small["peak_mib"]) / (large["frames"] - small["frames"])
    most = small["peak_mib"] + slope * (limit("frames") - small["frames"])
    print(
        f"slope {slope * 1024:.2f} KiB a frame; at the {limit('frames'):.0f}-frame limit about {most:.0f} MiB"
    )
    from _results import write_results  # benchmarks/ is on sys.path when a script runs

    path = write_results("memory_limits", {
        "audio_seconds": args.seconds, "runs": rows, "kib_per_frame": slope * 1024,
        "frame_limit": limit("frames"), "peak_mib_at_frame_limit": most,
    })  # fmt: skip
    print(path)


if __name__ == "__main__":
    main()
