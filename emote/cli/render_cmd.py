"""`emote render`: draw an animation file (CSV, JSON, NPZ) on a rig into an MP4."""

from __future__ import annotations

import argparse
from pathlib import Path

from emote.cli.rig_options import add_render_options, add_rig_options, load_rig_from_args, render_outputs

EPILOG = """\
examples:
  emote render out/line.json -o out/                     # out/line.mp4 on the built-in head
  emote render take.csv --audio take.wav --rig head.glb -o out/ --preview-png
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "render",
        help="render an animation file to MP4 on a rig",
        description="Render an animation file (Live Link CSV, emote JSON, NPZ) to an H.264 MP4.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("animation", type=Path, help="animation file: .csv .json .npz .metahuman.csv")
    p.add_argument("-o", "--out", type=Path, default=Path("out"), metavar="OUTDIR", help="output folder")
    p.add_argument("--audio", type=Path, help="audio to mux (default: the file the animation was made from)")
    p.add_argument("--fps", type=float, help="resample to this frame rate first")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_rig_options(p)
    add_render_options(p, optional=False, grid=False)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from emote import limits
    from emote.audio.io import audio_info
    from emote.cli.convert import load_animation
    from emote.cli.rig_options import render_settings

    # Settings, audio and output folder are checked before the take is read or a frame drawn.
    render_settings(args)
    if args.fps is not None:
        limits.check_fps(args.fps, what="--fps")
    if args.audio is not None:
        audio_info(args.audio)  # missing, not audio (x.png), damaged: said now
    name = args.animation.name.split(".")[0]
    limits.check_output_name(name, (".mp4", ".png"))
    limits.check_output_folder(args.out)
    anim = load_animation(args.animation, fps=args.fps)
    if args.audio is not None:
        anim.metadata["audio"] = str(args.audio)
    args.grid = None
    rig = load_rig_from_args(args, for_render=True)
    for path in render_outputs(rig, anim, args.out, name, args):
        print(path)
    return 0
