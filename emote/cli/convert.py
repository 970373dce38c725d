"""`emote convert`: rewrite an animation in another curve format (and frame rate)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert between curve formats (CSV, JSON, NPZ, MetaHuman)",
        description="Read an animation (e.g. a Live Link Face take) and write it in another format.\n"
        "Formats follow the extensions: .csv .json .npz .metahuman.csv",
    )
    p.add_argument("src", type=Path, help="input animation file")
    p.add_argument("dst", type=Path, help="output file; its extension picks the format")
    p.add_argument("--fps", type=float, help="resample to this frame rate")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from emote.animation import FaceAnimation

    anim = FaceAnimation.load(args.src)
    if args.fps:
        anim = anim.resample(args.fps)
    anim.save(args.dst)
    print(args.dst)
    return 0
