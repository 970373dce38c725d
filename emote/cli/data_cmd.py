"""`emote data`: make training data — a TTS corpus, or imported real takes — and inspect it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EPILOG = """\
examples:
  emote data generate data/tts --minutes-per-voice 11 --seed 0     # TTS corpus (flite, festival, espeak-ng)
  emote data generate data/langs --languages all --minutes-per-voice 1.5   # 15 languages, IPA phones
  emote data import data/actor --audio take1.wav --curves take1.csv --emotion happy
  emote data import data/actor --audio a.wav --curves a.npy --names names.txt --fps 60
  emote data speech .emote_data/recorded ../shared/data/train-speech/ljspeech ../shared/data/train-speech/librispeech
  emote data info data/tts
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="make or import training data (sharded dataset)",
        description="Make training data for `emote train`: a TTS corpus with exact phone timings, "
        "or real takes (audio + Live Link Face CSV or named curves).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = p.add_subparsers(dest="data_command", metavar="VERB", required=True)

    g = verbs.add_parser("generate", help="synthesise a TTS corpus (resumes an interrupted run)")
    g.add_argument("out", type=Path, help="dataset folder")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument(
        "--minutes-per-voice", type=float, default=11.0, help="audio per training voice (default 11)"
    )
    g.add_argument(
        "--val-minutes-per-voice", type=float, default=4.0, help="audio per held-out voice (default 4)"
    )
    g.add_argument("--voices", help="comma-separated voice ids (default: every installed voice)")
    g.add_argument("--val-voices", help="comma-separated held-out voice ids")
    g.add_argument(
        "--languages",
        help="comma-separated language codes (es,fr,de,it,pt,ru,ja,ko,zh,nl,pl,tr,sv,el,hi) or 'all': "
        "the two espeak-ng training voices of each, speaking generated lines of the language, phones "
        "in IPA (instead of the English voices; added to --voices when both are given)",
    )
    g.add_argument(
        "--no-phones",
        action="store_true",
        help="store log-mel only, not the phone recogniser's posteriors (smaller, but models "
        "trained on it carry over to real speech less well)",
    )
    g.add_argument(
        "--stream-posteriors",
        metavar="LO,HI",
        help="store the phone posteriors a live stream's recogniser gives (each utterance hears LO to HI "
        "seconds of audio after every frame, e.g. 0.04,0.14) instead of the whole clip's: data for a "
        "network that streams (docs/training.md)",
    )
    g.add_argument("--list-voices", action="store_true", help="list the known voices and exit")
    g.set_defaults(run=run_generate)

    s = verbs.add_parser(
        "speech",
        help="recorded speech (no face data) into shards: aligned or recognised phones + the phonetic teacher",
        description="Turn folders of recorded speech into training shards. Clips with a transcript "
        "(LJSpeech metadata.csv, or a .txt/.lab beside the audio) get phones by forced alignment; "
        "clips without one get recognised phones and a per-frame confidence weight that training "
        "uses to mask doubtful frames. The phonetic engine turns the phones into the mouth "
        "(the same teacher as `emote data generate`). Speakers, not clips, are held out. "
        "An interrupted run resumes.",
    )
    s.add_argument("out", type=Path, help="dataset folder")
    s.add_argument("folders", type=Path, nargs="+", help="speech folders (one corpus each)")
    s.add_argument("--seed", type=int, default=0, help="seeds the emotion tracks (default 0)")
    s.add_argument("--val-share", type=float, default=0.1,
                   help="share of a multi-speaker corpus's speakers held out (default 0.1)")  # fmt: skip
    s.add_argument("--stream-posteriors", metavar="LO,HI",
                   help="store the phone posteriors a live stream's recogniser gives, as for `generate`")  # fmt: skip
    s.set_defaults(run=run_speech)

    i = verbs.add_parser("import", help="add real takes (audio + curves) to a dataset")
    i.add_argument("out", type=Path, help="dataset folder (created or extended)")
    i.add_argument(
        "--audio", type=Path, action="append", required=True, help="audio of a take (repeat per take)"
    )
    i.add_argument("--curves", type=Path, action="append", required=True,
                   help="its curves: Live Link Face CSV, emote JSON/NPZ, .npy or named-column .csv (repeat)")  # fmt: skip
    i.add_argument(
        "--names", type=Path, help="channel names for .npy curves (one per line or comma-separated)"
    )
    i.add_argument("--fps", type=float, help="frame rate of .npy / generic CSV curves")
    i.add_argument(
        "--emotion", help="emotion the takes were performed with (default: unknown, trained as neutral)"
    )
    i.add_argument("--intensity", type=float, default=1.0)
    i.add_argument(
        "--channels", help="comma-separated channels to keep (default: ARKit face minus blinks/eye look)"
    )
    i.add_argument("--split", choices=("train", "val"), default="train")
    i.add_argument("--name", default="import", help="shard name (default: import)")
    i.add_argument("--style", help="speaker/style name stored with the takes")
    i.set_defaults(run=run_import)

    n = verbs.add_parser("info", help="print a dataset's counts")
    n.add_argument("dataset", type=Path)
    n.add_argument("--json", action="store_true")
    n.set_defaults(run=run_info)


