"""Lip-sync and emotion quality: neural engine vs phonetic engine, on held-out TTS voices and real speech.

Usage::

    python benchmarks/quality.py [--checkpoint checkpoints/emote_tts.pt] [--speech ../shared/data/speech]
                                 [--ict ../shared/data/rigs/ict-facekit] [--utterances 12] [--threads 1]
    python benchmarks/quality.py --select run1.pt run2.pt ...   # compare models on held-out voices only

Writes ``benchmarks/results/quality.json`` (``--name``) with the commit and machine it ran on.

Methods, all at 30 fps without blinks, gaze or head motion; each says whether a closure pass
ends it (``CLOSURE_PASS``), and the network's own figures come first:

- ``neural_network_only``: the shipped model from the audio alone (emotion from the track), the
  network's output as it is (closure pass **off**);
- ``neural_closure_pass``: the same, then the closure pass where the recogniser is sure of a
  /p b m/, as ``emote animate --engine neural`` runs it (closure pass **on**);
- ``neural_aligned_closure_pass``: the neural engine given the transcript (real clips with a .lab), as
  ``emote animate --engine neural --text ...`` runs it: the /p b m/ of the forced alignment
  close the lips too;
- ``phonetic_recognised``: the phonetic engine on phones recognised from the audio;
- ``phonetic_aligned``: the phonetic engine on phones force-aligned to the transcript (real clips with a .lab);
- ``phonetic_true``: the phonetic engine on the reference phones (the teacher: for TTS clips
  it *is* the target, so its curve error is 0 on clean audio).

Material:

- **held-out TTS voices** (never seen in training: ``CorpusSettings.validation_voices``), new
  lines from a seed the corpus never used, clean and augmented audio; references are the
  synthesiser's exact phones; targets the teacher's curves + the emotion track;
- **real speech** in ``shared/data/speech``: clips with a phone TextGrid (reference = the
  TextGrid) and clips with a ``.lab`` transcript (reference = forced alignment).

Judges (none of them trained or tuned on the engines' output):

- **lips on the posed mesh** (``emote.eval.mesh.MeshJudge``): the gap in mm between the upper
  and lower lip midpoints of the default head and of ICT-FaceKit posed by the curves;
  ``bilabial_closure`` (share of /p b m/ intervals whose smallest gap is under 1.5 mm),
  ``open_closed_contrast`` (mean gap on open vowels over mean gap on bilabials), rounding and
  rest on the default head, ``*_ict`` on ICT-FaceKit; ``*_proxy`` is the old curve formula, which
  is also a training loss, kept only for comparison with earlier runs;
- **emotion legibility** by the FACS rule judge (``emote.eval.facs``: each emotion's EMFACS
  action units read from the curves), with the shipped emotion classifier's reading beside it
  for comparison only (the network was trained against it);
- curve MAE over the model's channels and its lip part (mouth channels); disentanglement
  (closure per emotion at intensity 1 vs neutral, on the mesh); speed (features + network +
  resampling, one thread, one core) and peak memory for a 60 s clip.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import write_results  # noqa: E402

FPS = 30.0
# Whether each method ends with a closure pass (lips closed on /p b m/ the phones it was given or the
# recogniser is sure of): every figure is reported with it, the network's own figures first.
CLOSURE_PASS = {
    "neural_network_only": False,
    "neural_closure_pass": True,
    "neural_aligned_closure_pass": True,
    "phonetic_recognised": True,
    "phonetic_aligned": True,
    "phonetic_true": True,
}
TEXT_SEED = (
    987654  # the corpus draws its text seeds from SeedSequence([0, voice, shard]); this is another stream
)


def _phonetic(phones, y, sr, n, weights):
    from emote.audio.features import frame_energy
    from emote.engines.phonetic import animate_phones
    from emote.performance.compose import apply_emotion

    speech = animate_phones(phones, n_frames=n, fps=FPS, energy=frame_energy(y=y, sr=sr, fps=FPS, n_frames=n))
    return apply_emotion(speech, weights)


JUDGES: dict = {}
"""Mesh judges by short name (``emote.eval.mesh.MeshJudge``), set up by :func:`setup_judges`."""


def setup_judges(ict: Path | None) -> list[str]:
    """The default head's judge, and ICT-FaceKit's when its model folder exists; their names."""
    from emote.eval.mesh import MeshJudge
    from emote.rigs.registry import load_rig

    JUDGES["default"] = MeshJudge(load_rig("default"))
    if ict is not None and (ict / "FaceXModel").is_dir():
        JUDGES["ict"] = MeshJudge(load_rig("ict-facekit", rig_path=ict))
    return list(JUDGES)


def _pooled(clips: list[tuple[np.ndarray, list]]) -> dict[str, float]:
    """Metrics over clips laid end to end (each clip's phones shifted), so intervals pool.

    The lip figures are measured on the posed mesh of each judge rig (gap between the lip
    midpoints in mm): ``bilabial_closure``, ``open_closed_contrast``, ``rounding_ratio`` and
    ``rest_gap_mm`` on the default head, ``..._ict`` on ICT-FaceKit, and ``..._proxy`` by
    the curve formula that is also a training loss (for comparison with earlier runs only).
    """
    from emote.audio.phones import Phone
    from emote.eval import evaluate

    curves, phones, t0 = [], [], 0.0
    for c, ph in clips:
        curves.append(c)
        phones += [Phone(p.start + t0, p.end + t0, p.label) for p in ph]
        t0 += c.shape[0] / FPS
    curves = np.concatenate(curves)
    keys = ("bilabial_closure", "open_closed_contrast", "rounding_ratio", "labiodental_gap_mm", "rest_gap_mm")
    out: dict[str, float] = {}
    for name, judge in [*JUDGES.items(), ("proxy", None)]:
        if judge is None:
            m = evaluate(curves, FPS, phones)
        else:
            m = evaluate(curves, FPS, phones, gap_fn=judge.lip_gap, width_fn=judge.mouth_width)
        suffix = "" if name == "default" else f"_{name}"
        out.update({k + suffix: m[k] for k in keys})
    return out


def heldout_set(n_per_voice: int) -> list[dict]:
    """Held-out voices speaking new lines, with true phones, emotion tracks and targets."""
    from itertools import islice

    from emote.audio.convert import n_frames_for
    from emote.training.data.corpus import CorpusSettings, render_utterance
    from emote.training.data.prosody import sample_prosody
    from emote.training.data.text import sentences
    from emote.training.data.tts import available_voices, synthesize

    settings = CorpusSettings()
    voices = [v for v in available_voices() if v.id in settings.validation_voices]
    rng = np.random.default_rng(TEXT_SEED)
    out = []
    for voice in voices:
        texts = list(islice(sentences(TEXT_SEED + len(out)), n_per_voice))
        prosodies, gains = zip(*(sample_prosody("neutral", 1.0, rng) for _ in texts), strict=True)
        for text, p, g, utt in zip(texts, prosodies, gains, synthesize(voice, texts, prosodies), strict=True):
            r = render_utterance(utt, text=text, voice=voice, emotion="neutral", intensity=1.0, prosody=p,
                                 gain_db=g, rng=rng, settings=settings)  # fmt: skip
            n = n_frames_for(duration=r.clean.size / r.sr, fps=FPS)
            weights = r.track.weights(np.arange(n) / FPS)
            target = _phonetic(r.phones, r.clean, r.sr, n, weights)
            out.append({"voice": voice.id, "text": text, "clean": r.clean, "noisy": r.noisy, "sr": r.sr,
                        "phones": r.phones, "n": n, "track": r.track, "weights": weights, "target": target})  # fmt: skip
    return out


def _mae(pred: np.ndarray, target: np.ndarray, cols: list[int]) -> float:
    return float(np.abs(pred[:, cols] - target[:, cols]).mean())


def evaluate_heldout(items: list[dict], checkpoint: str, *, recognise: bool = True) -> dict:
    from emote.animation.channels import INDEX, MOUTH_NAMES, indices
    from emote.audio.recognize import recognize
    from emote.engines.neural import animate_neural, load

    model = load(checkpoint)
    cols = indices([c for c in model.config.channels if c in INDEX])
    lip = indices([c for c in model.config.channels if c in MOUTH_NAMES])
    result: dict = {}
    for cond in ("clean", "noisy"):
        per: dict[str, list] = {
            "neural_network_only": [],
            "neural_closure_pass": [],
            "phonetic_recognised": [],
            "phonetic_true": [],
        }
        mae: dict[str, list] = {k: [] for k in per}
        lip_mae: dict[str, list] = {k: [] for k in per}
        for it in items:
            y, sr, n = it[cond], it["sr"], it["n"]
            outs = {
                "neural_network_only": animate_neural(
                    y, sr, fps=FPS, n_frames=n, track=it["track"], checkpoint=checkpoint, closures=None
                ),
                "neural_closure_pass": animate_neural(
                    y, sr, fps=FPS, n_frames=n, track=it["track"], checkpoint=checkpoint
                ),
                "phonetic_true": _phonetic(it["phones"], y, sr, n, it["weights"]),
            }
            if recognise:
                outs["phonetic_recognised"] = _phonetic(recognize(y=y, sr=sr).phones, y, sr, n, it["weights"])
            for k, c in outs.items():
                per[k].append((c, it["phones"]))
                mae[k].append(_mae(c, it["target"], cols))
                lip_mae[k].append(_mae(c, it["target"], lip))
        result[cond] = {
            k: {**_pooled(v), "curve_mae": float(np.mean(mae[k])), "lip_mae": float(np.mean(lip_mae[k]))}
            for k, v in per.items() if v
        }  # fmt: skip
    return result


def emotion_tests(items: list[dict], real: list[dict], checkpoint: str) -> dict:
    """Each emotion at intensity 1 on every clip: closure vs neutral (disentanglement, mesh judge) and
    emotion legibility by the FACS rule judge (``emote.eval.facs``, independent of training) and, for
    comparison only, by the shipped emotion classifier the network was trained against.

    Run for the network alone and with the closure pass; the phonetic engine on the reference phones
    + the same emotion (the teacher) gives the judge's reading of the targets.
    """
    import torch

    from emote.animation.channels import indices
    from emote.engines.neural import animate_neural, load
    from emote.eval.facs import judge_emotion
    from emote.performance.emotions import EMOTIONS

    model = load(checkpoint)
    cls_cols = indices(list(model.config.classifier_channels))
    methods = ("neural_network_only", "neural_closure_pass", "phonetic_true")
    out: dict = {"closure_by_emotion": {}, "facs_judge": {}, "training_classifier": {}}
    for name, clips in (("heldout_tts", [(it["clean"], it["sr"], it["n"], it["phones"]) for it in items]),
                        ("real", [(c["y"], c["sr"], c["n"], c["phones"]) for c in real])):  # fmt: skip
        if not clips:
            continue
        closure = {m: {} for m in methods}
        facs = {m: np.zeros((8, 8), int) for m in methods}
        cls = np.zeros((8, 8), int)
        for k, emo in enumerate(EMOTIONS):
            curves: dict[str, list] = {m: [] for m in methods}
            for y, sr, n, phones in clips:
                weights = np.zeros((n, 8), np.float32)
                weights[:, k] = 1.0
                outs = {
                    "neural_network_only": animate_neural(y, sr, fps=FPS, n_frames=n, track=emo,
                                                          checkpoint=checkpoint, closures=None),
                    "neural_closure_pass": animate_neural(y, sr, fps=FPS, n_frames=n, track=emo,
                                                          checkpoint=checkpoint),
                    "phonetic_true": _phonetic(phones, y, sr, n, weights),
                }  # fmt: skip
                for m, c in outs.items():
                    curves[m].append((c, phones))
                    facs[m][k, EMOTIONS.index(judge_emotion(c).label)] += 1
                with torch.inference_mode():
                    c = outs["neural_closure_pass"]
                    logits = model.classifier(torch.from_numpy(c[:, cls_cols])[None])[0].numpy()
                cls[k, int(np.argmax(logits))] += 1
            for m in methods:
                closure[m][emo] = _pooled(curves[m])
        out["closure_by_emotion"][name] = {
            m: {e: {"closure": v["bilabial_closure"], "points_vs_neutral": 100 * (v["bilabial_closure"] -
                    per["neutral"]["bilabial_closure"]), "closure_ict": v.get("bilabial_closure_ict"),
                    "contrast": v["open_closed_contrast"]} for e, v in per.items()}
            for m, per in closure.items()
        }  # fmt: skip
        out["facs_judge"][name] = {
            m: {"accuracy_8": float(np.trace(c) / c.sum()),
                "accuracy_7_non_neutral": float(np.trace(c[1:, 1:]) / c[1:].sum()),
                "per_emotion": {e: float(c[i, i] / c[i].sum()) for i, e in enumerate(EMOTIONS)},
                "confusion": c.tolist()}
            for m, c in facs.items()
        }  # fmt: skip
        out["training_classifier"][name] = {
            "method": "neural_closure_pass",
            "accuracy_8": float(np.trace(cls) / cls.sum()),
            "confusion": cls.tolist(),
            "note": "the classifier whose loss trained the network: not an independent judge",
        }
    return out


def real_clips(speech: Path) -> list[dict]:
    """Clips of ``speech`` with a phone TextGrid, or a .lab transcript to force-align."""
    from emote.audio.convert import n_frames_for
    from emote.audio.io import load_audio
    from emote.audio.timings import read_timings
    from emote.errors import EmoteError

    clips = []
    for audio in sorted(speech.iterdir()):
        if audio.suffix.lower() not in (".wav", ".flac", ".opus", ".mp3") or "bit" in audio.stem:
            continue
        grids = [
            p
            for p in (audio.with_suffix(".TextGrid"), audio.with_name(audio.stem + "_phones.TextGrid"))
            if p.exists()
        ]
        phones, source = None, None
        for g in grids:
            try:
                phones, source = read_timings(g).phones, "textgrid"
                break
            except EmoteError:
                continue
        lab = audio.with_suffix(".lab")
        text = lab.read_text(encoding="utf-8").strip() if lab.exists() else ""
        if phones is None and len(text.split()) < 3:
            continue
        a = load_audio(audio)
        clips.append({"name": audio.name, "y": a.samples, "sr": a.sr, "text": text, "phones": phones,
                      "source": source, "n": n_frames_for(duration=a.samples.size / a.sr, fps=FPS)})  # fmt: skip
    return clips


def evaluate_real(clips: list[dict], checkpoint: str) -> tuple[dict, dict[str, list]]:
    """The methods on each real clip against its references; also each clip's reference for the
    emotion tests (its TextGrid phones, else its aligned transcript)."""
    from emote.audio.align import align
    from emote.audio.recognize import recognize
    from emote.engines.neural import animate_neural

    per: dict[str, dict[str, list]] = {"textgrid": {}, "alignment": {}}
    per_clip: dict = {}
    references: dict[str, list] = {}
    for c in clips:
        y, sr, n = c["y"], c["sr"], c["n"]
        neutral = np.tile(np.eye(8, dtype=np.float32)[:1], (n, 1))
        aligned = align(y=y, sr=sr, text=c["text"]).phones if c["text"] else None
        outs = {
            "neural_network_only": animate_neural(
                y, sr, fps=FPS, n_frames=n, checkpoint=checkpoint, closures=None
            ),
            "neural_closure_pass": animate_neural(y, sr, fps=FPS, n_frames=n, checkpoint=checkpoint),
            "phonetic_recognised": _phonetic(recognize(y=y, sr=sr).phones, y, sr, n, neutral),
        }
        if aligned is not None:
            outs["neural_aligned_closure_pass"] = animate_neural(
                y, sr, fps=FPS, n_frames=n, checkpoint=checkpoint, phones=aligned
            )
            outs["phonetic_aligned"] = _phonetic(aligned, y, sr, n, neutral)
        if c["phones"] is not None:
            outs["phonetic_true"] = _phonetic(c["phones"], y, sr, n, neutral)
        refs = {"textgrid": c["phones"], "alignment": aligned}
        references[c["name"]] = c["phones"] or aligned
        per_clip[c["name"]] = {}
        for ref_name, ref in refs.items():
            if ref is None:
                continue
            for k, curves in outs.items():
                per[ref_name].setdefault(k, []).append((curves, ref))
                per_clip[c["name"]].setdefault(ref_name, {})[k] = _pooled([(curves, ref)])
    pooled = {ref: {k: _pooled(v) for k, v in methods.items()} for ref, methods in per.items() if methods}
    return {"pooled": pooled, "per_clip": per_clip, "clips": [c["name"] for c in clips]}, references


SPEED_SCRIPT = """
import resource, sys, time, json
import numpy as np, torch
torch.set_num_threads(1)
sys.path.insert(0, {repo!r})
from emote.batch.job import peak_rss_mb
from emote.engines.neural import animate_neural, load
y = np.load({audio!r}); sr = 16000
load({ckpt!r})
rss0 = peak_rss_mb()
n = int(60 * 30) + 1
times = []
import emote.engines.neural as neural
for _ in range(7):
    neural._FEATURES.clear()  # time the features too, not the engine's memory of them
    t = time.perf_counter(); animate_neural(y, sr, fps=30, n_frames=n, track="happy", checkpoint={ckpt!r})
    times.append(time.perf_counter() - t)
print(json.dumps({{"seconds": sorted(times), "median_s": float(np.median(times)), "best_s": min(times),
                  "rss_before_mb": rss0, "peak_rss_mb": peak_rss_mb()}}))
"""


def speed(items: list[dict], checkpoint: str) -> dict:
    """× real time of features + network + resampling for 60 s of speech, one thread pinned to one core."""
    y = np.concatenate([it["noisy"] for it in items]) if items else np.zeros(16000)
    y = np.tile(y, math.ceil(60 * 16000 / y.size))[: 60 * 16000].astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        audio = Path(tmp) / "y.npy"
        np.save(audio, y)
        script = SPEED_SCRIPT.format(repo=str(REPO), audio=str(audio), ckpt=str(checkpoint))
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        cmd = [sys.executable, "-c", script]
        if os.path.exists("/usr/bin/taskset"):
            cmd = ["taskset", "-c", "0", *cmd]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    r = json.loads(res.stdout.strip().splitlines()[-1])
    r["x_realtime_median"] = 60.0 / r["median_s"]
    r["x_realtime_best"] = 60.0 / r["best_s"]
    return r


def _fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3g}"


def print_table(title: str, rows: dict[str, dict[str, float]], keys: list[str]) -> None:
    print(f"\n{title}")
    print(f"  {'method':22s}" + "".join(f"{k[:18]:>20s}" for k in keys))
    for method, m in rows.items():
        print(f"  {method:22s}" + "".join(f"{_fmt(m.get(k, float('nan'))):>20s}" for k in keys))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=str(REPO / "checkpoints" / "emote_tts.pt"))
    ap.add_argument("--speech", type=Path, default=REPO.parent / "shared" / "data" / "speech")
    ap.add_argument("--utterances", type=int, default=12, help="lines per held-out voice")
    ap.add_argument(
        "--ict",
        type=Path,
        default=REPO.parent / "shared" / "data" / "rigs" / "ict-facekit",
        help="ICT-FaceKit model folder for the second mesh judge (skipped when absent)",
    )
    ap.add_argument("--name", default="quality", help="result file: benchmarks/results/NAME.json")
    ap.add_argument(
        "--select", nargs="+", metavar="MODEL", help="only compare these models on held-out voices"
    )
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads (0: torch's default; 1 on a busy shared machine, where threads spin)",
    )
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    judges = setup_judges(args.ict)
    items = heldout_set(args.utterances)
    keys = [
        "bilabial_closure",
        "open_closed_contrast",
        *(["bilabial_closure_ict", "open_closed_contrast_ict"] if "ict" in judges else []),
        "bilabial_closure_proxy",
        "rounding_ratio",
        "rest_gap_mm",
        "curve_mae",
        "lip_mae",
    ]
    if args.select:
        table = {}
        for ck in args.select:
            r = evaluate_heldout(items, ck, recognise=False)
            table[f"{Path(ck).parent.name}/{Path(ck).name}"] = {f"{cond}_{k}": r[cond]["neural_network_only"][k] for cond in ("clean", "noisy") for k in
                                    ("bilabial_closure", "open_closed_contrast", "curve_mae", "lip_mae")}  # fmt: skip
        print_table(f"held-out voices, neural, {len(items)} lines", table, list(next(iter(table.values()))))
        return 0

    report: dict = {"checkpoint": args.checkpoint, "fps": FPS, "heldout_lines": len(items),
                    "heldout_voices": sorted({it["voice"] for it in items}), "mesh_judges": judges,
                    "closure_pass": CLOSURE_PASS,
                    "metric_note": "bilabial_closure/open_closed_contrast/rounding/rest: lip gap (mm) between the lip "
                                   "midpoints of the posed default head; *_ict: on ICT-FaceKit; *_proxy: the curve "
                                   "formula that is also a training loss"}  # fmt: skip
    report["heldout"] = evaluate_heldout(items, args.checkpoint)
    clips = real_clips(args.speech) if args.speech.is_dir() else []
    report["real"], references = evaluate_real(clips, args.checkpoint) if clips else ({}, {})
    real = [{**c, "phones": references[c["name"]]} for c in clips if references.get(c["name"])]
    report["emotion"] = emotion_tests(items, real, args.checkpoint)
    if not args.skip_speed:
        report["speed"] = speed(items, args.checkpoint)
    report["seconds"] = time.perf_counter() - t0

    def marked(rows: dict) -> dict:
        return {f"{k} [{'pass on' if CLOSURE_PASS.get(k) else 'pass off'}]": v for k, v in rows.items()}

    for cond in ("clean", "noisy"):
        print_table(f"held-out TTS voices ({cond} audio, {len(items)} lines; reference: synthesiser phones; "
                    "lip gap on the posed mesh)", marked(report["heldout"][cond]), keys)  # fmt: skip
    for ref, rows in report.get("real", {}).get("pooled", {}).items():
        print_table(f"real speech, reference = {ref} ({len(report['real']['clips'])} clips)", marked(rows),
                    keys[: len(keys) - 4])  # fmt: skip
    for name, per_method in report["emotion"]["closure_by_emotion"].items():
        for method, rows in per_method.items():
            print(f"\nclosure by emotion at intensity 1, default-head mesh ({name}, {method}, closure pass "
                  f"{'on' if CLOSURE_PASS[method] else 'off'}): " +
                  ", ".join(f"{e} {v['closure']:.2f} ({v['points_vs_neutral']:+.0f})" for e, v in rows.items()))  # fmt: skip
    for name, per_method in report["emotion"]["facs_judge"].items():
        for method, r in per_method.items():
            print(f"FACS rule judge ({name}, {method}): 8-class {r['accuracy_8']:.1%}, "
                  f"7 non-neutral {r['accuracy_7_non_neutral']:.1%}; per emotion " +
                  " ".join(f"{e[:4]} {v:.2f}" for e, v in r["per_emotion"].items()))  # fmt: skip
    for name, r in report["emotion"]["training_classifier"].items():
        print(
            f"training classifier ({name}, neural_closure_pass; not independent): 8-class {r['accuracy_8']:.1%}"
        )
    if "speed" in report:
        s = report["speed"]
        print(f"\nspeed, 60 s clip, one thread on one core: {s['x_realtime_median']:.0f}x real time (median), "
              f"{s['x_realtime_best']:.0f}x (best); peak RSS {s['peak_rss_mb']:.0f} MB "
              f"({s['peak_rss_mb'] - s['rss_before_mb']:.0f} MB for inference)")  # fmt: skip
    path = write_results(args.name, report)
    print(f"\nwrote {path.relative_to(REPO)} ({report['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
