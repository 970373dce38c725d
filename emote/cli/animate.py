"""`emote animate`: audio (+ transcript) + emotion → curve files (and, with --render, video)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from emote.cli.rig_options import add_render_options, add_rig_options, load_rig_from_args, render_outputs
from emote.engines import ENGINES
from emote.errors import AudioError, EmoteError, TranscriptError, file_error
from emote.export import REGISTRY, get_format

log = logging.getLogger("emote.cli")

FORMATS = tuple(f.option for f in REGISTRY)
MESH_FORMATS = tuple(f.option for f in REGISTRY if f.needs_mesh)
# Output file (or folder) name suffix for each --format value.
SUFFIX = {f.option: f.output_suffix for f in REGISTRY}


def _outputs_help() -> str:
    """The outputs table of ``--help``, from the format registry."""
    rows = []
    for f in REGISTRY:
        out = "NAME" + f.output_suffix + ("/" if f.output_suffix.startswith("_") else "")
        rows.append(f"  {f.option:<10} {out:<19} {f.description}")
    return "\n".join(rows)


EPILOG = """\
phones: with --text, --text-file or a .txt/.lab file beside the audio the transcript is
force-aligned to the audio; with --timings a Praat TextGrid or CSV (start,end,phone) is used
as is; otherwise phones are recognised from the audio alone.

languages: --language names the language of the speech as espeak-ng does (es, fr, de, it, pt,
ru, ja, ko, zh, nl, pl, tr, sv, ...; an unknown name lists them). A transcript in another
language than English is turned into IPA phones by espeak-ng and aligned to the audio by the
phone recogniser; without a transcript the recognised IPA phones drive the face in any
language (--language auto, the default). English transcripts keep the English aligner.

emotions: neutral, happy, sad, surprised, fear, disgusted, angry, contempt (`emote emotions`).
An emotion track is a JSON file of timed segments, e.g. examples/track.json.

outputs (in OUTDIR, named after the audio file unless --name is given):
{outputs}
  --render   NAME.mp4            H.264 video with the audio (--grid: NAME.grid.mp4, one face per emotion)

