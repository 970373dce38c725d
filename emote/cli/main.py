"""`emote` command line: a subcommand per verb, each thin over a library call."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from emote import __version__
from emote.errors import EmoteError, describe_os_error

DESCRIPTION = """\
emote turns speech into emotional 3D facial animation.

Give it an audio file (and, if you have it, the transcript) and an emotion; it
writes rig controller curves (ARKit 52 blendshapes + head/eye angles) as a Live
Link Face CSV, emote JSON, NumPy NPZ or MetaHuman CTRL_expressions curves, and on
request a video and animation files for Blender, Unreal and Unity (GLB, USD).

examples:
  emote animate line.wav -o out/                      # neutral, 30 fps, all curve formats
  emote animate line.wav --text "Hello there" --emotion angry --intensity 0.8 -o out/
  emote animate line.wav --emotion-track examples/track.json --fps 60 --format csv -o out/
  emote animate line.wav --render --preview-png -o out/        # + MP4 on the built-in head
  emote animate line.wav --rig head.glb --format glb,usd -o out/
  emote animate linea.wav --language es --text "Mi padre compró un mapa" -o out/  # any espeak-ng language
  emote batch lines.csv -o out/ --workers 4           # thousands of lines, resumable
  emote emotions                                      # what --emotion accepts
  emote convert take.csv take.json                    # between curve formats
  emote blender build-addon -o dist/                  # the Blender add-on
  emote stream line.wav --realtime --livelink         # live: frames to Unreal as the line plays
  emote serve                                         # live in the browser: http://127.0.0.1:8765

Run `emote COMMAND --help` for each command's options.

limits: inputs are checked before any work (fps 1-1000, 500 000 frames, 4 h of audio,
12 transcript words a second, 1 MiB transcripts and tracks, ...); each refusal names
the EMOTE_MAX_* variable that raises it (README, "Reliability").
"""


def build_parser() -> argparse.ArgumentParser:
    from emote.cli import animate, convert, emotions

    parser = argparse.ArgumentParser(
        prog="emote", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"emote {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each stage and its timing")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (animate, emotions, convert):
        module.add_parser(sub)
    _add_optional(sub)
    return parser


def _add_optional(sub: argparse._SubParsersAction) -> None:
    """Subcommands whose modules may not exist yet in a partial install."""
    import importlib

    for name in ("eval", "rigs", "render", "blender", "batch", "train", "data", "stream", "serve"):
        try:
            module = importlib.import_module(f"emote.cli.{name}_cmd")
        except ModuleNotFoundError as e:
            if e.name != f"emote.cli.{name}_cmd":
                raise
            continue
        module.add_parser(sub)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, ``docker stop``), unwound like Ctrl-C so temporaries are removed."""


def _terminate(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not interrupt the clean-up
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    # File names that are not UTF-8 are printed as the bytes they are, not as a traceback.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s"
    )
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.run(args) or 0)
    except EmoteError as e:
        print(f"emote: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # the one place an ordinary OS error becomes one line naming the file
        print(f"emote: error: {describe_os_error(e)}", file=sys.stderr)
        return 1
    except MemoryError:
        print("emote: error: out of memory (see the limits in `emote --help` / README)", file=sys.stderr)
        return 1
    except Terminated:
        print("emote: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("emote: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
