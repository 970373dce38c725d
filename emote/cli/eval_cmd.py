"""`emote eval`: quality metrics of an animation against reference phone timings."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

EPILOG = """\
metrics (DESIGN.md, "How quality is measured"; lip gap and mouth width from the
linear proxies of emote.eval.metrics):
  bilabial_closure      share of /p b m/ intervals whose smallest lip gap < 1.5 mm
  open_closed_contrast  mean gap on open vowels / mean gap on bilabials
  rounding_ratio        mouth width on /uw ow w/ over /iy ey/ (below 1: rounding shows)
  labiodental_gap_mm    smallest gap on /f v/
  rest_*                lip gap and motion in silences longer than 300 ms
  blink_*, jerk_mouth   naturalness statistics (no phones needed)
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="measure an animation's lip-sync quality against phone timings",
        description="Measure an animation (CSV, JSON, NPZ) against reference phone timings.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("animation", type=Path, help="animation file (.csv, .json, .npz)")
    p.add_argument("--phones", type=Path, metavar="TIMINGS", help="reference phones: Praat TextGrid or CSV")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from emote.cli.convert import load_animation
    from emote.eval import evaluate

    anim = load_animation(args.animation)  # within the size limit; refuses an empty take
    phones = None
    if args.phones is not None:
        from emote.audio.timings import read_timings

        phones = read_timings(args.phones).phones
    metrics = evaluate(anim, phones=phones)
    if args.json:
        print(
            json.dumps(
                {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()},
                indent=1,
            )
        )
        return 0
    width = max(map(len, metrics))
    for key, value in metrics.items():
        shown = (
            "n/a"
            if isinstance(value, float) and math.isnan(value)
            else (f"{value:.4g}" if isinstance(value, float) else value)
        )
        print(f"{key:<{width}}  {shown}")
    return 0
