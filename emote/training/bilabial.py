"""Training the bilabial-closure detector (:mod:`emote.audio.bilabial`) on speech no benchmark scores.

Usage::

    python -m emote.training.bilabial [--ljspeech ../shared/data/train-speech/ljspeech]
                                      [--cache .emote_data/bilabial.npz] [--out emote/audio/bilabial.json]

Material, every frame labelled closed when it lies in a /p b m/ interval
(:func:`emote.phonetics.phoneset.frames_in` at 50 Hz, as the metrics read it; the
frames just either side of one count neither way, since where a closure starts
is a convention that differs between the sources):

- **espeak-ng voice variants in 25 languages** (:data:`LANGUAGES`; the 15 of
  ``benchmarks/languages.py`` and ten more), with exact phone timings
  (:func:`emote.training.data.tts.synthesize`). Never the plain voices the benchmark
  speaks: each line is read by a variant (``es+m3``, ``ru+klatt2``, ``ja+Annie``...)
  at a drawn rate and pitch. The text is the system's translated program messages
  (gettext catalogs under ``/usr/share/locale/<lang>/LC_MESSAGES``): real sentences
  of every language, none of them the benchmark's.
- **LJSpeech** (``../shared/data/train-speech/ljspeech``, public domain): recorded
  speech, phones by the English forced aligner (:func:`emote.audio.align.align`).

Held out to choose the threshold (never fitted): the voice variants
:data:`HELD_OUT_VARIANTS` in every language, the languages :data:`HELD_OUT_LANGUAGES`
entirely, and every fifth LJSpeech clip. The threshold maximises the F1 of closure
*events* on that material: a true bilabial is found when a frame of it, or of the
frame either side, is at or over the threshold; a run of such frames is a false
alarm when it touches no bilabial.

The model (:class:`emote.audio.bilabial.ClosureDetector`) has one hidden layer of 32
rectified units; it is fitted by :func:`fit`, the closed frames weighted up to balance
the classes.
"""

from __future__ import annotations

import argparse
import gettext
import json
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emote.audio.bilabial import ClosureDetector, closure_features, group_pool, runs
from emote.audio.convert import SAMPLE_RATE
from emote.audio.phones import Phone
from emote.phonetics.phoneset import BILABIALS, frames_in, to_segments

__all__ = ["LANGUAGES", "Example", "catalog_lines", "fit", "main"]

# espeak-ng voice -> gettext locale of its text.
LANGUAGES: dict[str, str] = {
    "es": "es", "fr": "fr", "de": "de", "it": "it", "pt": "pt", "ru": "ru", "ja": "ja", "ko": "ko",
    "cmn-latn-pinyin": "zh_CN", "nl": "nl", "pl": "pl", "tr": "tr", "sv": "sv", "el": "el", "hi": "hi",
    "cs": "cs", "fi": "fi", "hu": "hu", "ro": "ro", "uk": "uk", "vi": "vi", "id": "id", "da": "da",
    "nb": "nb", "ca": "ca",
}  # fmt: skip
TRAIN_VARIANTS = ("m1", "m2", "m4", "m5", "m7", "f1", "f2", "f4", "klatt2", "klatt4",
                  "Andy", "Annie", "adam", "benjamin", "edward", "linda", "max", "norbert", "quincy", "steph")  # fmt: skip
HELD_OUT_VARIANTS = ("m3", "m6", "f3", "f5", "klatt3", "Alicia", "david", "robert")
HELD_OUT_LANGUAGES = ("cs", "uk", "ca")
_NON_LATIN = {"ru", "uk", "el", "hi", "ja", "ko", "zh_CN"}
LOCALE = Path("/usr/share/locale")


@dataclass
class Example:
    """One utterance's detector rows and labels (1 closed, 0 open, -1 neither)."""

    features: np.ndarray
    labels: np.ndarray
    source: str
    held_out: bool