examples:
  emote animate line.wav --render -o out/                         # curves + video on the built-in head
  emote animate line.wav --rig head.glb --format glb --render -o out/
  emote animate line.wav --rig ict-facekit --rig-path ICT-FaceKit/ --render --preview-png -o out/
  emote animate line.wav --grid happy,sad,angry,surprised -o out/
  emote animate linea.wav --language es --text "Mi padre compró un mapa" -o out/
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "animate",
        help="animate a face from an audio file",
        description="Animate a face from speech: write rig curves for an audio file.",
        epilog=EPILOG.format(outputs=_outputs_help()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("audio", type=Path, help="speech audio: wav, flac, mp3, ogg/opus (any rate, mono/stereo)")
    p.add_argument(
        "-o", "--out", type=Path, default=Path("out"), metavar="OUTDIR", help="output folder (default: out)"
    )
    text = p.add_mutually_exclusive_group()
    text.add_argument("--text", help="transcript of the speech (improves lip-sync)")
    text.add_argument("--text-file", type=Path, help="file holding the transcript")
    text.add_argument("--timings", type=Path, help="phone timings: Praat TextGrid or CSV (start,end,phone)")
    text.add_argument("--no-text", action="store_true", help="ignore a .txt/.lab beside the audio")
    p.add_argument(
        "--language", default="auto", metavar="LANG",
        help="language of the speech as espeak-ng names it: en, es, fr, de, zh, ja... (default: auto: "
        "English for a transcript; recognised IPA phones of any language without one)",
    )  # fmt: skip
    emo = p.add_mutually_exclusive_group()
    emo.add_argument("--emotion", default="neutral", help="emotion for the whole clip (default: neutral)")
    emo.add_argument("--emotion-track", type=Path, metavar="JSON", help="time-varying emotion track file")
    p.add_argument("--intensity", type=float, default=1.0, help="emotion intensity 0..1 (default: 1)")
    p.add_argument("--fps", type=float, default=30.0, help="frames per second of the curves (default: 30)")
    p.add_argument(
        "--engine", choices=ENGINES, default="phonetic",
        help="phonetic: phones -> coarticulated visemes (default, best on real speech with a "
        "transcript); neural: the EMOTE-style network in checkpoints/, reading the audio and the phone "
        "recogniser (a transcript or --timings still closes its lips; see checkpoints/MODEL_CARD.md)",
    )  # fmt: skip
    p.add_argument(
        "--model", metavar="NAME|FILE",
        help="the neural engine's model: tts or multilingual (also taught fifteen other languages; mixed "
        "on English, see checkpoints/MODEL_CARD.md), or a model file (default: multilingual when "
        "--language names a language other than English, else tts)",
    )  # fmt: skip
    p.add_argument(
        "--format",
        default="csv,json,npz,metahuman",
        help=f"comma-separated formats: {', '.join(FORMATS)} (default: the four curve formats)",
    )
    p.add_argument("--name", help="base name of the output files (default: the audio file's name)")
    p.add_argument("--seed", type=int, default=0, help="seed for blinks, gaze and head motion (default: 0)")
    p.add_argument("--no-blinks", action="store_true", help="no blinks")
    p.add_argument("--no-gaze", action="store_true", help="no gaze saccades")
    p.add_argument("--no-head", action="store_true", help="no head motion")
    p.add_argument(
        "--stage-timings", action="store_true",
        help="keep each stage's wall seconds in the JSON/NPZ metadata (off: two runs write identical files)",
    )  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_rig_options(p)
    add_render_options(p, optional=True)
    p.set_defaults(run=run)


def parse_formats(spec: str) -> list[str]:
    """``--format``'s comma-separated names (or aliases: ``livelink``, ``mh``) as options, in order."""
    names = [f.strip() for f in spec.split(",") if f.strip()]
    formats, bad = [], []
    for name in names:
        try:
            formats.append(get_format(name).option)
        except EmoteError:
            bad.append(name)
    if bad or not formats:
        raise EmoteError(
            f"--format: unknown format {', '.join(bad) or spec!r}; choose from {', '.join(FORMATS)}"
        )
    return list(dict.fromkeys(formats))


def run(args: argparse.Namespace) -> int:
    from emote import limits
    from emote.api import analyse, check_engine, emotion_track_for, perform_speech
    from emote.cli.progress import ProgressBar
    from emote.cli.rig_options import render_settings
    from emote.io.atomic import staged_outputs, sweep_stale_temporaries
    from emote.performance import PerformanceSettings

    # Every setting, input and output is checked before the audio is decoded.
    formats = parse_formats(args.format)
    limits.check_fps(args.fps, what="--fps")
    text = read_transcript(args.text_file) if args.text_file is not None else args.text
    track = emotion_track_for(
        args.emotion if args.emotion_track is None else None, args.intensity, args.emotion_track
    )
    grid = _grid_emotions(args.grid)
    rendering = bool(args.render or args.preview_png or grid)
    if rendering:
        render_settings(args)  # --size / --background
    name = args.name if args.name is not None else args.audio.name.split(".")[0]
    suffixes = [SUFFIX[f] for f in formats] + ([".mp4", ".grid.mp4", ".png"] if rendering else [])
    limits.check_output_name(name, suffixes)
    limits.check_output_folder(args.out)
    limits.check_regular_file(args.audio, AudioError, "audio file")
    # The rig is loaded before the audio is analysed: a bad rig fails fast.
    needs_mesh = args.render or args.preview_png or grid or any(f in MESH_FORMATS for f in formats)
    rig = (
        load_rig_from_args(args, for_render=not any(f in MESH_FORMATS for f in formats))
        if needs_mesh
        else None
    )
    if args.model is not None:
        check_engine(args.engine, args.model)
    performance = dict(
        engine=args.engine,
        model=args.model,
        performance=PerformanceSettings(
            seed=args.seed, blinks=not args.no_blinks, gaze=not args.no_gaze, head=not args.no_head
        ),
    )
    with ProgressBar(disable=args.quiet, desc=args.audio.name) as bar:
        speech = analyse(
            args.audio, text=text, timings=args.timings, use_transcript_file=not args.no_text, fps=args.fps,
            recognise=args.engine != "neural", language=args.language, progress=bar.update,
        )  # fmt: skip
        anim = perform_speech(speech, emotion_track=track, stage_timings=args.stage_timings, **performance)
    # Leftovers of an earlier run that was killed (its process is gone); a live run's are kept.
    for stale in sweep_stale_temporaries(args.out):
        log.info("removed %s, left by a run that was killed", stale)
    # All outputs or none: a disk filling up at the fourth file leaves no partial set behind.
    with staged_outputs(args.out) as stage:
        written = [write_output(anim, stage / f"{name}{SUFFIX[f]}", f, rig) for f in formats]
        if rendering:
            variants = [
                (e, perform_speech(speech, emotion=e, intensity=args.intensity, **performance)) for e in grid
            ]
            if grid and not args.render:
                args.render = True
            written += render_outputs(rig, anim, stage, name, args, variants=variants or None)
    written = [args.out / path.relative_to(stage) for path in written]
    for path in written:
        print(path)
    print(
        f"{anim.n_frames} frames @ {anim.fps:g} fps ({anim.duration:.2f} s), "
        + ("the network heard the phones" if speech.source == "none" else f"phones from {speech.source}"),
        file=sys.stderr,
    )
    return 0


def _grid_emotions(spec: str | None) -> list[str]:
    if not spec:
        return []
    from emote.performance.emotions import resolve_emotion

    return [resolve_emotion(e.strip()) for e in spec.split(",") if e.strip()]


def read_transcript(path: Path) -> str:
    """The text of a transcript file (bounded: ``EMOTE_MAX_TEXT_BYTES``), or a one-line error naming it."""
    from emote.audio.timings import read_text_file

    text = read_text_file(path).strip()
    if not text:
        raise file_error(TranscriptError, path, "transcript is empty")
    return text


def write_output(anim, path: Path, fmt: str, rig=None) -> Path:
    from emote.export import write

    write(anim, path, format=fmt, **({"rig": rig} if get_format(fmt).needs_mesh else {}))
    return path
