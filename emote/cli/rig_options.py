"""Options shared by `emote animate` and `emote render`: which rig, how to render it."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from emote.errors import EmoteError
from emote.limits import check_render_size

log = logging.getLogger("emote.cli")

RIG_HELP = (
    "rig: default (built-in head), ict-facekit, metahuman (curves; previews on the default head), "
    "arkit, flame (with --flame-model), or a .glb/.gltf head with ARKit-named morph targets "
    "(default: default)"
)


def add_rig_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("rig")
    g.add_argument("--rig", default="default", metavar="RIG", help=RIG_HELP)
    g.add_argument(
        "--rig-path", type=Path, metavar="DIR", help="local copy of a rig's files (e.g. ICT-FaceKit)"
    )
    g.add_argument(
        "--flame-model", type=Path, metavar="PKL", help="your FLAME model file (generic_model.pkl)"
    )
    g.add_argument(
        "--flame-expression", type=int, choices=(50, 100), default=50, help="FLAME expression size"
    )


def add_render_options(p: argparse.ArgumentParser, *, optional: bool, grid: bool = True) -> None:
    g = p.add_argument_group("video")
    if optional:
        g.add_argument("--render", action="store_true", help="also render NAME.mp4 with the audio")
    g.add_argument("--renderer", choices=("auto", "opengl", "pytorch3d"), default="auto",
                   help="auto: OpenGL (EGL), measured twice as fast as PyTorch3D on a GPU; PyTorch3D on "
                   "CUDA only if OpenGL cannot start. pytorch3d: the differentiable renderer")  # fmt: skip
    g.add_argument("--size", default="512x512", metavar="WxH", help="video size (default 512x512)")
    g.add_argument("--background", default="0.16,0.17,0.19", metavar="R,G,B", help="background colour 0..1")
    g.add_argument("--view", choices=("front", "three-quarter"), default="front", help="camera view")
    if grid:  # a finished take cannot be re-performed in other emotions: `emote render` has no --grid
        g.add_argument("--grid", metavar="E1,E2,...", help="render the line once per emotion, side by side")
    g.add_argument("--preview-png", action="store_true", help="also write a contact sheet NAME.png")


def load_rig_from_args(args: argparse.Namespace, *, for_render: bool = False):
    """The rig the options name; for rendering, a curves-only rig previews on the default head."""
    from emote.rigs import CurveRig, load_rig

    rig = load_rig(args.rig, rig_path=args.rig_path, flame_model=args.flame_model,
                   n_expression=args.flame_expression)  # fmt: skip
    if for_render and isinstance(rig, CurveRig):
        log.info("rig %s has no mesh: previewing on the default head", args.rig)
        rig = load_rig("default")
    if getattr(rig, "missing", None):
        log.warning("rig %s lacks %d ARKit shapes: %s", rig.name, len(rig.missing), ", ".join(rig.missing))
    return rig


def render_settings(args: argparse.Namespace):
    from emote.render import RenderSettings

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
        background = tuple(float(v) for v in args.background.split(","))
    except ValueError:
        raise EmoteError(
            f"--size {args.size!r} / --background {args.background!r}: expected WxH and R,G,B"
        ) from None
    if len(background) != 3 or not all(0.0 <= c <= 1.0 for c in background):
        raise EmoteError(f"--background {args.background!r}: expected R,G,B, each 0..1")
    check_render_size(width, height)
    view = (0.0, 0.0, 1.0) if args.view == "front" else (0.55, 0.12, 1.0)
    return RenderSettings(width=width, height=height, background=background, view_direction=view)


def render_outputs(rig, anim, out: Path, name: str, args: argparse.Namespace, *, variants=None) -> list[Path]:
    """Render the video (or grid) and the preview sheet the options ask for; return the paths."""
    from emote.cli.progress import ProgressBar
    from emote.render import render_animation, render_grid, render_preview_png

    settings = render_settings(args)
    written = []
    quiet = getattr(args, "quiet", False)
    with ProgressBar(disable=quiet, desc=f"render {name}") as bar:
        progress = lambda fraction, fps: bar.update(fraction, f"{fps:.0f} fps")  # noqa: E731
        if variants:
            path = out / f"{name}.grid.mp4"
            render_grid(rig, variants, path, settings=settings, renderer=args.renderer, progress=progress)
        else:
            path = out / f"{name}.mp4"
            stats = render_animation(
                rig, anim, path, settings=settings, renderer=args.renderer, progress=progress
            )
            log.info("rendered %d frames at %.1f fps", stats.frames, stats.fps)
        written.append(path)
    if args.preview_png:
        path = out / f"{name}.png"
        render_preview_png(rig, anim, path, settings=settings, renderer=args.renderer)
        written.append(path)
    return written
