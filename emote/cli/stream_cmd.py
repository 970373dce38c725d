"""`emote stream`: live speech in (file, stdin or microphone), face frames out (Live Link, VMC, JSON lines)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from emote.engines import ENGINES
from emote.errors import EmoteError

EPILOG = """\
sources:
  FILE    any audio file emote reads, as fast as possible (or at its own pace with --realtime)
  -       a WAV stream on stdin (tts ... | emote stream -); headerless PCM with --raw-rate
  mic     the default microphone (PortAudio), until Ctrl-C

outputs (any together; --jsonl when none is given):
  --livelink [HOST:PORT]   Unreal Live Link Face packets (default 127.0.0.1:11111): in Unreal add a
                           Live Link "Apple ARKit Face" source (as for the iPhone app); the subject is --subject
  --vmc [HOST:PORT]        VMC protocol over OSC (default 127.0.0.1:39539): VSeeFace, Warudo, VRM apps,
                           ARKit-named blend shapes ("perfect sync")
  --jsonl                  one JSON object per frame on stdout: {"frame", "time", "curves": {name: value}}

latency: a frame leaves once --latency seconds of audio after it have been heard (phonetic 0.05 s,
neural 0.14 s by default), plus the wait for the next analysis (at least --hop of new audio: phonetic
0.05 s, neural 0.04 s) and its compute: about 0.1 s end to end for the phonetic engine, 0.16 s for
the neural one, whose streaming model reads only 0.1 s past each frame (--model: the multilingual
look-ahead network by default). --hop 0.1 trades 50 ms for fewer analyses (more streams on one
machine). benchmarks/stream.py measures all of these.

languages: --language names the language of the speech as espeak-ng does (es, fr, de, zh, ...; an
unknown name lists them), as for `emote animate`: in a language other than English the jaw also
follows the opening heard in the audio (scaled to the last 30 s of speech), and a --text transcript
is phonemised by espeak-ng and aligned to the audio by the phone recogniser. English and auto (the
default) keep the English aligner.

