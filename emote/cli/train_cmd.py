"""`emote train`: train (or resume training) the neural engine from a config file."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

EPILOG = """\
The run folder (config `out`, or --out) holds state.pt (networks, optimiser, step and
random state, saved every `save_every` steps and after each stage), log.jsonl (losses and
validation metrics) and, at the end, model.pt. A run that stopped (killed, out of time,
--stop-after) continues from its last saved state with --resume: the same batches and
augmentations as if it had not stopped (stages capped in wall time anneal by time, so there
the schedule differs by the lost seconds). Without --resume a folder that already holds a
run is refused.

examples:
  emote train configs/tiny.toml                     # a minute on CPU
  emote train configs/emote_tts.toml --device cuda  # the shipped model's recipe
  emote train configs/emote_real.toml --stop-after 540          # stop cleanly within 10 minutes
  emote train configs/emote_real.toml --resume --stop-after 540 # continue a stopped run
  emote train configs/emote_tts.toml --export checkpoints/emote_tts.pt
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train the neural engine (EMOTE-style) from a config file",
        description="Train the neural engine: motion prior, emotion classifier, then speech+emotion model.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", type=Path, help="training config (.toml or .json)")
    p.add_argument("--data", type=Path, action="append",
                   help="dataset folder (overrides the config; repeat to mix several)")  # fmt: skip
    p.add_argument("--out", type=Path, help="run folder (overrides the config)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where to train (overrides the config)")
    p.add_argument(
        "--resume", action="store_true", help="continue the run saved in the run folder (state.pt)"
    )
    p.add_argument("--stop-after", type=float, metavar="SECONDS",
                   help="save the state and stop this many seconds after training started (data loading "
                   "included; for a session with a time limit); "
                   "continue later with --resume")  # fmt: skip
    p.add_argument("--export", type=Path, metavar="MODEL", help="copy the finished model.pt here")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from emote.cli.progress import ProgressBar
    from emote.nn.config import load_config
    from emote.training.train import train

    cfg = load_config(args.config)
    if args.data:
        roots = tuple(str(d.resolve()) for d in args.data)
        cfg.data = roots[0] if len(roots) == 1 else roots
    if args.out:
        cfg.out = str(args.out.resolve())
    if args.device:
        cfg.device = args.device
    with ProgressBar(desc="train", disable=args.quiet) as bar:
        model = train(
            cfg, progress=lambda f: bar.update(f, "train"), resume=args.resume, stop_after=args.stop_after
        )
    if model is None:
        print(f"stopped after {args.stop_after:g} s; state saved in {cfg.out}; continue with --resume")
        return 0
    if args.export:
        args.export.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(model, args.export)
        model = args.export
    print(model)
    return 0
