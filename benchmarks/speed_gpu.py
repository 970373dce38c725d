"""× real time of the neural engine over a batch of clips, its network on a GPU.

Two measurements, both through the engine's own code (:mod:`emote.engines.neural`):

(a) **network alone**: the shipped model's network on ``--device``, its inputs
    (features precomputed, cut into ``--window``-second windows) already there,
    for each of ``--batch-sizes`` windows per call; also with the copies to and
    from the device.
(b) **end to end**: audio files → decoded and featurised (log-mel + the phone
    recogniser's posteriors, numpy) in a process pool over all CPU cores →
    :func:`~emote.engines.neural.animate_neural_batch` (network batched on the
    device, then the curves and closure pass back in the pool). The performance
    layer (blinks, gaze, head) and the file exports are not in it.

The clips travel as files: make them once with espeak-ng on a machine that has it,
then run the timing where the GPU is::

    python benchmarks/speed_gpu.py --make-clips .gpu/clips          # ~7 min of speech, ~13 MB
    python benchmarks/speed_gpu.py --clips .gpu/clips --device cuda --results-dir OUT

The clip set is passed ``--repeat`` times (features are computed each time: no cache), so
the pool works for seconds, not milliseconds. Prints a table and writes
``speed_gpu.json`` (through ``_results.py``). Aim (issue 13): ≥ 2000× real time batched on a GPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from _results import RESULTS, STARTED, write_results

TRACK = "happy"
FPS = 30.0


def make_clips(folder: Path, *, minutes: float) -> None:
    """Speak the benchmark sentences with espeak-ng, 1 to 4 per clip, into 16 kHz 16-bit WAVs."""
    import tempfile

    import soundfile as sf
    from espeak_lines import SENTENCES, require_espeak, speak

    from emote.audio.io import load_audio

    require_espeak()
    folder.mkdir(parents=True, exist_ok=True)
    total, i = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        while total < minutes * 60:
            n = 1 + i % 4
            text = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(n))
            raw = Path(tmp) / "raw.wav"
            speak(raw, text, speed=140 + 10 * (i % 5), voice=("en-us", "en", "en-us+f3")[i % 3])
            y = load_audio(raw).samples  # 16 kHz: the engine's rate, smaller than espeak's 22 kHz
            sf.write(folder / f"clip{i:03d}.wav", y, 16000, subtype="PCM_16")
            total += y.size / 16000
            i += 1
    print(f"wrote {i} clips, {total / 60:.1f} min, to {folder}")


# --- pool workers (module level: spawned processes import them) -------------------------------------


def _init_worker() -> None:
    """One thread per worker; the recogniser's model loaded before the clock starts."""
    import numpy as np

    from emote.audio.recognize import phone_posteriors

    phone_posteriors(np.zeros(16000, np.float32))


def _featurise(job: tuple[str, object]):
    """Decode a clip and compute the neural engine's features (what the engine's ``_features`` does)."""
    from emote.audio.io import load_audio
    from emote.nn.features import speech_features

    path, settings = job
    y = load_audio(path).samples
    return speech_features(y, sr=16000, settings=settings), y.size / 16000


# --- measurements ------------------------------------------------------------------------------------


