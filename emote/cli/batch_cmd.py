"""`emote batch`: a manifest of lines → curves (and renders) in OUTDIR, in parallel, resumable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emote.batch.manifest import CURVE_FORMATS
from emote.batch.run import RUNNERS
from emote.engines import ENGINES as ANIMATION_ENGINES

EPILOG = """\
manifest: CSV with a header line, or JSONL (one object a line). Columns:
  audio (required), text | text_file | timings, emotion + intensity | emotion_track,
  output (base name in OUTDIR, default the audio's name; may hold sub-folders),
  fps, formats ({formats}), render (true/false), rig, seed, engine,
  blinks, gaze, head_motion. Empty cells take the options below. Relative paths
  are relative to the manifest's folder.

  audio,text,emotion,intensity,output
  hello.wav,,happy,0.8,hero/hello_happy
  hello.wav,"Maybe we should move the boat.",sad,,hero/hello_sad

Every line is checked before anything runs; each bad one is reported as
MANIFEST:LINE: problem. A line whose outputs are already there and up to date
(same audio, transcript, emotion, settings and emote version) is skipped, so
re-running after a crash or Ctrl-C finishes only what is missing.
Results: OUTDIR/results.jsonl, one record per line (status, outputs, seconds, error).

exit status: 0 every line done or up to date, 1 some lines failed, 2 bad manifest.

examples:
  emote batch examples/manifest.csv -o out/batch
  emote batch lines.jsonl -o out/ --workers 8 --format csv,metahuman --fps 60
  emote batch lines.csv -o /shared/out --runner ray --ray-address auto   # on a Ray cluster
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="animate every line of a manifest (CSV/JSONL), in parallel, resumable",
        description="Animate a manifest of voice lines in parallel: locally or on a Ray cluster.",
        epilog=EPILOG.format(formats="|".join(CURVE_FORMATS)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("manifest", type=Path, help="CSV or JSONL manifest, one job a line")
    p.add_argument(
        "-o", "--out", type=Path, default=Path("out"), metavar="OUTDIR", help="output folder (default: out)"
    )
    p.add_argument(
        "-j", "--workers", type=int, help="parallel jobs (default: one per CPU; on Ray: the cluster's CPUs)"
    )
    p.add_argument(
        "--runner",
        choices=RUNNERS,
        help="where jobs run: local processes or Ray tasks (default: local)",
    )
    p.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="join this Ray cluster ('auto', 'ray://head:10001'); implies --runner ray",
    )
    p.add_argument("--fps", type=float, default=30.0, help="frame rate for lines without one (default: 30)")
    p.add_argument(
        "--format", default="csv,json,npz,metahuman", help="formats for lines without any (default: all)"
    )
    p.add_argument("--emotion", default="neutral", help="emotion for lines without one (default: neutral)")
    p.add_argument(
        "--intensity", type=float, default=1.0, help="intensity for lines without one (default: 1)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed for lines without one (default: 0)")
    p.add_argument(
        "--engine", choices=ANIMATION_ENGINES + RUNNERS, metavar="{" + ",".join(ANIMATION_ENGINES) + "}",
        help="animation engine for lines without an engine column, as in `emote animate` (default: "
        "phonetic); --engine local|ray, the old spelling of --runner, still works for one release",
    )  # fmt: skip
    p.add_argument("--animator", choices=ANIMATION_ENGINES, help="the same as --engine")
    p.add_argument("--render", action="store_true", help="also render an MP4 for lines that do not say")
    p.add_argument("--rig", default="default", help="rig for renders of lines without one (default: default)")
    p.add_argument("--no-text", action="store_true", help="ignore .txt/.lab transcripts beside the audio")
    p.add_argument("--force", action="store_true", help="re-run lines whose outputs are up to date")
    p.add_argument(
        "--timeout", type=float, metavar="S", help="seconds one line may take before it is stopped"
    )
    p.add_argument(
        "--results", type=Path, metavar="JSONL", help="results manifest (default: OUTDIR/results.jsonl)"
    )
    p.add_argument("--check", action="store_true", help="validate the manifest only; run nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _engine_and_runner(args: argparse.Namespace) -> tuple[str, str]:
    """``--engine`` names the animation engine; its old values local/ray name the runner."""
    engine, runner = args.animator, args.runner
    if args.engine in RUNNERS:
        print("emote: warning: --engine local|ray is deprecated; use --runner", file=sys.stderr)
        runner = runner or args.engine
    elif args.engine is not None:
        engine = args.engine
    if args.ray_address:
        runner = "ray"
    return engine or "phonetic", runner or "local"


def _defaults(args: argparse.Namespace):
    from emote.batch import JobDefaults

    return JobDefaults(
        fps=args.fps,
        formats=args.format,
        render=args.render,
        rig=args.rig,
        seed=args.seed,
        engine=_engine_and_runner(args)[0],
        emotion=args.emotion,
        intensity=args.intensity,
        use_transcript_file=not args.no_text,
    )


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from emote.batch import BatchSettings, ManifestError, read_manifest, run_batch

    defaults = _defaults(args)
    settings = BatchSettings(
        workers=args.workers,
        runner=_engine_and_runner(args)[1],
        ray_address=args.ray_address,
        force=args.force,
        timeout=args.timeout,
        results=args.results,
    )
    try:
        manifest = read_manifest(args.manifest, defaults=defaults)
    except ManifestError as err:
        for line in err.lines():
            print(line, file=sys.stderr)
        print(
            f"emote: error: {len(err.problems)} problem(s) in {args.manifest}; nothing was run",
            file=sys.stderr,
        )
        return 2
    if args.check:
        print(f"{args.manifest}: {len(manifest)} jobs, all valid")
        return 0
    bar = tqdm(total=len(manifest), unit="job", desc="batch", dynamic_ncols=True,
               disable=args.quiet or not sys.stderr.isatty())  # fmt: skip
    counts = {"failed": 0, "skipped": 0}

    def on_result(result) -> None:
        if result.status in counts:
            counts[result.status] += 1
        if result.status == "failed":
            bar.write(f"{args.manifest}:{result.line}: failed: {result.error}", file=sys.stderr)
        bar.set_postfix(counts, refresh=False)
        bar.update(1)

    try:
        summary = run_batch(manifest, args.out, settings=settings, on_result=on_result)
    finally:
        bar.close()
    print(
        f"{summary.total} jobs: {summary.done} done, {summary.skipped} up to date, {summary.failed} failed "
        f"in {summary.seconds:.1f} s ({summary.jobs_per_second:.2f} jobs/s, "
        f"{summary.realtime_factor:.1f}x real time); results: {summary.results}",
        file=sys.stderr,
    )
    return 0 if summary.ok else 1
