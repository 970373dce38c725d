"""× real time of the curve pipeline on one CPU core, split by stage, and peak memory, for both engines.

Makes a 60 s speech clip with espeak-ng (or takes ``--audio``), then runs
``emote.animate`` + every curve export in a fresh process pinned to one core
(``taskset``, one BLAS/torch thread), for each mode:

- ``recognition``: phonetic engine, audio only (phones recognised);
- ``alignment``: phonetic engine, with the transcript (phones force-aligned);
- ``neural``: neural engine (the shipped model), audio only;
- ``neural_transcript``: neural engine with the transcript (its aligned /p b m/ close the lips too).

The neural engine's ``engine`` stage is split further (``nn_*`` stages): model load,
log-mel, the recogniser's phone posteriors, the network, and the rest (inputs,
resampling to the frame rate, closure pass).

    python benchmarks/speed.py [--audio clip.wav --text-file clip.txt] [--modes neural,...]

Prints a table and writes JSON. Targets: phonetic pipeline ≥ 50× real time and its engine
alone ≥ 1000× (issue 2); neural pipeline ≥ 100× real time on one core (issue 13; a GPU
batch: benchmarks/speed_gpu.py).
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
audio, text, out, engine = sys.argv[1], sys.argv[2] or None, Path(sys.argv[3]), sys.argv[4]
import_s = time.perf_counter() - t0
nn = {}
torch_import_s = None
if engine == "neural":
    t = time.perf_counter()  # torch's import is a one-time process cost, kept apart like emote's own import
    import torch
    torch_import_s = time.perf_counter() - t
    # Time the neural engine's parts by wrapping the functions it calls.
    from importlib import import_module
    recognize = import_module("emote.audio.recognize")  # the package's name `recognize` is a function
    neural = import_module("emote.engines.neural")
    features = import_module("emote.nn.features")

    def timed(name, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                nn[name] = nn.get(name, 0.0) + time.perf_counter() - t
        return wrapper

    def hooked(path, mtime, load=timed("nn_model_load", neural._load_cached)):
        model = load(path, mtime)
        if not nn.get("_hooked"):  # the network's own time, from forward hooks
            nn["_hooked"] = 1
            model.net.register_forward_pre_hook(lambda m, a: nn.__setitem__("_t", time.perf_counter()))
            model.net.register_forward_hook(lambda m, a, o: nn.__setitem__(
                "nn_network", nn.get("nn_network", 0.0) + time.perf_counter() - nn["_t"]))
        return model

    neural._load_cached = hooked
    features.speech_features = timed("nn_features", features.speech_features)
    recognize.phone_posteriors = timed("nn_posteriors", recognize.phone_posteriors)
t = time.perf_counter()
anim = emote.animate(audio, text=text, use_transcript_file=False, emotion="happy", intensity=0.8,
                     stage_timings=True, engine=engine)
total = time.perf_counter() - t
stages = dict(anim.metadata["timings"])
if engine == "neural":
    nn.pop("_t"), nn.pop("_hooked")
    nn["nn_logmel"] = nn["nn_features"] - nn.get("nn_posteriors", 0.0)
    del nn["nn_features"]
    nn["nn_rest"] = stages["engine"] - sum(nn.values())
    stages.update(nn)
t = time.perf_counter()
for name, fmt in (("a.csv", "livelink"), ("a.json", "json"), ("a.npz", "npz"), ("a.metahuman.csv", "metahuman")):
    write(anim, out / name, format=fmt)
stages["export"] = time.perf_counter() - t
print(json.dumps({"duration": anim.metadata["audio_duration"], "animate_s": total, "stages": stages,
                  "import_s": import_s, "torch_import_s": torch_import_s, "peak_rss_mb": peak_rss_mb()}))
"""


MODES: dict[str, tuple[str, bool]] = {
    "recognition": ("phonetic", False),
    "alignment": ("phonetic", True),
    "neural": ("neural", False),
    "neural_transcript": ("neural", True),
}
"""Mode → (engine, with the transcript). The first two keep the names the README cites."""


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


def run_child(audio: Path, text: str | None, out: Path, engine: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, "-c", CHILD, str(audio), text or "", str(out), engine]
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
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated, of: %(default)s")
    args = ap.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := sorted(set(modes) - set(MODES)):
        ap.error(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.audio:
            audio, text = args.audio, args.text_file.read_text() if args.text_file else None
        else:
            audio, text = make_clip(tmp, args.seconds)
        rows = {}
        for mode in modes:
            engine, with_text = MODES[mode]
            if with_text and not text:
                continue
            rows[mode] = run_child(audio, text if with_text else None, tmp, engine)

    print(f"{'mode':<18} {'stage':<14} {'seconds':>9} {'x real time':>12}")
    for mode, r in rows.items():
        d = r["duration"]
        stages = dict(r["stages"])
        stages["TOTAL"] = r["animate_s"] + stages["export"]
        for stage, s in stages.items():
            print(f"{mode:<18} {stage:<14} {s:9.3f} {d / max(s, 1e-9):12.0f}")
        torch_s = f", torch import {r['torch_import_s']:.2f} s" if r.get("torch_import_s") is not None else ""
        print(
            f"{mode:<18} {'peak RSS':<14} {r['peak_rss_mb']:8.0f}M   (import {r['import_s']:.2f} s{torch_s})"
        )
    result = {
        "clip_seconds": next(iter(rows.values()))["duration"],
        "cpu_cores": 1,
        "modes": {
            m: {
                "x_real_time_total": r["duration"] / (r["animate_s"] + r["stages"]["export"]),
                "x_real_time_engine": r["duration"] / max(r["stages"]["engine"], 1e-9),
                "engine": MODES[m][0],
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