def network_alone(
    features: list, *, device: str, batch_sizes: list[int], window: float, min_s: float
) -> list[dict]:
    """(a): the network on ``device`` over batches of equal windows, inputs already on the device."""
    import numpy as np
    import torch

    from emote.engines.neural import load, network, network_inputs

    cfg = load().config
    net = network(device=device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    rows_per_window = round(window * cfg.frame_rate) * cfg.features.mel_per_frame
    stream = np.concatenate(features)
    n_windows = max(1, stream.shape[0] // rows_per_window)
    windows = []
    for k in range(min(n_windows, max(batch_sizes))):
        piece = stream[k * rows_per_window : (k + 1) * rows_per_window]
        windows.append(network_inputs(piece, cfg, fps=cfg.frame_rate, n_frames=int(window * cfg.frame_rate),
                                      track=TRACK))  # fmt: skip
    seconds_per_window = len(windows[0][1]) / cfg.frame_rate
    report = []
    for b in batch_sizes:
        picked = [windows[k % len(windows)] for k in range(b)]
        mel = torch.from_numpy(np.stack([m for m, _ in picked]))
        weights = torch.from_numpy(np.stack([w for _, w in picked]))
        mel_d, weights_d = mel.to(device), weights.to(device)
        with torch.inference_mode():
            for _ in range(3):  # warm-up: kernels chosen, memory pooled
                net(mel_d, weights_d)
            sync()
            calls, t = 0, time.perf_counter()
            while calls < 5 or time.perf_counter() - t < min_s:
                net(mel_d, weights_d)
                calls += 1
            sync()
            net_s = (time.perf_counter() - t) / calls
            calls, t = 0, time.perf_counter()
            while calls < 5 or time.perf_counter() - t < min_s:
                net(mel.to(device), weights.to(device)).cpu()
                calls += 1
            sync()
            copy_s = (time.perf_counter() - t) / calls
        audio = b * seconds_per_window
        report.append({"batch": b, "window_s": seconds_per_window, "seconds_per_call": net_s,
                       "x_real_time": audio / net_s, "seconds_per_call_with_copies": copy_s,
                       "x_real_time_with_copies": audio / copy_s})  # fmt: skip
    return report


def end_to_end(clips: list[Path], *, device: str, batch: int, workers: int, repeat: int) -> tuple[dict, list]:
    """(b): files → features in a process pool → the network batched on ``device`` → curves in the pool.

    Returns the report and the features of the distinct clips (for (a)).
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    import torch

    from emote.audio.convert import n_frames_for
    from emote.engines.neural import animate_neural_batch, load, network

    cfg = load().config
    net = network(device=device)  # copied to the device and run once before the clock starts
    frames = 4 * cfg.stride
    with torch.inference_mode():
        net(
            torch.zeros(1, 2 * frames, cfg.features.width, device=device),
            torch.zeros(1, frames, 8, device=device),
        )
    t = time.perf_counter()
    # spawn, not fork: the parent holds torch (and CUDA) state a forked child must not inherit.
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker) as pool:
        started: set[int] = set()
        for _ in range(50):  # until every worker has started (its initializer done) and answered
            started |= set(pool.map(_pid, range(2 * workers)))
            if len(started) >= workers:
                break
        pool_start = time.perf_counter() - t
        jobs = [(str(c), cfg.features) for c in clips] * repeat
        t = time.perf_counter()
        featurised = list(pool.map(_featurise, jobs, chunksize=max(1, len(jobs) // (8 * workers))))
        features_s = time.perf_counter() - t
        features = [f for f, _ in featurised]
        duration = sum(d for _, d in featurised)
        n_frames = [n_frames_for(duration=d, fps=FPS) for _, d in featurised]
        stages: dict[str, float] = {}
        t = time.perf_counter()
        curves = animate_neural_batch(features, n_frames, fps=FPS, track=TRACK, device=device, batch_size=batch,
                                      timings=stages, map_fn=lambda f, jobs: pool.map(f, jobs, chunksize=4))  # fmt: skip
        batch_s = time.perf_counter() - t
    assert all(c.shape == (n, 61) for c, n in zip(curves, n_frames, strict=True))
    stages = {"features (pool)": features_s, **stages, "other": batch_s - sum(stages.values())}
    total = features_s + batch_s
    report = {"clips": len(jobs), "distinct_clips": len(clips), "audio_seconds": duration, "batch": batch,
            "workers": workers, "pool_start_s": pool_start, "seconds": total, "x_real_time": duration / total,
            "stages": stages, "stages_x_real_time": {k: duration / max(v, 1e-9) for k, v in stages.items()}}  # fmt: skip
    return report, features[: len(clips)]


def _pid(_: int) -> int:
    time.sleep(0.05)
    return os.getpid()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--make-clips", type=Path, metavar="DIR", help="only write the clips (needs espeak-ng), then stop"
    )
    ap.add_argument("--minutes", type=float, default=7.0, help="speech to make with --make-clips")
    ap.add_argument("--clips", type=Path, default=Path(".gpu/clips"), help="folder of the clips to time")
    ap.add_argument("--limit", type=int, help="time only the first N clips")
    ap.add_argument("--device", default="cuda", help="torch device of the network (cuda, cpu)")
    ap.add_argument("--batch-sizes", default="1,8,32,128,512", help="windows per network call in (a)")
    ap.add_argument("--window", type=float, default=10.0, help="seconds per window in (a)")
    ap.add_argument("--batch", type=int, default=128, help="clips per network call in (b)")
    ap.add_argument("--repeat", type=int, default=32, help="passes over the clip set in (b)")
    ap.add_argument(
        "--workers", type=int, default=len(os.sched_getaffinity(0)), help="feature processes in (b)"
    )
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the main process (--device cpu)")
    ap.add_argument("--min-seconds", type=float, default=1.0, help="least timing per batch size in (a)")
    ap.add_argument("--results-dir", type=Path, default=RESULTS, help="where speed_gpu.json goes")
    ap.add_argument(
        "--commit",
        help="the commit timed, recorded instead of the checkout's git HEAD (a device copy's .git can be stale)",
    )
    args = ap.parse_args()

    if args.make_clips:
        make_clips(args.make_clips, minutes=args.minutes)
        return
    clips = sorted(args.clips.glob("*.wav"))[: args.limit]
    if not clips:
        sys.exit(f"{args.clips}: no .wav clips (make them with --make-clips {args.clips})")
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit(f"--device {args.device}: no CUDA device here (use --device cpu)")
    # One torch thread by default: the pool has the cores, and spinning OpenMP threads on a busy
    # machine can be many times slower than one (benchmarks/README.md).
    torch.set_num_threads(args.threads)
    if args.commit:  # a device copy carries the working tree, but its .git may hold an older HEAD
        STARTED["commit"] = args.commit
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")  # pool workers

    e2e, features = end_to_end(
        clips, device=args.device, batch=args.batch, workers=args.workers, repeat=args.repeat
    )
    print(f"(b) end to end: {e2e['clips']} clips ({e2e['distinct_clips']} distinct), "
          f"{e2e['audio_seconds'] / 60:.1f} min of audio, {e2e['workers']} feature processes, "
          f"{e2e['batch']} clips per network call (pool start {e2e['pool_start_s']:.1f} s, not counted)")  # fmt: skip
    print(f"    {'stage':<18} {'seconds':>9} {'x real time':>12}")
    for stage, s in e2e["stages"].items():
        print(f"    {stage:<18} {s:9.3f} {e2e['audio_seconds'] / max(s, 1e-9):12.0f}")
    print(f"    {'TOTAL':<18} {e2e['seconds']:9.3f} {e2e['x_real_time']:12.0f}")

    from emote.engines.neural import load

    sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    alone = network_alone(
        features, device=args.device, batch_sizes=sizes, window=args.window, min_s=args.min_seconds
    )
    print(f"(a) network alone on {args.device}, {alone[0]['window_s']:g} s windows")
    print(f"    {'batch':>6} {'ms per call':>12} {'x real time':>12} {'with copies':>12}")
    for r in alone:
        print(f"    {r['batch']:>6} {1000 * r['seconds_per_call']:12.2f} {r['x_real_time']:12.0f} "
              f"{r['x_real_time_with_copies']:12.0f}")  # fmt: skip

    result = {"device": args.device, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              "model": Path(load().path).name, "track": TRACK, "fps": FPS, "network_alone": alone, "end_to_end": e2e}  # fmt: skip
    print(f"wrote {write_results('speed_gpu', result, folder=args.results_dir)}")


if __name__ == "__main__":
    main()
