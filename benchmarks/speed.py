"""× real time of the curve pipeline on one CPU core, split by stage, and peak memory.

Makes a 60 s speech clip with espeak-ng (or takes ``--audio``), then runs
``emote.animate`` + every curve export in a fresh process pinned to one core
(``taskset``, one BLAS/torch thread), with and without the transcript.

    python benchmarks/speed.py [--audio clip.wav --text-file clip.txt] [--out bench_out/speed.json]

Prints a table and writes JSON. Targets (issue 2): whole pipeline ≥ 50× real time,
engine alone ≥ 1000×.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _results import write_results
from espeak_lines import SENTENCES, require_espeak, speak

CHILD = r"""
import json, resource, sys, time, tempfile, os
from pathlib import Path
t0 = time.perf_counter()
import emote
from emote.batch.job import peak_rss_mb
from emote.export import write
audio, text, out = sys.argv[1], sys.argv[2] or None, Path(sys.argv[3])
import_s = time.perf_counter() - t0
t = time.perf_counter()
anim = emote.animate(audio, text=text, use_transcript_file=False, emotion="happy", intensity=0.8,
                     stage_timings=True)
total = time.perf_counter() - t
stages = dict(anim.metadata["timings"])
t = time.perf_counter()
for name, fmt in (("a.csv", "livelink"), ("a.json", "json"), ("a.npz", "npz"), ("a.metahuman.csv", "metahuman")):
    write(anim, out / name, format=fmt)
stages["export"] = time.perf_counter() - t
print(json.dumps({"duration": anim.metadata["audio_duration"], "animate_s": total, "stages": stages,
                  "import_s": import_s, "peak_rss_mb": peak_rss_mb()}))
"""


def make_clip(folder: Path, seconds: float) -> tuple[Path, str]:
    """Speak the sentences with espeak-ng until the clip is ``seconds`` long (16 kHz wav)."""
    require_espeak(" or pass --audio")
    words_per_second = 2.6  # espeak-ng at 160 wpm
    n = max(1, round(seconds * words_per_second / 8))
    sentences = SENTENCES[:8]  # the clip the README's figures were measured on
    text = " ".join((sentences * (n // len(sentences) + 1))[:n])
    wav = folder / "clip.wav"
    speak(wav, text, speed=160, voice="en-us")
    return wav, text


def run_child(audio: Path, text: str | None, out: Path) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, "-c", CHILD, str(audio), text or "", str(out)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"benchmark child failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--audio", type=Path, help="clip to time (default: 60 s of espeak-ng speech)")
    ap.add_argument("--text-file", type=Path, help="its transcript")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--out", type=Path, default=Path("bench_out/speed.json"))
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.audio:
            audio, text = args.audio, args.text_file.read_text() if args.text_file else None
        else:
            audio, text = make_clip(tmp, args.seconds)
        rows = {}
        for mode, t in (("recognition", None), ("alignment", text)):
            if mode == "alignment" and not t:
                continue
            rows[mode] = run_child(audio, t, tmp)

    print(f"{'mode':<12} {'stage':<12} {'seconds':>9} {'x real time':>12}")
    for mode, r in rows.items():
        d = r["duration"]
        stages = dict(r["stages"])
        stages["TOTAL"] = r["animate_s"] + stages["export"]
        for stage, s in stages.items():
            print(f"{mode:<12} {stage:<12} {s:9.3f} {d / max(s, 1e-9):12.0f}")
        print(f"{mode:<12} {'peak RSS':<12} {r['peak_rss_mb']:8.0f}M   (import {r['import_s']:.2f} s)")
    result = {
        "clip_seconds": next(iter(rows.values()))["duration"],
        "cpu_cores": 1,
        "modes": {
            m: {
                "x_real_time_total": r["duration"] / (r["animate_s"] + r["stages"]["export"]),
                "x_real_time_engine": r["duration"] / max(r["stages"]["engine"], 1e-9),
                **r,
            }
            for m, r in rows.items()
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out} and {write_results('speed', result)}")


if __name__ == "__main__":
    main()
