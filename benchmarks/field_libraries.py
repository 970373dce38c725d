"""emote's hand-written signal and mesh code against the field libraries doing the same job.

Issue 16 item 8: use librosa and trimesh where they do the same job as fast; keep a hand-written
version only where a measurement says so. Each row times emote's function and the library's on
the same input (best of ``--repeat`` runs, one thread) and measures how far their outputs differ:

- ``mel_filterbank``: emote's Slaney filters vs ``librosa.filters.mel(norm="slaney")``.
- ``log_mel``: emote's centred STFT + filters vs ``librosa.feature.melspectrogram`` (same window,
  padding, filters) + log; what swapping it would do to the shipped neural network's curves
  (``emote.engines.neural.animate_neural`` on the same audio, features from each, against the
  engine's own run-to-run difference); and a fresh process's first call, imports included
  (what ``emote animate --engine neural`` pays once per run).
- ``yin``: emote's YIN (f0 + periodicity at the animation's frame instants, 0 where unvoiced) vs
  ``librosa.yin`` (f0 at a hop of whole samples, no voicing decision) and ``librosa.pyin``.
- ``vertex_normals`` (GLB export, numpy, one mesh) vs ``trimesh.Trimesh.vertex_normals``.
- ``obj``/``ply`` frame files (``emote.export.meshseq``) vs ``trimesh`` export, one posed frame.

Input: ``--seconds`` of real speech (the test recordings in ../shared/data/speech, looped), and the
default head. Prints a table and writes ``benchmarks/results/field_libraries.json``.

    python benchmarks/field_libraries.py [--seconds 60] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results  # noqa: E402

SPEECH = REPO.parent / "shared" / "data" / "speech"


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, object]:
    """Fastest wall seconds of ``repeat`` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def speech(seconds: float) -> np.ndarray:
    from emote.audio.io import load_audio

    clips = [load_audio(p).samples for p in sorted(SPEECH.glob("*.wav"))]
    if not clips:
        raise SystemExit(f"no test speech in {SPEECH}")
    y = np.concatenate(clips)
    return np.tile(y, int(np.ceil(seconds * 16000 / y.size)))[: int(seconds * 16000)].astype(np.float32)


def bench_mel(y: np.ndarray, repeat: int) -> list[dict]:
    import librosa

    from emote.audio.features import log_mel, mel_filterbank
    from emote.nn.features import FeatureSettings

    s = FeatureSettings()
    kw = dict(sr=s.sr, n_fft=s.n_fft, n_mels=s.n_mels, fmin=s.fmin, fmax=s.fmax)
    ours_fb = mel_filterbank.__wrapped__(**kw)
    t_ours, _ = best_of(repeat, lambda: mel_filterbank.__wrapped__(**kw))
    t_lib, lib_fb = best_of(repeat, lambda: librosa.filters.mel(**kw, norm="slaney", htk=False))
    rows = [{
        "what": "mel_filterbank (40 x 201)", "emote_s": t_ours, "library": "librosa.filters.mel", "library_s": t_lib,
        "max_abs_diff": float(np.abs(ours_fb - lib_fb).max()), "max_value": float(ours_fb.max()),
    }]  # fmt: skip

    def ours():
        return log_mel(y=y, sr=s.sr, n_mels=s.n_mels, hop_length=s.hop_length, n_fft=s.n_fft,
                       fmin=s.fmin, fmax=s.fmax)  # fmt: skip

    def librosa_log_mel(*, y, sr, n_mels=80, hop_length=160, n_fft=400, fmin=0.0, fmax=None):
        m = librosa.feature.melspectrogram(
            y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, window="hann", center=True,
            pad_mode="reflect", power=2.0, n_mels=n_mels, fmin=fmin, fmax=fmax, norm="slaney", htk=False,
        )  # fmt: skip
        return np.log(np.maximum(m.T, 1e-10)).astype(np.float32)

    def lib():
        return librosa_log_mel(y=y, sr=s.sr, n_mels=s.n_mels, hop_length=s.hop_length, n_fft=s.n_fft,
                               fmin=s.fmin, fmax=s.fmax)  # fmt: skip

    lib()  # librosa's first call pays for imports and numba compilation: timed separately
    t_ours, a = best_of(repeat, ours)
    t_lib, b = best_of(repeat, lib)
    diff = np.abs(a - b)
    rows.append({
        "what": f"log_mel ({len(y) / 16000:.0f} s, 40 mels, 10 ms hop)", "emote_s": t_ours,
        "library": "librosa.feature.melspectrogram + log", "library_s": t_lib,
        "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()), "bit_identical": bool(diff.max() == 0),
        "network_curves": network_effect(y, librosa_log_mel),
        "fresh_process": cold_start(min(repeat, 3)),
    })  # fmt: skip
    return rows


