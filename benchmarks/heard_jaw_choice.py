"""Choose the heard jaw's free parameters on material that is not the test capture.

Usage::

    python benchmarks/heard_jaw_choice.py [--ljspeech ../shared/data/train-speech/ljspeech]
                                          [--english-clips 120] [--mandarin-lines 80] [--cache PATH]

The heard jaw (:func:`emote.audio.formants.jaw_opening`, ``(F1 - f1_floor) * RMS**loudness``
on voiced frames, smoothed) drives ``PhoneticSettings.heard_jaw`` of the jaw in a language
other than English. Its free parameters (the share, and
:class:`~emote.audio.formants.HeardJawSettings`: the loudness exponent, the voicing gate,
the smoothing, the F1 floor, the band whose loudness counts) are chosen here, never on the
Mandarin face capture that ``benchmarks/languages.py`` measures with (test material), nor
on ``shared/data/speech``.

No real jaw is recorded with this material, so the target is the jaw the phones imply:
the phonetic engine's ``JawOpen`` on the *reference* phones (with the loudness, no heard
jaw). The candidate is what a user without a transcript gets: the engine on the phones
*recognised* from the audio (IPA) with the heard jaw at the share tried. The heard jaw
earns its share where it corrects the recogniser's mistakes. Two sets, equal weight:

- **English, real speech**: LJSpeech clips (training material, one speaker), reference
  phones forced-aligned from the normalised transcript (PocketSphinx, ``emote.audio.align``).
- **Mandarin, synthetic**: espeak-ng's Mandarin voice speaking seeded random lines of
  pinyin syllables at varied rate and pitch, with its exact phone timings (IPA).

Score: the Pearson correlation of candidate and target ``JawOpen`` over each set's clips
laid end to end. The settings: the full :data:`GRID` (500 combinations), the heard jaw
alone (share 1), the best mean over the two sets. The share: each of :data:`SHARES` with
those settings, the best on the Mandarin set (English does not use the heard jaw).

A second candidate, on the Mandarin set only (the neural engine hears the jaw in a
language other than English): the neural engine with :data:`NEURAL_MODEL` from the audio
alone (closure pass on, as it runs), its ``JawOpen`` blended with the heard jaw at each of
:data:`SHARES` (``emote.engines.neural.blend_heard_jaw``), against the same target; the
best share is ``neural_share``, shipped as ``emote.engines.neural.HEARD_JAW``. The
network runs once per clip (kept in ``--cache``); only the finishing step is repeated.

It prints the choice and writes ``benchmarks/results/heard_jaw_choice.json`` (every row
of the grid with it); ``tests/test_heard_jaw.py`` checks the code ships what it chose.
About 3.5 minutes on one core, the grid most of it (2.7 minutes).
"""

from __future__ import annotations

import argparse
import itertools
import os
import pickle
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _results import write_results  # noqa: E402  (its provenance is taken at import: the start)

FPS = 30.0
SHARES = (0.0, 0.25, 0.5, 0.6, 0.75, 0.9, 1.0)
GRID = {  # HeardJawSettings fields and the values tried
    "loudness": (0.0, 0.25, 0.5, 0.75, 1.0),
    "voiced": (0.1, 0.2, 0.3, 0.4, 0.5),
    "smoothing": (0.02, 0.03, 0.04, 0.06, 0.08),
    "f1_floor": (0.0, 200.0),
    "band": ("broad", "f1"),
}
SHARE_SET = "mandarin_espeak"  # the share is chosen where the heard jaw is used: not English
NEURAL_MODEL = REPO / "checkpoints" / "emote_multilingual.pt"  # the neural default outside English

