"""`emote rigs`: list rigs, fetch ICT-FaceKit, inspect a rig file."""

from __future__ import annotations

import argparse
from pathlib import Path

KNOWN = (
    ("default", "built-in head (made by emote's code; no download)"),
    ("ict-facekit", "ICT-FaceKit face model (MIT): `emote rigs fetch ict-facekit` or --rig-path DIR"),
    ("metahuman", "MetaHuman CTRL_expressions_* curves (no mesh; previews on the default head)"),
    ("arkit", "the 52 ARKit curves as they are (no mesh)"),
    ("flame", "FLAME parameters and mesh from your model file (--flame-model generic_model.pkl)"),
    ("PATH.glb", "any glTF/GLB head whose morph targets carry ARKit names"),
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rigs", help="list, fetch and inspect rigs", description="List, fetch and inspect rigs."
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.add_parser("list", help="the rigs --rig accepts").set_defaults(run=run_list)
    f = verbs.add_parser("fetch", help="download a rig that emote cannot ship (needs internet)")
    f.add_argument("name", choices=("ict-facekit",))
    f.add_argument("--dest", type=Path, help="folder to download into (default: emote's cache)")
    f.set_defaults(run=run_fetch)
    i = verbs.add_parser("info", help="what a rig has: vertices, ARKit shapes matched and missing")
    i.add_argument("rig", help="rig name or file")
    i.add_argument("--rig-path", type=Path, metavar="DIR")
    i.add_argument("--flame-model", type=Path, metavar="PKL")
    i.set_defaults(run=run_info)
    p.set_defaults(run=lambda args: p.print_help() or 2)


def run_list(args: argparse.Namespace) -> int:
    for name, what in KNOWN:
        print(f"{name:<12} {what}")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from emote.rigs import fetch_rig

    print(fetch_rig(args.name, args.dest))
    return 0


def run_info(args: argparse.Namespace) -> int:
    from emote.rigs import CurveRig, load_rig

    rig = load_rig(args.rig, rig_path=args.rig_path, flame_model=args.flame_model)
    if isinstance(rig, CurveRig):
        print(f"{rig.name}: curves only, {len(rig.control_names)} controls")
        return 0
    print(
        f"{rig.name}: {rig.n_vertices} vertices, {len(rig.faces)} triangles, {len(rig.shape_names)} ARKit shapes"
    )
    print(f"eyes: {len(rig.eyes)}, head pivot: {'yes' if rig.head is not None else 'no'}")
    if rig.missing:
        print(f"missing ({len(rig.missing)}): {', '.join(rig.missing)}")
    return 0
