"""`emote train`: train (or resume training) the neural engine from a config file."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

EPILOG = """\
The run folder (config `out`, or --out) holds state.pt (re-running the same command
resumes from it), log.jsonl (losses and validation metrics) and, at the end, model.pt.

examples:
  emote train configs/tiny.toml                     # a minute on CPU
  emote train configs/emote_tts.toml --device cuda  # the shipped model's recipe
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
    p.add_argument("--data", type=Path, help="dataset folder (overrides the config)")
    p.add_argument("--out", type=Path, help="run folder (overrides the config)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where to train (overrides the config)")
    p.add_argument("--export", type=Path, metavar="MODEL", help="copy the finished model.pt here")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from emote.cli.progress import ProgressBar
    from emote.nn.config import load_config
    from emote.training.train import train

    cfg = load_config(args.config)
    if args.data:
        cfg.data = str(args.data.resolve())
    if args.out:
        cfg.out = str(args.out.resolve())
    if args.device:
        cfg.device = args.device
    with ProgressBar(desc="train", disable=args.quiet) as bar:
        model = train(cfg, progress=lambda f: bar.update(f, "train"))
    if args.export:
        args.export.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(model, args.export)
        model = args.export
    print(model)
    return 0
