"""How good are teacher curves from *recognised* phones, and does the confidence mask remove the bad ones?

Usage::

    python benchmarks/real_speech_labels.py [--data .emote_data/recorded]
        [--speech ../shared/data/train-speech] [--clips 0] [--out benchmarks/results/real_speech_labels.json]

The untranscribed LibriSpeech clips are trained on teacher curves from phones
the recogniser heard, weighted per frame by its confidence
(:func:`emote.training.data.speech.recognition_confidence`, :func:`emote.training.data.speech.frame_weights`).
This measures that choice where the answer is known: on the LJSpeech clips,
whose transcripts give forced-aligned phones (the reference), it makes the
teacher curves a second time from recognised phones, exactly as the data
engine does for a clip without a transcript, and compares, for no mask, the
soft weights, and binary masks at several thresholds:

- ``kept``: share of frames kept (weight sum / frames);
- ``class_agree``: share of (kept) frames whose recognised phone has the
  aligned phone's lip class (:data:`emote.training.data.speech.LIP_CLASSES`);
- ``mae``: mean absolute difference of the teacher curves (all teacher channels);
- ``gap_mae_mm``: the same for the lip gap (``emote.eval.lip_gap_proxy``, mm);
- ``state_disagree``: share of frames where one curve set has the lips closed
  (gap < 1.5 mm, the closure metric's threshold) and the other open (> 3 mm);
- ``bilabial_closed``: share of the aligned /p b m/ (those kept: at least half
  their frames weighted in) where the recognised-phone teacher closes the lips
  (gap < 1.5 mm), and ``bilabials_kept``, the share kept.

For scale, the same measures for the aligned phones made 20 and 40 ms late
(a timing error of known size, no identity error), and the share of the
LibriSpeech frames each mask keeps (from its shards' stored confidence).

It reads the aligned phones, features and reference teacher curves from the
LJSpeech shards that ``emote data speech`` wrote (so the reference is what
training sees), re-reads each clip's audio for the recogniser and the
teacher's loudness, prints a table and writes JSON with the commit and machine.
One speaker only (LJSpeech): LibriSpeech's many voices may be recognised worse,
which is what the mask is there for.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emote.animation.channels import INDEX, N_CHANNELS  # noqa: E402
from emote.audio.io import load_audio  # noqa: E402
from emote.audio.phones import Phone  # noqa: E402
from emote.audio.recognize import recognize  # noqa: E402
from emote.eval import lip_gap_proxy  # noqa: E402
from emote.phonetics.labels import SIL  # noqa: E402
from emote.phonetics.phoneset import BILABIALS, frames_in  # noqa: E402
from emote.training.data.shards import read_manifest, read_shard  # noqa: E402
from emote.training.data.speech import (  # noqa: E402
    _CLASS_OF,
    SpeechSettings,
    frame_weights,
    recognition_confidence,
    teacher_curves,
)

THRESHOLDS = (0.3, 0.5, 0.7, 0.9)
SHIFTS_MS = (20, 40)
CLOSED_MM, OPEN_MM = 1.5, 3.0


def _full(curves: np.ndarray, channels: tuple[str, ...]) -> np.ndarray:
    out = np.zeros((curves.shape[0], N_CHANNELS), np.float32)
    out[:, [INDEX[c] for c in channels]] = curves
    return out


def _class_per_frame(phones, n: int, fps: float) -> np.ndarray:
    cls = np.full(n, -1, np.int64)  # -1: silence / unknown
    t = np.arange(n) / fps
    for p in phones:
        if p.label != SIL:
            cls[(t >= p.start) & (t < p.end)] = _CLASS_OF.get(p.label, -1)
    return cls


def _compare(ref: np.ndarray, ref_phones, phones, w: np.ndarray, audio, fps: float, channels) -> dict:
    """Per-frame measures of the teacher on ``phones`` against the reference teacher ``ref``."""
    n = ref.shape[0]
    cand = _full(teacher_curves(phones, audio.samples, audio.sr, n_frames=n, fps=fps), channels)
    g_ref, g_cand = lip_gap_proxy(ref), lip_gap_proxy(cand)
    c_ref, c_cand = _class_per_frame(ref_phones, n, fps), _class_per_frame(phones, n, fps)
    bil = [frames_in(p.start, p.end, fps=fps, n_frames=n) for p in ref_phones if p.label in BILABIALS]
    return {
        "w": w,
        "speech": c_ref >= 0,
        "agree": c_ref == c_cand,
        "err": np.abs(ref - cand).sum(1) / len(channels),
        "gap_err": np.abs(g_ref - g_cand),
        "state": ((g_ref < CLOSED_MM) & (g_cand > OPEN_MM)) | ((g_cand < CLOSED_MM) & (g_ref > OPEN_MM)),
        "bilabials": [(w[f], g_cand[f].min() < CLOSED_MM) for f in bil],
    }


def librispeech_kept(data: Path) -> dict:
    """Share of the LibriSpeech frames each mask keeps, from the stored confidence of its shards."""
    libri = [read_shard(p).weights for p in sorted(data.glob("shard-librispeech-*.npz"))]
    if not libri:
        return {}
    w = np.concatenate(libri)
    return {"shards": len(libri), "frames": int(w.size), "soft": round(float(w.mean()), 4),
            **{f">= {t}": round(float((w >= t).mean()), 4) for t in THRESHOLDS}}  # fmt: skip


def machine() -> dict:
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True).stdout.strip()

    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform()}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO / ".emote_data" / "recorded")
    ap.add_argument("--speech", type=Path, default=REPO.parent / "shared" / "data" / "train-speech")
    ap.add_argument("--clips", type=int, default=0, help="at most this many LJSpeech clips (0: all)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "real_speech_labels.json")
    ap.add_argument("--kept-only", action="store_true",
                    help="only refresh the LibriSpeech kept shares in an existing --out (its shards finished later)")  # fmt: skip
    args = ap.parse_args()
    if args.kept_only:
        out = json.loads(args.out.read_text())
        out["librispeech_kept"] = librispeech_kept(args.data)
        out["machine_kept_only"] = machine()
        args.out.write_text(json.dumps(out, indent=1) + "\n")
        print("LibriSpeech frames kept: " + ", ".join(f"{k} {v}" for k, v in out["librispeech_kept"].items()))
        return 0

    files = sorted(
        p.name for p in args.data.glob("shard-ljspeech-*.npz")
    )  # a run still generating has no manifest
    if not files:
        sys.exit(f"{args.data}: no ljspeech shards (run `emote data speech` on the LJSpeech folder first)")
    manifest = read_manifest(args.data) if (args.data / "manifest.json").exists() else {}
    smooth = float(manifest.get("settings", {}).get("smooth", SpeechSettings().smooth))
    rows: list[dict] = []  # per clip: weights, per-frame measures
    shifted: dict[int, list[dict]] = {}
    t0 = time.perf_counter()
    audio_seconds = 0.0
    for file in files:
        shard = read_shard(args.data / file)
        fps = float(shard.header["fps"])
        fs_n_mels = int(shard.header["features"]["n_mels"])
        for i in range(len(shard)):
            if args.clips and len(rows) >= args.clips:
                break
            item = shard.item(i)
            audio = load_audio(args.speech / item.meta["source"])
            n = item.n_frames
            recognised = list(recognize(y=audio.samples, sr=audio.sr).phones)
            conf = recognition_confidence(recognised, item.mel[::2, fs_n_mels:] * 4.0, rate=fps)
            w = frame_weights(recognised, conf, n_frames=n, fps=fps, smooth=smooth)
            ref = _full(item.curves, shard.channels)
            rows.append(_compare(ref, item.phones, recognised, w, audio, fps, shard.channels))
            for ms in SHIFTS_MS:  # calibration: the aligned phones themselves, late by a known amount
                late = [Phone(p.start + ms / 1000, p.end + ms / 1000, p.label) for p in item.phones]
                shifted.setdefault(ms, []).append(
                    _compare(ref, item.phones, late, np.ones(n, np.float32), audio, fps, shard.channels)
                )
            audio_seconds += audio.samples.size / audio.sr
    elapsed = time.perf_counter() - t0

    def measure(weight_of, rows: list[dict] = rows) -> dict:
        w = np.concatenate([weight_of(r["w"]) for r in rows])
        sp = np.concatenate([r["speech"] for r in rows])
        ws = w * sp  # speech frames only for the label measures (silence is trivially agreed on)
        bil = [(weight_of(bw).mean() >= 0.5, closed) for r in rows for bw, closed in r["bilabials"]]
        kept_bil = [closed for keep, closed in bil if keep]

        def mean(key: str, weights: np.ndarray) -> float:
            return float((np.concatenate([r[key] for r in rows]) * weights).sum() / max(weights.sum(), 1e-9))

        return {
            "kept": round(float(w.mean()), 4),
            "kept_speech": round(float(ws.sum() / max(sp.sum(), 1)), 4),
            "class_agree": round(mean("agree", ws), 4),
            "mae": round(mean("err", w), 5),
            "gap_mae_mm": round(mean("gap_err", w), 4),
            "state_disagree": round(mean("state", w), 4),
            "bilabial_closed": round(float(np.mean(kept_bil)), 4) if kept_bil else None,
            "bilabials_kept": round(len(kept_bil) / max(len(bil), 1), 4),
        }

    results = {
        "no mask": measure(lambda w: np.ones_like(w)),
        "soft (weight = confidence)": measure(lambda w: w),
    }
    for t in THRESHOLDS:
        results[f"mask confidence >= {t}"] = measure(lambda w, t=t: (w >= t).astype(np.float64))
    for ms, calibration in shifted.items():
        results[f"aligned phones {ms} ms late"] = measure(lambda w: np.ones_like(w), calibration)
    # How much of the multi-speaker corpus each mask keeps (its shards' stored confidence).
    libri_kept = librispeech_kept(args.data)
    out = {
        "benchmark": "real_speech_labels",
        "what": "teacher curves from recognised vs forced-aligned phones on LJSpeech, with and without the "
        "recogniser-confidence mask",
        "clips": len(rows),
        "audio_minutes": round(audio_seconds / 60, 2),
        "frames": int(sum(r["w"].size for r in rows)),
        "bilabials": int(sum(len(r["bilabials"]) for r in rows)),
        "seconds": round(elapsed, 1),
        "machine": machine(),
        "results": results,
        "librispeech_kept": libri_kept,
    }
    cols = list(next(iter(results.values())))
    print(f"{len(rows)} LJSpeech clips, {audio_seconds / 60:.1f} min, {out['bilabials']} bilabials")
    print(f"{'':28s}" + "".join(f"{c:>16s}" for c in cols))
    for name, r in results.items():
        print(f"{name:28s}" + "".join(f"{'-' if r[c] is None else r[c]:>16}" for c in cols))
    if libri_kept:
        print("LibriSpeech frames kept: " + ", ".join(f"{k} {v}" for k, v in libri_kept.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