def catalog_lines(locale: str, *, n: int, rng: random.Random, root: Path = LOCALE) -> list[str]:
    """``n`` sentences of a language from the system's gettext catalogs (translated messages).

    Messages with markup, paths, format codes or (in a language not written in Latin
    letters) Latin letters are skipped; the rest are cleaned of mnemonics and spacing.
    """
    found: set[str] = set()
    for mo in sorted((root / locale / "LC_MESSAGES").glob("*.mo")):
        try:
            with mo.open("rb") as f:
                catalog = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
        except (OSError, ValueError):  # unreadable, or not UTF-8
            continue
        for text in catalog.values():
            if not isinstance(text, str):
                continue
            text = re.sub(r"\s+", " ", text.replace("_", "").replace("&", "")).strip()
            if not 25 <= len(text) <= 140 or re.search(r"[%{}<>/\\=|@#$*\[\]`~^]|--|\d", text):
                continue
            if re.search(r"[A-Za-z]", text) and (
                locale in _NON_LATIN or re.search(r"[A-Z]{2}|[a-z][A-Z]", text)
            ):
                continue  # names of programs and acronyms, read as English or letter by letter
            found.add(text)
    lines = sorted(found)
    rng.shuffle(lines)
    return lines[:n]


def _labels(phones: list[Phone], n: int) -> np.ndarray:
    """Per 20 ms frame: 1 inside a bilabial, -1 on the frame either side of one, else 0."""
    labels = np.zeros(n, np.int8)
    seg = to_segments(phones)
    closed = [frames_in(seg.start[i], seg.end[i], fps=50.0, n_frames=n) for i in seg.where(BILABIALS)]
    for frames in closed:
        if frames.size:
            labels[max(frames[0] - 1, 0) : frames[-1] + 2] = -1
    for frames in closed:
        labels[frames] = 1
    return labels


def _example(y: np.ndarray, sr: int, phones: list[Phone], source: str, held_out: bool) -> Example:
    from emote.audio.recognize import hama_encoding, ipa_classes, ipa_posteriors_of

    if sr != SAMPLE_RATE:
        import soxr

        y = soxr.resample(y, sr, SAMPLE_RATE)
    encoding = hama_encoding(y)
    features = closure_features(y, ipa_posteriors_of(encoding), encoding, group_pool(ipa_classes()))
    features = features.astype(np.float16)
    return Example(features, _labels(phones, features.shape[0]), source, held_out)


def synthetic_examples(lines_per_voice: int, voices_per_language: int, seed: int) -> Iterator[Example]:
    """espeak-ng variants reading catalog sentences, with exact timings (see the module docstring)."""
    from emote.training.data.tts import Prosody, TTSError, Voice, synthesize

    rng = random.Random(seed)
    for voice_name, locale in LANGUAGES.items():
        texts = catalog_lines(locale, n=lines_per_voice * voices_per_language, rng=rng)
        if not texts:
            print(f"  {voice_name}: no catalog text under {LOCALE / locale}, skipped", file=sys.stderr)
            continue
        variants = rng.sample(TRAIN_VARIANTS, voices_per_language - 2) + rng.sample(HELD_OUT_VARIANTS, 2)
        for k, variant in enumerate(variants):
            chunk = texts[k * lines_per_voice : (k + 1) * lines_per_voice]
            prosodies = [Prosody(rate=rng.uniform(0.8, 1.35), pitch=rng.uniform(0.8, 1.3)) for _ in chunk]
            voice = Voice("espeak", f"{voice_name}+{variant}", ipa=True)
            held = variant in HELD_OUT_VARIANTS or voice_name in HELD_OUT_LANGUAGES
            for text, prosody in zip(chunk, prosodies, strict=True):
                try:
                    (utt,) = synthesize(voice, [text], [prosody])
                except TTSError as err:  # a phoneme without an IPA reading: skip the line
                    print(f"  {voice.name}: {err}", file=sys.stderr)
                    continue
                yield _example(utt.samples, utt.sr, utt.phones, f"espeak:{voice.name}", held)


