"""`emote` command line: a subcommand per verb, each thin over a library call."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from emote import __version__
from emote.errors import EmoteError

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
  emote batch lines.csv -o out/ --workers 4           # thousands of lines, resumable
  emote emotions                                      # what --emotion accepts
  emote convert take.csv take.json                    # between curve formats
  emote blender build-addon -o dist/                  # the Blender add-on
  emote stream line.wav --realtime --livelink         # live: frames to Unreal as the line plays
  emote serve                                         # live in the browser: http://127.0.0.1:8765

Run `emote COMMAND --help` for each command's options.
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s"
    )
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except EmoteError as e:
        print(f"emote: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("emote: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