def _ids(text: str | None) -> tuple[str, ...] | None:
    return tuple(v.strip() for v in text.split(",") if v.strip()) if text else None


def run_generate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from emote.cli.progress import ProgressBar
    from emote.errors import EmoteError
    from emote.training.data.corpus import ALL_VOICES, CorpusSettings, generate_corpus, language_voice_ids
    from emote.training.data.tts import available_voices

    if args.list_voices:
        installed = {v.id for v in available_voices(ALL_VOICES)}
        for v in ALL_VOICES:
            print(f"{v.id:32s} {v.language:3s} {'installed' if v.id in installed else 'missing'}")
        return 0
    s = CorpusSettings(seed=args.seed, minutes_per_voice=args.minutes_per_voice,
                       validation_minutes_per_voice=args.val_minutes_per_voice)  # fmt: skip
    if args.no_phones:
        s = replace(s, features=replace(s.features, phones=False))
    if args.stream_posteriors:
        s = replace(s, stream_posteriors=_stream_posteriors(args.stream_posteriors))
    voices = _ids(args.voices) or ()
    if _ids(args.languages):
        try:
            voices += language_voice_ids(_ids(args.languages) or ())
        except EmoteError as err:
            raise EmoteError(f"--languages: {err}") from None
    if voices:
        s = replace(s, voices=voices)
    if _ids(args.val_voices):
        s = replace(s, validation_voices=_ids(args.val_voices))
    with ProgressBar(desc="generate") as bar:
        manifest = generate_corpus(args.out, s, progress=lambda f: bar.update(f, "generate"))
    _print_counts(manifest["counts"])
    return 0


def _stream_posteriors(value: str | None) -> tuple[float, float] | None:
    """``--stream-posteriors LO,HI`` read and checked (None when not given)."""
    from emote.errors import EmoteError

    if not value:
        return None
    try:
        lo, hi = (float(v) for v in value.split(","))
    except ValueError:
        raise EmoteError(f"--stream-posteriors: expected LO,HI in seconds, got {value!r}") from None
    if not 0.0 <= lo <= hi <= 5.0:
        raise EmoteError(f"--stream-posteriors: need 0 <= LO <= HI <= 5 seconds, got {value!r}")
    return lo, hi


def run_speech(args: argparse.Namespace) -> int:
    from emote.cli.progress import ProgressBar
    from emote.errors import EmoteError
    from emote.training.data.speech import SpeechSettings, generate_speech_shards

    if not 0.0 <= args.val_share < 1.0:
        raise EmoteError(f"--val-share must be in [0, 1), got {args.val_share}")
    settings = SpeechSettings(seed=args.seed, val_share=args.val_share,
                              stream_posteriors=_stream_posteriors(args.stream_posteriors))  # fmt: skip
    with ProgressBar(desc="speech") as bar:
        manifest = generate_speech_shards(args.folders, args.out, settings,
                                          progress=lambda f: bar.update(f, "speech"))  # fmt: skip
    _print_counts(manifest["counts"])
    gen = manifest["generation"]
    print(f"held-out speakers: {len(manifest['val_speakers'])}   skipped clips: {len(manifest['skipped'])}   "
          f"made {gen['audio_seconds'] / 60:.1f} min of audio in {gen['seconds']:.0f} s")  # fmt: skip
    return 0


def run_import(args: argparse.Namespace) -> int:
    from emote.errors import EmoteError
    from emote.training.data.importer import Take, import_takes

    if len(args.audio) != len(args.curves):
        raise EmoteError(
            f"{len(args.audio)} --audio but {len(args.curves)} --curves; give one of each per take"
        )
    takes = [Take(str(a), str(c), names=str(args.names) if args.names else None, emotion=args.emotion,
                  intensity=args.intensity) for a, c in zip(args.audio, args.curves, strict=True)]  # fmt: skip
    manifest = import_takes(takes, args.out, fps=args.fps, channels=_ids(args.channels), split=args.split,
                            name=args.name, style=args.style)  # fmt: skip
    _print_counts(manifest["counts"])
    return 0


def run_info(args: argparse.Namespace) -> int:
    from emote.training.data.shards import read_manifest

    manifest = read_manifest(args.dataset)
    if args.json:
        print(json.dumps(manifest["counts"], indent=1))
    else:
        _print_counts(manifest["counts"])
    return 0


def _print_counts(counts: dict) -> None:
    print(f"items: {counts['items']}   hours: {counts['hours_total']:.2f} "
          f"({', '.join(f'{k} {v:.2f}' for k, v in counts['hours'].items())})")  # fmt: skip
    print("voices/sources (hours): " + ", ".join(f"{k} {v:.2f}" for k, v in counts["voices_hours"].items()))
    print("emotions (items): " + ", ".join(f"{k} {v}" for k, v in counts["emotions_items"].items()))
