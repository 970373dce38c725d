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
    p.add_argument(
        "--rows-fps", type=float, metavar="FPS",
        help="read a CSV's rows as consecutive frames at this rate, ignoring its timecodes/times "
        "(for takes whose timecodes do not advance)",
    )  # fmt: skip
    p.set_defaults(run=run)


def load_animation(path: Path, *, fps: float | None = None, rows_fps: float | None = None):
    """Read an animation file for a CLI command, within the limits, resampled to ``fps`` if given.

    Refused before reading: a file over ``EMOTE_MAX_ANIMATION_BYTES``, a FIFO or a
    device; after reading: no frames at all, blendshape weights far outside [0, 1]
    (slightly outside: clipped, with a warning); before resampling: more frames than
    ``EMOTE_MAX_FRAMES``. (The library's readers stay lossless; this is the CLI's policy.)
    """
    from emote import limits
    from emote.errors import EmoteError, FormatError, file_error
    from emote.export import format_for_path, read
    from emote.export._common import checked_weights

    limits.check_file_size(path, "animation_bytes", FormatError, "animation file")
    options = {}
    if rows_fps is not None:
        if format_for_path(path) not in ("livelink", "metahuman"):
            raise EmoteError(f"--rows-fps: {path} has no rows to re-time (CSV takes only)")
        options["fps"] = limits.check_fps(rows_fps, what="--rows-fps")
    anim = checked_weights(read(path, **options), path, action="read")
    if anim.n_frames == 0:
        raise file_error(FormatError, path, "holds no frames (a header without rows?); nothing to do")
    if fps is not None and fps != anim.fps:
        limits.check_frames(round(anim.duration * fps), what=f"{path} at {fps:g} fps")
        anim = anim.resample(fps)
    return anim


def run(args: argparse.Namespace) -> int:
    from emote import limits
    from emote.export import format_for_path

    if args.fps is not None:
        limits.check_fps(args.fps, what="--fps")
    format_for_path(args.dst)  # an unknown extension fails before the source is read
    limits.check_output_folder(args.dst.parent)
    anim = load_animation(args.src, fps=args.fps, rows_fps=args.rows_fps)
    anim.save(args.dst)
    print(args.dst)
    return 0