# Common Mandarin syllables (pinyin without tone), for random lines with Mandarin's phone statistics.
_SYLLABLES = """
    ba bai ban bang bao bei ben bi bian bu ca cai chang chi chu da dai dao de di dian dong du duo
    fa fan fang fei fen feng fu gao ge gei gong guo hai han hao he hen hong hua huan hui jia jian
    jiao jie jin jing jiu ju kai kan ke kuai lai lao le li lian liang lin liu lu ma mai man mao mei
    men mi mian ming mu na nan nei neng ni nian niu nv pa pai pang pao peng pi pian ping po qi qian
    qing qu ran ren ri rou san shan shang shao she shen sheng shi shou shu shui shuo si song ta tai
    tan tian ting tong tou wa wai wan wang wei wen wo wu xi xia xian xiang xiao xie xin xing xue ya
    yan yang yao ye yi yin ying you yu yuan yue zai zan zao ze zhang zhe zhen zheng zhi zhong zhu
    zi zou zui zuo
"""


@dataclass
class Clip:
    """One clip of the choice material: what the engine and the heard jaw read."""

    reference: list  # phones the target jaw comes from
    recognised: list  # phones recognised from the audio (IPA)
    tracks: object  # emote.audio.formants.JawTracks
    n: int
    y: np.ndarray  # the audio at emote.audio.convert.SAMPLE_RATE
    network: tuple | None = None  # (network output, its input features) for NEURAL_MODEL, once run


# -- material ------------------------------------------------------------------------------------


def _clip(y: np.ndarray, sr: int, reference: list) -> Clip:
    from emote.audio.formants import jaw_tracks
    from emote.audio.recognize import RecognizeSettings, recognize

    n = int(np.ceil(y.size / sr * FPS))
    recognised = recognize(y=y, sr=sr, settings=RecognizeSettings(ipa=True)).phones
    return Clip(reference, recognised, jaw_tracks(y=y, sr=sr, fps=FPS, n_frames=n), n, y)


def english(folder: Path, count: int) -> list[Clip]:
    """The first ``count`` LJSpeech clips (metadata order), reference phones forced-aligned."""
    from emote.audio.align import align
    from emote.audio.io import load_audio

    rows = [line.rstrip("\n").split("|") for line in (folder / "metadata.csv").read_text().splitlines()]
    clips = []
    for name, _, text in rows[:count]:
        sound = load_audio(folder / f"{name}.opus")
        reference = align(y=sound.samples, sr=sound.sr, text=text).phones
        clips.append(_clip(sound.samples, sound.sr, list(reference)))
    return clips


def mandarin(count: int, seed: int = 0) -> list[Clip]:
    """``count`` random pinyin lines from espeak-ng's Mandarin voice, exact phones, at 16 kHz."""
    from scipy.signal import resample_poly

    from emote.audio.convert import SAMPLE_RATE
    from emote.audio.phones import Phone
    from emote.training.data.tts import LANGUAGE_VOICES, Prosody, synthesize

    rng = random.Random(seed)
    syllables = _SYLLABLES.split()
    voice = next(v for v in LANGUAGE_VOICES if v.name.startswith("cmn"))
    lines, prosodies = [], []
    for _ in range(count):
        words = [f"{rng.choice(syllables)}{rng.randint(1, 4)}" for _ in range(rng.randint(8, 16))]
        cut = rng.randint(3, len(words) - 3)
        lines.append(" ".join(words[:cut]) + ", " + " ".join(words[cut:]) + ".")
        prosodies.append(Prosody(rate=rng.uniform(0.85, 1.2), pitch=rng.uniform(0.8, 1.8)))
    clips = []
    for utt in synthesize(voice, lines, prosodies):
        y = resample_poly(utt.samples.astype(np.float64), SAMPLE_RATE, utt.sr).astype(np.float32)
        phones = [Phone(p.start, p.end, p.label) for p in utt.phones]
        clips.append(_clip(y, SAMPLE_RATE, phones))
    return clips


# -- scoring -------------------------------------------------------------------------------------


