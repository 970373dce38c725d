"""`emote blender build-addon`: package the Blender add-on as an installable extension zip."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("blender", help="Blender add-on tools", description="Blender add-on tools.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    b = verbs.add_parser(
        "build-addon",
        help="build the add-on zip (Blender 4.2+: Edit > Preferences > Get Extensions > Install from Disk)",
        description="Build emote's Blender add-on as an extension zip that installs on Blender 4.2 LTS to 5.x.",
    )
    b.add_argument(
        "-o", "--out", type=Path, default=Path("dist"), metavar="DIR", help="output folder (default: dist)"
    )
    b.set_defaults(run=run_build)
    p.set_defaults(run=lambda args: p.print_help() or 2)


def run_build(args: argparse.Namespace) -> int:
    from emote.blender_build import build_addon

    print(build_addon(args.out))
    return 0