COLD = {
    "emote": "from emote.audio.features import log_mel; log_mel(y=y, sr=16000, n_mels=40, fmin=50.0, fmax=7600.0)",
    "librosa": "import librosa; librosa.feature.melspectrogram(y=y, sr=16000, n_fft=400, hop_length=160, "
    "n_mels=40, fmin=50.0, fmax=7600.0, pad_mode='reflect')",
}


def cold_start(repeat: int) -> dict:
    """Seconds of a fresh process's first log-mel of 1 s of audio (imports included), best of ``repeat``."""
    import subprocess

    out = {}
    for name, call in COLD.items():
        code = (
            "import time, numpy as np; y = np.zeros(16000, np.float32); t = time.perf_counter(); "
            f"{call}; print(time.perf_counter() - t)"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        cmd = [sys.executable, "-c", code]
        runs = [
            float(subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO, env=env).stdout)
            for _ in range(repeat)
        ]
        out[f"{name}_first_call_s"] = min(runs)
    return out


def network_effect(y: np.ndarray, librosa_log_mel: Callable[..., np.ndarray]) -> dict:
    """The shipped network's curves with each front-end's log-mel: how far they move.

    The phone-posterior columns are computed once and shared, so only the log-mel differs;
    ``engine_rerun_max_abs_diff`` is the same engine run twice on the same audio (posteriors
    recomputed), the noise any front-end change is judged against.
    """
    import emote.audio.features as features
    import emote.engines.neural as neural

    seconds = min(len(y) / 16000, 20.0)
    y = y[: int(seconds * 16000)]
    n = int(seconds * 30) + 1
    settings = neural.load().config.features
    real_log_mel, real_features = features.log_mel, neural._features
    ours = real_features(y, 16000, settings).copy()
    features.log_mel = librosa_log_mel
    try:
        from emote.nn.features import speech_features

        theirs = ours.copy()
        theirs[:, : settings.n_mels] = speech_features(y, sr=16000, settings=replace(settings, phones=False))
    finally:
        features.log_mel = real_log_mel
    curves = {}
    for name, feats in (("emote", ours), ("librosa", theirs)):
        neural._features = lambda *a, feats=feats: feats
        try:
            curves[name] = neural.animate_neural(y, 16000, fps=30, n_frames=n, track="neutral")
        finally:
            neural._features = real_features
    reruns = []
    for _ in range(2):
        neural._FEATURES.clear()
        reruns.append(neural.animate_neural(y, 16000, fps=30, n_frames=n, track="neutral"))
    d = np.abs(curves["emote"] - curves["librosa"])
    return {"seconds": seconds, "max_abs_diff": float(d.max()), "mean_abs_diff": float(d.mean()),
            "identical": bool(d.max() == 0),
            "engine_rerun_max_abs_diff": float(np.abs(reruns[0] - reruns[1]).max())}  # fmt: skip


def bench_yin(y: np.ndarray, repeat: int) -> list[dict]:
    import librosa

    from emote.audio.features import PitchSettings, yin

    s = PitchSettings()
    t_ours, (f0, _) = best_of(repeat, lambda: yin(y=y, sr=16000, fps=30))
    x = librosa.resample(y, orig_sr=16000, target_sr=s.analysis_sr, res_type="soxr_lq")
    hop = round(s.analysis_sr / 30)  # 267 samples: 29.96 fps, librosa's hop is whole samples
    frame = 2 * int(np.ceil(s.analysis_sr / s.fmin))

    def lib_yin():
        return librosa.yin(x, fmin=s.fmin, fmax=s.fmax, sr=s.analysis_sr, frame_length=frame, hop_length=hop,
                           trough_threshold=s.threshold, center=True)  # fmt: skip

    lib_yin()
    t_lib, f_lib = best_of(repeat, lib_yin)
    n = min(f0.size, f_lib.size)
    voiced = f0[:n] > 0
    cents = np.abs(1200 * np.log2(f_lib[:n][voiced] / f0[:n][voiced]))
    short = y[: 10 * 16000]
    xs = x[: 10 * s.analysis_sr]
    t_ours10, _ = best_of(repeat, lambda: yin(y=short, sr=16000, fps=30))
    t_pyin, _ = best_of(1, lambda: librosa.pyin(xs, fmin=s.fmin, fmax=s.fmax, sr=s.analysis_sr,
                                                frame_length=frame, hop_length=hop))  # fmt: skip
    return [
        {"what": f"yin ({len(y) / 16000:.0f} s at 30 fps)", "emote_s": t_ours, "library": "librosa.yin",
         "library_s": t_lib, "median_cents_on_voiced": float(np.median(cents)),
         "share_within_50_cents": float((cents < 50).mean()),
         "library_voicing_decision": False},
        {"what": "yin with voicing (10 s at 30 fps)", "emote_s": t_ours10, "library": "librosa.pyin (1 run)",
         "library_s": t_pyin, "library_voicing_decision": True},
    ]  # fmt: skip


