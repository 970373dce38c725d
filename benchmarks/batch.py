"""Batch throughput: jobs/s and × real time for 200 voice lines, local pool and Ray, 1 and 2 workers.

Makes 200 lines of 2–8 s speech with espeak-ng (24 distinct clips, each used under
several emotions and seeds; half the lines carry their transcript, half are
recognised), then runs ``emote batch`` on them into a fresh folder per setting:

- ``local`` with 1 and 2 worker processes,
- ``ray`` on a local Ray instance with 1 and 2 CPUs (its start-up timed apart),
- a re-run of a finished batch (every line skipped: the cost of a no-op resume).

Peak memory is per worker process (ru_maxrss as the workers report it).

    python benchmarks/batch.py [--lines 200] [--out bench_out/batch.json]
    python benchmarks/batch.py --hour [--out bench_out/hour.json]   # emote.animate on 1 h of audio

``--hour`` tiles examples/hello.wav to an hour (FLAC), and runs ``emote.animate`` in a fresh
process each on an hour of silence, on the speech with its phone timings (tiled alike) and on
the speech recognised chunk by chunk, reporting wall time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import write_results
from espeak_lines import SENTENCES, require_espeak, speak

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

EMOTIONS = ["neutral", "happy", "sad", "surprised", "fear", "disgusted", "angry", "contempt"]


def make_lines(folder: Path, n_lines: int, seed: int = 0) -> Path:
    """24 espeak-ng clips of 2–8 s and an n-line manifest over them; returns the manifest."""
    import soundfile as sf

    require_espeak()
    rng = random.Random(seed)
    clips: list[tuple[str, str]] = []
    while len(clips) < 24:
        text = " ".join(rng.sample(SENTENCES, rng.randint(1, 3)))
        name = f"clip_{len(clips):02d}.wav"
        speed = rng.randint(140, 190)
        speak(folder / name, text, speed=speed)
        duration = sf.info(folder / name).duration
        if 2.0 <= duration <= 8.0:
            clips.append((name, text))
        else:
            (folder / name).unlink()
    rows = []
    for k in range(n_lines):
        name, text = clips[k % len(clips)]
        row = {"audio": name, "emotion": EMOTIONS[k % len(EMOTIONS)], "intensity": round(0.4 + 0.6 * rng.random(), 2),
               "seed": k, "output": f"line_{k:04d}"}  # fmt: skip
        if k % 2 == 0:
            row["text"] = text
        rows.append(json.dumps(row))
    manifest = folder / "lines.jsonl"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def run_once(manifest: Path, out: Path, *, runner: str, workers: int) -> dict:
    from emote.batch import BatchSettings, run_batch

    summary = run_batch(manifest, out, settings=BatchSettings(runner=runner, workers=workers))
    assert summary.failed == 0, [f.error for f in summary.failures]
    return {
        "runner": runner,
        "workers": workers,
        "jobs": summary.total,
        "done": summary.done,
        "skipped": summary.skipped,
        "seconds": round(summary.seconds, 2),
        "jobs_per_s": round(summary.jobs_per_second, 2),
        "x_realtime": round(summary.realtime_factor, 1),
        "audio_seconds": round(summary.audio_seconds, 1),
        "peak_rss_mb_per_worker": sorted(round(v, 1) for v in summary.peak_rss_mb.values()),
    }


def throughput(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="emote-batch-bench-"))
    try:
        manifest = make_lines(work, args.lines)
        runs = []
        for workers in (1, 2):
            runs.append(run_once(manifest, work / f"local{workers}", runner="local", workers=workers))
            print(runs[-1], file=sys.stderr)
        resume = run_once(manifest, work / "local2", runner="local", workers=2)
        resume["runner"] = "local (re-run, all up to date)"
        runs.append(resume)
        try:
            import ray
        except ImportError:
            ray = None
            print("ray not installed: skipping the Ray runs", file=sys.stderr)
        if ray is not None:
            for workers in (1, 2):
                t = time.perf_counter()
                ray.init(
                    num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level="warning"
                )
                init_s = time.perf_counter() - t
                try:
                    result = run_once(manifest, work / f"ray{workers}", runner="ray", workers=workers)
                finally:
                    ray.shutdown()
                result["ray_init_s"] = round(init_s, 2)
                runs.append(result)
                print(runs[-1], file=sys.stderr)
        return {"benchmark": "batch", "lines": args.lines, "cpus": os.cpu_count(), "runs": runs}
    finally:
        shutil.rmtree(work, ignore_errors=True)


HOUR_CHILD = r"""
import json, resource, sys, time
import emote
from emote.batch.job import peak_rss_mb
t = time.perf_counter()
try:
    anim = emote.animate(sys.argv[1], use_transcript_file=False, timings=sys.argv[2] or None)
    result = {"frames": anim.n_frames, "phones_source": anim.metadata["phones_source"], "error": None}