examples:
  emote stream line.wav --realtime --livelink 192.168.1.20      # a MetaHuman speaks the line in Unreal
  espeak-ng --stdout "Hello there" | emote stream - --vmc      # a TTS voice drives a VTuber model
  emote stream mic --emotion happy --livelink                   # puppeteer from the microphone
  emote stream line.wav --jsonl | jq .curves.JawOpen            # frames for your own tool
  emote stream linea.wav --language es --text "Mi padre compró un mapa" --livelink   # Spanish
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stream",
        help="live: animate speech as it arrives and send the frames to Unreal, VMC apps or stdout",
        description="Animate speech as it arrives (a file, stdin or the microphone) and send each frame "
        "as soon as it is sure.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("source", help="an audio file, - (stdin) or mic")
    p.add_argument("--realtime", action="store_true", help="pace a file at its own speed (as if spoken live)")
    p.add_argument("--livelink", nargs="?", const="127.0.0.1:11111", metavar="HOST:PORT",
                   help="send Live Link Face UDP packets (default 127.0.0.1:11111)")  # fmt: skip
    p.add_argument("--subject", default="emote", help="Live Link subject name (default: emote)")
    p.add_argument("--vmc", nargs="?", const="127.0.0.1:39539", metavar="HOST:PORT",
                   help="send VMC/OSC blend shapes (default 127.0.0.1:39539)")  # fmt: skip
    p.add_argument("--jsonl", action="store_true", help="write one JSON line per frame to stdout")
    p.add_argument("--engine", choices=ENGINES, default="phonetic", help="phonetic (default) or neural")
    p.add_argument("--model", metavar="NAME|FILE",
                   help="the neural engine's model: multilingual (default: the look-ahead network made for "
                        "streams), tts, or a model file")  # fmt: skip
    p.add_argument("--emotion", default="neutral", help="emotion (default: neutral; `emote emotions`)")
    p.add_argument("--intensity", type=float, default=1.0, help="emotion intensity 0..1 (default: 1)")
    p.add_argument("--text", help="transcript of a FILE source: aligned, its phones replace recognition")
    p.add_argument(
        "--language", default="auto", metavar="LANG",
        help="language of the speech as espeak-ng names it: en, es, fr, de, zh, ja... (default: auto: "
        "English for a transcript; another language also moves the jaw with the opening heard)",
    )  # fmt: skip
    p.add_argument(
        "--fps", type=float, default=60.0, help="frames per second (default: 60, as Live Link Face)"
    )
    p.add_argument("--latency", type=float, metavar="SECONDS",
                   help="look-ahead: audio heard after a frame before it is sent (default per engine)")  # fmt: skip
    p.add_argument("--hop", type=float, metavar="SECONDS",
                   help="least new audio that runs the next analysis (default per engine; smaller: less latency, more CPU)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of blinks, gaze and head motion")
    p.add_argument("--no-blinks", action="store_true", help="no blinks")
    p.add_argument("--no-gaze", action="store_true", help="no gaze saccades")
    p.add_argument("--no-head", action="store_true", help="no head motion")
    p.add_argument("--raw-rate", type=int, metavar="HZ", help="stdin is headerless PCM at this rate")
    p.add_argument("--raw-format", default="s16le", choices=("s16le", "s32le", "f32le"),
                   help="headerless PCM sample format (default s16le)")  # fmt: skip
    p.add_argument("--channels", type=int, default=1, help="headerless PCM channels (default 1)")
    p.add_argument("--device", help="microphone: a PortAudio device name or number (default: the system's)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from emote.stream import Stream
    from emote.stream.outputs import VMC, JsonLines, LiveLinkFace, parse_address

    sinks = []
    try:
        if args.livelink:
            sinks.append(
                LiveLinkFace(*parse_address(args.livelink, default_port=11111), subject=args.subject)
            )
        if args.vmc:
            sinks.append(VMC(*parse_address(args.vmc, default_port=39539)))
        if args.jsonl or not sinks:
            sinks.append(JsonLines(sys.stdout))
        stream = Stream(fps=args.fps, engine=args.engine, emotion=args.emotion, intensity=args.intensity,
                        latency=args.latency, hop=args.hop, seed=args.seed, blinks=not args.no_blinks, gaze=not args.no_gaze,
                        head_motion=not args.no_head, checkpoint=args.model, language=args.language)  # fmt: skip
        blocks = _source(args, stream)
        start = time.perf_counter()
        frames_out = 0
        try:
            for frames in stream.feed(blocks, blocks.sr):
                for sink in sinks:
                    sink.send(frames)
                frames_out += len(frames)
        except BrokenPipeError:  # `| head`: the reader left; stop quietly
            sys.stderr.close()
            return 0
        seconds = stream.samples_in / 16000
        print(f"emote: streamed {frames_out} frames ({seconds:.1f} s of audio) in "
              f"{time.perf_counter() - start:.1f} s", file=sys.stderr)  # fmt: skip
        return 0
    finally:
        for sink in sinks:
            sink.close()


class _Peeked:
    """An iterator of (samples, sr) whose first block was read to learn the rate."""

    def __init__(self, blocks) -> None:
        self._it = iter(blocks)
        self._first = next(self._it, None)
        self.sr = self._first[1] if self._first is not None else 16000

    def __iter__(self):
        if self._first is not None:
            yield self._first[0]
        for samples, _ in self._it:
            yield samples


def _source(args: argparse.Namespace, stream) -> _Peeked:
    from emote.stream import sources

    if args.source == "mic":
        return _Peeked(sources.mic_blocks(device=args.device))
    if args.source == "-":
        return _Peeked(sources.stdin_blocks(sys.stdin.buffer, raw_rate=args.raw_rate, raw_format=args.raw_format,
                                            channels=args.channels))  # fmt: skip
    path = Path(args.source)
    if not path.is_file():
        raise EmoteError(f"{path}: no such audio file (SOURCE is a file, - for stdin, or mic)")
    if args.text:
        from emote.audio import align_transcript
        from emote.audio.io import load_audio

        # A file's transcript is aligned to the whole file once, as `emote animate --text` does.
        audio = load_audio(path)
        try:
            alignment = align_transcript(y=audio.samples, sr=audio.sr, text=args.text, language=args.language)
        except EmoteError as exc:
            raise EmoteError(f"{path}: --text: {exc}") from None
        stream.expect(alignment.phones)
    # Paced: 20 ms pushes, as audio arrives live; as fast as possible: one analysis hop per push.
    return _Peeked(sources.file_blocks(path, block=0.02 if args.realtime else 0.1, realtime=args.realtime))