def _jaw(phones, clip: Clip, opening: np.ndarray | None, share: float) -> np.ndarray:
    from emote.animation.channels import index
    from emote.engines.phonetic import PhoneticSettings, animate_phones

    curves = animate_phones(phones, n_frames=clip.n, fps=FPS, energy=clip.tracks.energy, jaw_opening=opening,
                            settings=PhoneticSettings(heard_jaw=share))  # fmt: skip
    return curves[:, index("JawOpen")]


def targets(clips: list[Clip]) -> np.ndarray:
    """The jaw the reference phones imply, clips end to end."""
    return np.concatenate([_jaw(c.reference, c, None, 0.0) for c in clips])


def score(clips: list[Clip], target: np.ndarray, settings, share: float) -> float:
    """Pearson correlation of the recognised-phones-plus-heard-jaw ``JawOpen`` with the target."""
    from emote.audio.formants import opening_of

    jaw = np.concatenate([_jaw(c.recognised, c, opening_of(c.tracks, fps=FPS, settings=settings), share)
                          for c in clips])  # fmt: skip
    return float(np.corrcoef(jaw, target)[0, 1])


def run_network(clips: list[Clip], checkpoint: Path) -> None:
    """The network of ``checkpoint`` over each clip's audio, kept on the clip (the costly part, once)."""
    import torch

    from emote.engines.neural import load, network_inputs
    from emote.nn.features import speech_features

    model = load(checkpoint)
    for k, c in enumerate(clips):
        if c.network is None:
            feats = speech_features(c.y, sr=_rate(), settings=model.config.features)
            mel, weights = network_inputs(feats, model.config, fps=FPS, n_frames=c.n)
            with torch.inference_mode():
                out = model.net(torch.from_numpy(mel)[None], torch.from_numpy(weights)[None])
            c.network = (out[0].numpy(), mel)
        print(f"\r  network {k + 1}/{len(clips)}", end="", flush=True)
    print()


def _rate() -> int:
    from emote.audio.convert import SAMPLE_RATE

    return SAMPLE_RATE


def score_neural(clips: list[Clip], target: np.ndarray, settings, share: float, checkpoint: Path) -> float:
    """Pearson correlation of the neural engine's ``JawOpen`` (heard jaw at ``share``) with the target."""
    from emote.animation.channels import index
    from emote.audio.formants import opening_of
    from emote.engines.neural import finish_curves, load

    cfg = load(checkpoint).config
    jaw = [finish_curves(*c.network, cfg, fps=FPS, n_frames=c.n, heard_jaw=share,
                         jaw_opening=opening_of(c.tracks, fps=FPS, settings=settings))[:, index("JawOpen")]
           for c in clips]  # fmt: skip
    return float(np.corrcoef(np.concatenate(jaw), target)[0, 1])


