"""How much past audio the neural engine's phone recogniser should hear in a stream.

Usage::

    python benchmarks/stream_context.py          # writes benchmarks/results/stream_context.json
    python benchmarks/stream_context.py --quick   # three clips
    python benchmarks/stream_context.py --checkpoint runs/x/model.pt --rows "window; left 2 s" --label x

The neural engine's network reads the phone recogniser's posteriors. hama's network attends
over all the audio it is given, so a stream's posteriors differ from the whole clip's: the
newest frames have heard little of what follows them, and a one-second window gives every
frame little of what precedes it. A stream can buy back the past (at a cost in CPU) but not
the future (that is latency). This measures the first: the neural engine (the stream's
default model) streamed over real speech with the posteriors from

- ``window``: the recogniser over each window's own audio (a second of context, the stream
  before :class:`~emote.stream.recognizer.LiveRecognizer` fed the neural engine);
- ``left L s``: a live recogniser that keeps its settled frames and hears ``L`` seconds
  before them (``neural_recognizer_left``), for several ``L``, and at 2 s with more look-ahead
  than the default 0.14 s;

against the same clip animated offline. The clips are every 40th LibriSpeech utterance of
``shared/data/train-speech`` (real speakers; not the test speech of ``benchmarks/stream.py``,
so a default chosen here is not tuned on the clips that grade it). Measures, streamed vs
offline: the share of the offline curves' lip closures (runs of frames with ``lip_gap_proxy``
< 1.5 mm) that the stream also closes (within a frame), the stream's closures that offline
has none near, the same two on the default head's posed mesh (``emote.eval.mesh``, lip gap
< 1.5 mm), the mouth-curve MAE, and CPU seconds per second of audio (process time).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import multiprocessing as mp  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_results  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LIBRISPEECH = REPO.parent / "shared" / "data" / "train-speech" / "librispeech"
FPS = 30.0
ROWS: dict[str, dict] = {
    "window": {"recognizer_left": None},
    "left 0.8 s": {"neural_recognizer_left": 0.8},
    "left 2 s": {"neural_recognizer_left": 2.0},
    "left 3 s": {"neural_recognizer_left": 3.0},
    "left 4 s": {"neural_recognizer_left": 4.0},
    # More look-ahead: frames older than the recogniser's 0.2 s right context are kept as they
    # settled, so the posteriors hear no more of the future however long the stream waits.
    "left 2 s, look-ahead 0.2 s": {"neural_recognizer_left": 2.0, "latency": 0.2},
    "left 2 s, look-ahead 0.5 s": {"neural_recognizer_left": 2.0, "latency": 0.5},
}


def closures(gap: np.ndarray) -> list[tuple[int, int]]:
    """Runs ``[a, b)`` of frames whose lip gap is under 1.5 mm."""
    shut = np.concatenate([[False], gap < 1.5, [False]])
    edges = np.flatnonzero(np.diff(shut.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def found(events: list[tuple[int, int]], gap: np.ndarray) -> int:
    """How many of ``events`` are closed in ``gap`` too, within one frame."""
    return sum(bool(gap[max(a - 1, 0) : b + 1].min() < 1.5) for a, b in events)


def offline_curves(paths: list[Path], model: str | None = None) -> list[np.ndarray]:
    import emote
    from emote.performance import PerformanceSettings
    from emote.stream.core import NEURAL_MODEL

    still = PerformanceSettings(blinks=False, gaze=False, head=False)
    return [emote.animate(p, engine="neural", model=model or NEURAL_MODEL, use_transcript_file=False, fps=FPS,
                          performance=still).curves for p in paths]  # fmt: skip


def measure(job: tuple[str, dict, list[Path], list[np.ndarray]]) -> dict:
    """One row: every clip streamed (20 ms pieces, as fast as possible) against its offline curves."""
    import torch
    from stream import streamed  # benchmarks/stream.py: 20 ms pushes as fast as possible, CPU time

    from emote.animation.channels import MOUTH_NAMES, indices
    from emote.audio.io import load_audio
    from emote.eval.mesh import MeshJudge
    from emote.eval.metrics import lip_gap_proxy
    from emote.rigs.registry import load_rig

    torch.set_num_threads(1)
    label, settings, paths, offline = job
    mouth = indices(list(MOUTH_NAMES))
    judge = MeshJudge(load_rig("default"))  # the lip gap on the default head's posed mesh, mm
    kept = total = extra = streamed_total = 0
    mesh_kept = mesh_total = mesh_extra = 0
    mae, cpu, seconds = [], 0.0, 0.0
    for path, off in zip(paths, offline, strict=True):
        y = load_audio(path).samples
        curves, _, busy = streamed(y, "neural", FPS, **settings)
        cpu += busy
        seconds += y.size / 16000
        n = min(len(curves), len(off))
        g_off, g_str = lip_gap_proxy(off[:n]), lip_gap_proxy(curves[:n])
        e_off, e_str = closures(g_off), closures(g_str)
        kept += found(e_off, g_str)
        total += len(e_off)
        extra += len(e_str) - found(e_str, g_off)
        streamed_total += len(e_str)
        m_off, m_str = judge.lip_gap(off[:n]), judge.lip_gap(curves[:n])
        me_off, me_str = closures(m_off), closures(m_str)
        mesh_kept += found(me_off, m_str)
        mesh_total += len(me_off)
        mesh_extra += len(me_str) - found(me_str, m_off)
        mae.append((float(np.abs(curves[:n, mouth] - off[:n, mouth]).mean()), n))
    row = {"settings": settings, "offline_closures": total, "closures_kept": kept, "closure_recall": kept / total,
           "streamed_closures": streamed_total, "closures_offline_lacks": extra,
           "mesh_offline_closures": mesh_total, "mesh_closure_recall": mesh_kept / max(mesh_total, 1),
           "mesh_closures_offline_lacks": mesh_extra,
           "mouth_mae": sum(m * k for m, k in mae) / sum(k for _, k in mae), "cpu_per_audio_second": cpu / seconds}  # fmt: skip
    print(f"  {label:<12} recall {row['closure_recall']:.3f} ({kept}/{total}), extra {extra}, "
          f"mesh {row['mesh_closure_recall']:.3f} ({mesh_kept}/{mesh_total}), extra {mesh_extra}, "
          f"MAE {row['mouth_mae']:.4f}, cpu/s {row['cpu_per_audio_second']:.3f}", flush=True)  # fmt: skip
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="three clips")
    ap.add_argument("--jobs", type=int, default=2, help="rows measured side by side (one core each)")
    ap.add_argument("--checkpoint", help="another model file, streamed and offline (default: the stream's)")
    ap.add_argument(
        "--rows", help="the rows to measure, separated by semicolons (row names hold commas; default: all)"
    )
    ap.add_argument("--label", help="write results/stream_context_LABEL.json (with --checkpoint or --rows)")
    ap.add_argument("--held-out", action="store_true",
                    help="every 3rd clip of the speakers the training data holds out (its val split), "
                    "for models that trained on the other clips' stream posteriors")  # fmt: skip
    args = ap.parse_args()
    rows_asked = {
        k: v for k, v in ROWS.items() if not args.rows or k in [r.strip() for r in args.rows.split(";")]
    }
    if args.checkpoint:
        rows_asked = {k: {**v, "checkpoint": args.checkpoint} for k, v in rows_asked.items()}
    if args.held_out:
        from emote.training.data.speech import SpeechSettings, find_clips, held_out

        share = SpeechSettings().val_share
        paths = [Path(c.path) for c in find_clips(LIBRISPEECH) if held_out(c, share)][::3]
    else:
        paths = sorted(LIBRISPEECH.glob("*.opus"))[::40]
    paths = paths[: 3 if args.quick else None]
    if not paths:
        sys.exit(f"stream_context: no LibriSpeech clips in {LIBRISPEECH}")
    print(f"{len(paths)} clips; offline curves ...", flush=True)
    offline = offline_curves(paths, args.checkpoint)
    jobs = [(label, settings, paths, offline) for label, settings in rows_asked.items()]
    with mp.get_context("fork").Pool(args.jobs) as pool:
        rows = dict(zip(rows_asked, pool.map(measure, jobs, chunksize=1), strict=True))
    from emote.audio.io import load_audio

    report = {"clips": [p.name for p in paths], "seconds": sum(load_audio(p).duration for p in paths),
              "fps": FPS, "checkpoint": args.checkpoint, "held_out": args.held_out, "load_average_at_start": os.getloadavg(), "rows": rows}  # fmt: skip
    if not args.quick and (args.label or not (args.checkpoint or args.rows)):
        print("wrote", write_results("stream_context" + (f"_{args.label}" if args.label else ""), report))


if __name__ == "__main__":
    main()