def bench_mesh(repeat: int, tmp: Path) -> list[dict]:
    import trimesh

    from emote.export.glb import vertex_normals
    from emote.export.meshseq import _obj_bytes, _ply_bytes
    from emote.rigs import load_rig

    rig = load_rig("default")
    v = np.asarray(rig.neutral, np.float32) * 0.001
    f = np.asarray(rig.faces, np.int64)
    colors = np.asarray(rig.colors, np.float32)
    t_ours, ours = best_of(repeat, lambda: vertex_normals(v, f))
    t_lib, lib = best_of(
        repeat, lambda: np.asarray(trimesh.Trimesh(v, f, process=False).vertex_normals, np.float32)
    )
    used = np.zeros(len(v), bool)
    used[f.ravel()] = True
    angle = np.degrees(np.arccos(np.clip((ours[used] * lib[used]).sum(axis=1), -1, 1)))
    rows = [{
        "what": f"vertex_normals ({len(v)} vertices)", "emote_s": t_ours, "library": "trimesh vertex_normals",
        "library_s": t_lib, "max_angle_deg": float(angle.max()), "mean_angle_deg": float(angle.mean()),
    }]  # fmt: skip
    face_block = ("f %d %d %d\n" * len(f) % tuple((f + 1).ravel())).encode("ascii")
    rgb = np.clip(np.round(colors * 255), 0, 255).astype(np.uint8)
    for fmt, ours_fn in (
        ("obj", lambda: _obj_bytes(v, colors, face_block)),
        ("ply", lambda: _ply_bytes(v, colors, f)),
    ):

        def lib_fn(fmt=fmt):
            mesh = trimesh.Trimesh(v, f, vertex_colors=rgb, process=False)
            return mesh.export(file_type=fmt)

        t_ours, a = best_of(repeat, ours_fn)
        t_lib, b = best_of(repeat, lib_fn)
        back = trimesh.load(trimesh.util.wrap_as_stream(a), file_type=fmt, process=False)
        rows.append({
            "what": f"{fmt} frame file ({len(v)} vertices)", "emote_s": t_ours, "library": f"trimesh export {fmt}",
            "library_s": t_lib, "emote_bytes": len(a), "library_bytes": len(b),
            "trimesh_reads_emote_file": bool(np.allclose(back.vertices, v, atol=1e-5)),
        })  # fmt: skip
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--out", default="field_libraries", help="result file name in benchmarks/results/")
    args = p.parse_args()
    torch.set_num_threads(1)
    import librosa
    import trimesh

    t = time.perf_counter()
    y = speech(args.seconds)
    rows = bench_mel(y, args.repeat) + bench_yin(y, args.repeat) + bench_mesh(args.repeat, Path("/tmp"))
    print(f"{'what':44} {'emote':>10} {'library':>10}  library / emote")
    for r in rows:
        print(
            f"{r['what']:44} {r['emote_s'] * 1000:8.2f}ms {r['library_s'] * 1000:8.2f}ms  {r['library_s'] / r['emote_s']:6.2f}x  {r['library']}"
        )
        extra = {k: v for k, v in r.items() if k not in ("what", "emote_s", "library_s", "library")}
        print(f"{'':44} {extra}")
    path = write_results(args.out, {
        "seconds_of_speech": args.seconds, "repeat": args.repeat, "threads": 1,
        "librosa": librosa.__version__, "trimesh": trimesh.__version__, "numpy": np.__version__,
        "load_average": os.getloadavg(), "wall_s": time.perf_counter() - t, "rows": rows,
    })  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