except Exception as err:  # an EmoteError, or a bug: report it with the memory used so far
    result = {"error": f"{type(err).__name__}: {err}"}
result["seconds"] = time.perf_counter() - t
result["peak_rss_mb"] = peak_rss_mb()
print(json.dumps(result))
"""


def hour(args: argparse.Namespace) -> dict:
    """emote.animate on an hour: silence, speech with phone timings, speech recognised."""
    import numpy as np
    import soundfile as sf

    from emote.audio.align import align
    from emote.audio.phones import Alignment, Phone
    from emote.audio.timings import write_phone_csv

    work = Path(tempfile.mkdtemp(prefix="emote-hour-"))
    try:
        y, sr = sf.read(REPO / "examples" / "hello.wav", dtype="float32")
        n = 3600 * sr
        speech, silence, timings = work / "speech.flac", work / "silence.flac", work / "phones.csv"
        paused = work / "speech_paused.flac"
        with sf.SoundFile(speech, "w", sr, 1, "PCM_16") as f:
            for start in range(0, n, y.size):
                f.write(y[: min(y.size, n - start)])
        # The same speech with a 0.5 s pause after each sentence (lines as actors read them).
        line = np.concatenate([y, np.zeros(sr // 2, np.float32)])
        with sf.SoundFile(paused, "w", sr, 1, "PCM_16") as f:
            for start in range(0, n, line.size):
                f.write(line[: min(line.size, n - start)])
        sf.write(silence, np.zeros(n, np.float32), sr, subtype="PCM_16")
        clip = align(y=y, sr=sr, text=(REPO / "examples" / "hello.txt").read_text())
        period = y.size / sr
        phones = [Phone(p.start + k * period, p.end + k * period, p.label)
                  for k in range(int(3600 // period)) for p in clip.phones]  # fmt: skip
        write_phone_csv(Alignment(phones, [], "csv"), timings)
        results = {}
        cases = (
            ("silence", silence, ""),
            ("speech+timings", speech, str(timings)),
            ("speech recognised", speech, ""),
            ("speech with pauses recognised", paused, ""),
        )
        for name, path, phone_file in cases:
            done = subprocess.run([sys.executable, "-c", HOUR_CHILD, str(path), phone_file], capture_output=True,
                                  text=True, check=True, cwd=REPO)  # fmt: skip
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
            print(name, results[name], file=sys.stderr)
        return {"benchmark": "hour", "audio_seconds": 3600, "cases": results}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def table(report: dict) -> str:
    if report["benchmark"] == "hour":
        lines = ["| input (1 h) | wall s | × real time | peak MiB | result |", "|---|---|---|---|---|"]
        for name, r in report["cases"].items():
            speed = f"{3600 / r['seconds']:.0f}" if r["error"] is None else "—"
            lines.append(f"| {name} | {r['seconds']:.1f} | {speed} | {r['peak_rss_mb']:.0f} | "
                         f"{r['error'] or str(r['frames']) + ' frames'} |")  # fmt: skip
        return "\n".join(lines)
    lines = [
        "| runner | workers | jobs | s | jobs/s | × real time | peak MiB per worker |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["runs"]:
        runner = r["runner"] + (f" (+{r['ray_init_s']} s start)" if "ray_init_s" in r else "")
        lines.append(f"| {runner} | {r['workers']} | {r['jobs']} | {r['seconds']} | {r['jobs_per_s']} | "
                     f"{r['x_realtime']} | {', '.join(map(str, r['peak_rss_mb_per_worker']))} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument(
        "--hour", action="store_true", help="emote.animate on an hour of speech and of silence"
    )
    parser.add_argument("--out", type=Path, help="write the JSON report here")
    args = parser.parse_args()
    report = hour(args) if args.hour else throughput(args)
    print(table(report))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {write_results('batch_hour' if args.hour else 'batch', report)}")


if __name__ == "__main__":
    main()