def ljspeech_examples(folder: Path, limit: int) -> Iterator[Example]:
    """LJSpeech clips with phones by the English forced aligner; every fifth clip held out."""
    from emote.audio.align import align
    from emote.audio.io import load_audio
    from emote.errors import EmoteError

    rows = [line.split("|") for line in (folder / "metadata.csv").read_text(encoding="utf-8").splitlines()]
    for k, row in enumerate(rows[:limit]):
        path = folder / f"{row[0]}.opus"
        if len(row) < 3 or not path.is_file():
            continue
        sound = load_audio(path)
        try:
            phones = list(align(y=sound.samples, sr=sound.sr, text=row[2]).phones)
        except EmoteError:
            continue
        yield _example(sound.samples, sound.sr, phones, f"ljspeech:{row[0]}", k % 5 == 4)


def fit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    hidden: int = 32,
    epochs: int = 12,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The layers of a network (one rectified hidden layer, none with ``hidden=0``) fitted to ``y``.

    Binary cross-entropy with the closed frames weighted up to balance the classes, Adam
    (Kingma & Ba 2015), mini-batches of 512, PyTorch on the CPU.
    """
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    d = x.shape[1]
    net = (
        torch.nn.Sequential(torch.nn.Linear(d, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))
        if hidden
        else torch.nn.Sequential(torch.nn.Linear(d, 1))
    )
    positives = max(int(y.sum()), 1)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor((len(y) - positives) / positives))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=weight_decay)
    target = torch.from_numpy(y.astype(np.float32))
    inputs = torch.from_numpy(np.asarray(x, np.float32))
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(y)))
        for k in range(0, len(y), 512):
            batch = order[k : k + 512]
            opt.zero_grad()
            loss = loss_fn(net(inputs[batch])[:, 0], target[batch])
            loss.backward()
            opt.step()
    linear = [m for m in net if isinstance(m, torch.nn.Linear)]
    return tuple((m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in linear)


def event_scores(probability: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[int, int, int, int]:
    """(bilabials, found, runs, false alarms) of one utterance at ``threshold``."""
    on = probability >= threshold
    closed = labels == 1
    near = closed | (labels == -1)
    bilabials, heard = runs(closed), runs(on)
    found = sum(bool(on[max(a - 1, 0) : b + 1].any()) for a, b in bilabials)  # within a frame of it
    alarms = sum(not near[a:b].any() for a, b in heard)
    return len(bilabials), found, len(heard), alarms


def choose_threshold(probs: list[np.ndarray], labels: list[np.ndarray]) -> tuple[float, dict]:
    """The threshold of the best event F1 over the held-out utterances, and its scores."""
    best: tuple[float, float, dict] = (-1.0, 0.5, {})
    for threshold in np.round(np.arange(0.3, 0.991, 0.01), 3):
        total = np.sum(
            [event_scores(p, lab, threshold) for p, lab in zip(probs, labels, strict=True)], axis=0
        )
        bilabials, found, runs, alarms = (int(v) for v in total)
        recall = found / max(bilabials, 1)
        precision = (runs - alarms) / max(runs, 1)
        f1 = 2 * recall * precision / max(recall + precision, 1e-9)
        if f1 > best[0]:
            best = (f1, float(threshold), {"recall": round(recall, 4), "precision": round(precision, 4),
                                           "f1": round(f1, 4), "bilabials": bilabials})  # fmt: skip
    return best[1], best[2]


def _collect(args: argparse.Namespace) -> list[Example]:
    from emote.io.atomic import atomic_write

    if args.cache.is_file():
        with np.load(args.cache) as z:
            cuts = np.cumsum(z["lengths"])[:-1]
            features, labels = np.split(z["features"], cuts), np.split(z["labels"], cuts)
            rows = zip(features, labels, z["sources"], z["held_out"], strict=True)
            return [Example(f, lab, str(src), bool(h)) for f, lab, src, h in rows]
    examples: list[Example] = []
    for ex in synthetic_examples(args.lines, args.voices, args.seed):
        examples.append(ex)
        if len(examples) % 50 == 0:
            print(f"  {len(examples)} utterances ({ex.source})", flush=True)
    if args.ljspeech.is_dir():
        for ex in ljspeech_examples(args.ljspeech, args.ljspeech_clips):
            examples.append(ex)
            if len(examples) % 50 == 0:
                print(f"  {len(examples)} utterances ({ex.source})", flush=True)
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.cache, mode="wb") as f:
        np.savez(f, features=np.concatenate([e.features for e in examples]).astype(np.float16),
                 labels=np.concatenate([e.labels for e in examples]),
                 lengths=np.array([len(e.labels) for e in examples]),
                 sources=np.array([e.source for e in examples]),
                 held_out=np.array([e.held_out for e in examples]))  # fmt: skip
    return examples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emote.training.bilabial", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2],
    )  # fmt: skip
    repo = Path(__file__).resolve().parents[2]
    parser.add_argument(
        "--ljspeech",
        type=Path,
        default=repo.parent / "shared/data/train-speech/ljspeech",
        help="LJSpeech clips with metadata.csv (skipped when missing)",
    )
    parser.add_argument("--ljspeech-clips", type=int, default=483, help="clips read (default 483)")
    parser.add_argument("--lines", type=int, default=16, help="lines per voice variant (default 16)")
    parser.add_argument("--voices", type=int, default=8, help="voice variants per language (default 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--hidden", type=int, default=32, help="hidden units (default 32; 0: logistic regression)"
    )
    parser.add_argument("--epochs", type=int, default=12, help="passes over the material (default 12)")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(".emote_data/bilabial.npz"),
        help="features of the material, reused when present (delete to regenerate)",
    )
    parser.add_argument("--out", type=Path, default=repo / "emote/audio/bilabial.json")
    args = parser.parse_args(argv)

    from emote.io.atomic import atomic_write

    examples = _collect(args)
    train = [e for e in examples if not e.held_out]
    held = [e for e in examples if e.held_out]
    x = np.concatenate([e.features for e in train]).astype(np.float16)
    y = np.concatenate([e.labels for e in train])
    keep = y >= 0
    print(f"fitting on {keep.sum()} frames ({int((y == 1).sum())} closed) of {len(train)} utterances; "
          f"{len(held)} held out", flush=True)  # fmt: skip
    layers = fit(x[keep], y[keep], hidden=args.hidden, epochs=args.epochs, seed=args.seed)
    model = ClosureDetector(layers, 0.5)
    probs = [model.probability(e.features.astype(np.float32)) for e in held]
    threshold, scores = choose_threshold(probs, [e.labels for e in held])
    per_source = {}
    for kind in ("espeak", "ljspeech"):
        sel = [(p, e.labels) for p, e in zip(probs, held, strict=True) if e.source.startswith(kind)]
        if sel:
            total = np.sum([event_scores(p, lab, threshold) for p, lab in sel], axis=0)
            per_source[kind] = {"recall": round(int(total[1]) / max(int(total[0]), 1), 4),
                                "false_alarms": int(total[3]), "runs": int(total[2])}  # fmt: skip
    print(f"threshold {threshold}: held-out {scores}; by source {per_source}")
    detector = ClosureDetector(layers, threshold)
    payload = detector.to_json(
        trained_on={"espeak_languages": sorted(LANGUAGES), "train_variants": list(TRAIN_VARIANTS),
                    "held_out_variants": list(HELD_OUT_VARIANTS), "held_out_languages": list(HELD_OUT_LANGUAGES),
                    "text": "gettext catalogs of /usr/share/locale", "ljspeech_clips": args.ljspeech_clips,
                    "utterances": len(train), "held_out_utterances": len(held), "seed": args.seed, "hidden": args.hidden, "epochs": args.epochs},
        held_out=scores | {"by_source": per_source},
    )  # fmt: skip
    with atomic_write(args.out, mode="w") as f:
        json.dump(payload, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