def choose(sets: dict[str, list[Clip]], checkpoint: Path = NEURAL_MODEL) -> dict:
    """The heard jaw's settings, then its share.

    The settings: every combination of :data:`GRID`, the heard jaw alone (share 1) scored
    on every set, the best by the mean over sets (real English speech tests F1 tracking
    on a real voice, Mandarin the language). The share: each of :data:`SHARES` with those
    settings, the best on :data:`SHARE_SET`, where the heard jaw is used; then the neural
    engine's share on :data:`SHARE_SET` the same way (its clips' ``network`` filled).
    """
    from emote.audio.formants import HeardJawSettings

    wanted = {name: targets(clips) for name, clips in sets.items()}
    combos = [dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())]
    grid, t0 = [], time.time()
    for k, combo in enumerate(combos):
        row = {**combo, **{name: score(clips, wanted[name], HeardJawSettings(**combo), 1.0)
                           for name, clips in sets.items()}}  # fmt: skip
        row["mean"] = float(np.mean([row[name] for name in sets]))
        grid.append(row)
        print(f"\r  {k + 1}/{len(combos)} settings ({time.time() - t0:.0f} s)", end="", flush=True)
    print()
    settings = {k: v for k, v in max(grid, key=lambda r: r["mean"]).items() if k in GRID}
    by_share = []
    for share in SHARES:
        row = {"share": share, **{name: score(clips, wanted[name], HeardJawSettings(**settings), share)
                                  for name, clips in sets.items()}}  # fmt: skip
        by_share.append(row)
    share = max(by_share, key=lambda r: r[SHARE_SET])["share"]
    run_network(sets[SHARE_SET], checkpoint)  # a clip whose network has run is skipped
    neural_by_share = [
        {"share": s, SHARE_SET: score_neural(sets[SHARE_SET], wanted[SHARE_SET], HeardJawSettings(**settings), s,
                                             checkpoint)}
        for s in SHARES
    ]  # fmt: skip
    neural_share = max(neural_by_share, key=lambda r: r[SHARE_SET])["share"]
    loud = {}
    for name, clips in sets.items():
        energy = np.concatenate([c.tracks.energy for c in clips])
        loud[name] = float(np.corrcoef(energy, wanted[name])[0, 1])
    return {"settings": settings, "share": share, "by_share": by_share, "loudness_only": loud,
            "neural_model": checkpoint.name, "neural_share": neural_share, "neural_by_share": neural_by_share,
            "grid": sorted(grid, key=lambda r: -r["mean"])}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shared = REPO.parent / "shared" / "data" / "train-speech"
    parser.add_argument("--ljspeech", type=Path, default=shared / "ljspeech")
    parser.add_argument("--english-clips", type=int, default=120)
    parser.add_argument("--mandarin-lines", type=int, default=80)
    parser.add_argument("--cache", type=Path, help="keep the analysed material here (a pickle) between runs")
    parser.add_argument(
        "--neural-model",
        type=Path,
        default=NEURAL_MODEL,
        help="the neural candidate's model (default: the neural default outside English)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave the result file alone")
    args = parser.parse_args()
    if not (args.ljspeech / "metadata.csv").is_file():
        sys.exit(f"{args.ljspeech}: no metadata.csv (LJSpeech training clips expected)")
    if not args.neural_model.is_file():
        sys.exit(f"{args.neural_model}: model file not found")
    started, cached = time.time(), bool(args.cache and args.cache.is_file())

    if args.cache and args.cache.is_file():
        sets = pickle.loads(args.cache.read_bytes())
    else:
        print("analysing the material", flush=True)
        sets = {"english_ljspeech": english(args.ljspeech, args.english_clips),
                "mandarin_espeak": mandarin(args.mandarin_lines)}  # fmt: skip
    if any(c.network is None for c in sets[SHARE_SET]):
        run_network(sets[SHARE_SET], args.neural_model)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(sets))
    minutes = {name: round(sum(c.n for c in clips) / FPS / 60, 2) for name, clips in sets.items()}
    print(f"material (minutes): {minutes}", flush=True)
    t0 = time.time()
    result = choose(sets, args.neural_model)
    for row in result["by_share"]:
        print(f"share {row['share']:.2f}: " + ", ".join(f"{k} {row[k]:.3f}" for k in sets))
    print(f"loudness only: {', '.join(f'{k} {v:.3f}' for k, v in result['loudness_only'].items())}")
    for row in result["neural_by_share"]:
        print(f"neural share {row['share']:.2f}: {SHARE_SET} {row[SHARE_SET]:.3f}")
    print(f"chosen: {result['settings']}, share {result['share']}, neural share {result['neural_share']} "
          f"({time.time() - t0:.0f} s choosing)")  # fmt: skip
    if not args.no_write:
        result.update({"material_minutes": minutes, "english_clips": args.english_clips,
                       "mandarin_lines": args.mandarin_lines, "seconds": round(time.time() - started),
                       "cached_material": cached})  # fmt: skip
        print(f"wrote {write_results('heard_jaw_choice', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
