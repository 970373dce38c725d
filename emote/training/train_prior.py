"""Train the motion prior (a temporal β-VAE, :mod:`emote.nn.prior`, :mod:`emote.training.prior`) on teacher motion.

    python -m emote.training.train_prior [--out checkpoints/motion_prior.pt] [--minutes-per-voice 5]
                                       [--beta 0.01] [--free-bits 0.05] [--max-seconds 600]
                                       [--bounded] [--mdn-steps 3000] [--device cuda --batch 128]
    python -m emote.training.train_prior --fit-only OLD.pt --mdn-steps 3000 --out NEW.pt

Teacher motion comes from the offline TTS voices (the corpus' training voices;
its validation voices are held out whole and give the validation figures; every
8th clip of the training voices is held out too, for choosing settings with
``benchmarks/prior.py --split select`` without touching the held-out voices).
The curves are cached in ``--cache`` so several settings can be compared on the
same data; a cache made elsewhere (same channels, minutes and seed) is used as it
is, so a machine without the TTS voices (a GPU box) can train from a copied
cache. Stage 2 (``--mdn-steps``) fits the learned latent prior samples are drawn
from; ``--fit-only`` runs only that stage on a trained prior file. The output
file holds the prior's config, weights (float16) and a card with the data,
settings and validation figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from emote.errors import EmoteError

DEFAULT_CHANNELS_FROM = Path(__file__).resolve().parents[2] / "checkpoints" / "emote_tts.pt"


def _channels(checkpoint: Path) -> tuple[str, ...]:
    from emote.nn.checkpoint import load_model

    return load_model(checkpoint).config.channels


SELECT_EVERY = 8
"""Every 8th clip of the training voices is held out of training, for choosing settings."""


def cached_teacher(
    cache: Path, seconds: float, channels, seed: int
) -> tuple[list[np.ndarray], list[str]] | None:
    """(clips, voices) from ``cache`` when it was made with the same seconds/channels/seed, else None."""
    if not cache.is_file():
        return None
    with np.load(cache) as z:
        key = json.loads(str(z["key"]))
        if (key["seconds"], key["channels"], key["seed"]) != (seconds, list(channels), seed):
            return None
        return [z[f"c{i}"] for i in range(int(z["n"]))], list(key["voices"])


def load_or_make_teacher(
    cache: Path, voices: list[str], seconds: float, channels, seed: int
) -> list[np.ndarray]:
    """Teacher clips from ``cache`` when it was made with the same voices/seconds/channels/seed, else made anew."""
    from emote.io.atomic import atomic_path
    from emote.training.prior import teacher_motion

    key = json.dumps({"voices": voices, "seconds": seconds, "channels": list(channels), "seed": seed})
    hit = cached_teacher(cache, seconds, channels, seed)
    if hit is not None and hit[1] == voices:
        return hit[0]
    clips = teacher_motion(voices, seconds_per_voice=seconds, channels=channels, seed=seed)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache) as tmp, open(tmp, "wb") as f:
        np.savez(f, key=key, n=len(clips), **{f"c{i}": c for i, c in enumerate(clips)})
    return clips


def teacher_split(cache_dir: Path, channels, *, minutes_per_voice: float, seed: int = 0):
    """(train clips, held-out-voice clips, train voices, held-out voices) of teacher motion, cached under ``cache_dir``.

    Caches made with the same minutes, channels and seed are used as they are, without
    importing the TTS stack (a machine with only torch and numpy can train from a copied cache).
    """
    seconds = 60 * minutes_per_voice
    train_hit = cached_teacher(cache_dir / "train.npz", seconds, channels, seed)
    valid_hit = cached_teacher(cache_dir / "valid.npz", seconds, channels, seed + 1)
    if train_hit and valid_hit:
        return train_hit[0], valid_hit[0], train_hit[1], valid_hit[1]

    from emote.training.data.corpus import CorpusSettings
    from emote.training.data.tts import available_voices

    held = list(CorpusSettings().validation_voices)
    train_voices = [v.id for v in available_voices() if v.id not in held]
    train = load_or_make_teacher(cache_dir / "train.npz", train_voices, seconds, channels, seed)
    valid = load_or_make_teacher(cache_dir / "valid.npz", held, seconds, channels, seed + 1)
    return train, valid, train_voices, held


def main(argv: list[str] | None = None) -> int:
    from emote.nn.prior import load_prior, save_prior
    from emote.training.prior import PriorSettings, fit_latent_prior, train_prior, validate, windows

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("checkpoints/motion_prior.pt"))
    ap.add_argument(
        "--cache", type=Path, default=Path(".emote_data/prior"), help="teacher-motion cache folder"
    )
    ap.add_argument(
        "--channels-from",
        type=Path,
        default=DEFAULT_CHANNELS_FROM,
        help="model file whose output channels the prior models (default: the shipped model)",
    )
    ap.add_argument("--minutes-per-voice", type=float, default=5.0)
    d = PriorSettings()
    ap.add_argument("--latent-dim", type=int, default=d.latent_dim)
    ap.add_argument("--beta", type=float, default=d.beta, help="KL weight per latent element (after warm-up)")
    ap.add_argument("--free-bits", type=float, default=d.free_bits, help="KL floor per latent channel, nats")
    ap.add_argument(
        "--iid", action="store_true", help="i.i.d. N(0, I) latent prior instead of the learned AR(1)"
    )
    ap.add_argument("--widths", type=int, nargs=3, default=d.widths, help="prior channels at 50/25/12.5 Hz")
    ap.add_argument(
        "--bounded", action="store_true", help="decoder ends in a straight-through clamp to [0, 1]"
    )
    ap.add_argument(
        "--mdn-steps", type=int, default=0, help="stage 2: steps fitting the learned latent prior"
    )
    ap.add_argument("--velocity", type=float, default=d.velocity, help="weight of the velocity L1 (0: none)")
    ap.add_argument("--mdn-components", type=int, default=d.mdn_components)
    ap.add_argument("--fit-only", type=Path, help="run only stage 2 on this trained prior file")
    ap.add_argument("--steps", type=int, default=d.steps)
    ap.add_argument("--batch", type=int, default=d.batch, help="windows per step")
    ap.add_argument("--window", type=int, default=d.window, help="curve frames per window (multiple of 4)")
    ap.add_argument("--lr", type=float, default=d.lr)
    ap.add_argument("--device", default="cpu", help="torch device: cpu, cuda")
    ap.add_argument("--max-seconds", type=float, default=600.0, help="wall-time cap of the training")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest on a shared machine)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import torch

    from emote.animation.channels import ARKIT_NAMES

    torch.set_num_threads(args.threads)
    try:
        channels = _channels(args.channels_from)
        train, valid, train_voices, held = teacher_split(
            args.cache, channels, minutes_per_voice=args.minutes_per_voice
        )
    except EmoteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    select = train[::SELECT_EVERY]
    train = [c for i, c in enumerate(train) if i % SELECT_EVERY]
    hours = sum(c.shape[0] for c in train) / 50 / 3600
    print(f"teacher motion: {hours:.2f} h from {len(train_voices)} voices (every {SELECT_EVERY}th clip, "
          f"{len(select)} clips, held out for selection); held out {', '.join(held)}", flush=True)  # fmt: skip
    settings = PriorSettings(latent_dim=args.latent_dim, beta=args.beta, free_bits=args.free_bits, steps=args.steps, temporal=not args.iid,
                             max_seconds=args.max_seconds, seed=args.seed, widths=tuple(args.widths), bounded=args.bounded,
                             batch=args.batch, window=args.window, lr=args.lr, device=args.device, mdn_steps=args.mdn_steps, velocity=args.velocity,
                             mdn_components=args.mdn_components)  # fmt: skip
    logger = lambda r: print(json.dumps(r), flush=True)  # noqa: E731
    if args.fit_only:
        try:
            loaded = load_prior(args.fit_only)
        except EmoteError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        prior, card = loaded.prior, loaded.card
        fit_latent_prior(prior.to(args.device), train, settings, log=logger)
        prior.cpu()
        figures = {**card.get("validation_heldout_voices", {}),
                   **validate(prior, torch.from_numpy(windows(valid, settings.window)), channels)}  # fmt: skip
        card["settings"] = {
            **card.get("settings", {}),
            **{k: v for k, v in asdict(settings).items() if k.startswith("mdn_")},
        }
        card["validation_heldout_voices"] = figures
        save_prior(args.out, prior, loaded.config, card)
        print(json.dumps(figures))
        print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
        return 0
    if args.bounded and not set(channels) <= set(ARKIT_NAMES):
        print("error: --bounded needs blendshape channels only (angles are not in [0, 1])", file=sys.stderr)
        return 2
    prior, figures = train_prior(train, valid, channels, settings, log=logger)
    card = {
        "paper": "FLINT temporal VAE, as in EMOTE (Danecek et al., SIGGRAPH Asia 2023); learned latent prior: "
                 "two-stage VAE (Dai & Wipf 2019)",
        "data": {"source": "phonetic engine on TTS phone timings + performance-layer emotion tracks",
                 "train_voices": train_voices, "heldout_voices": held, "train_hours": round(hours, 3),
                 "selection": f"every {SELECT_EVERY}th clip of the training voices, not trained on"},
        "settings": asdict(settings),
        "validation_heldout_voices": figures,
        "torch": torch.__version__,
    }  # fmt: skip
    save_prior(args.out, prior, settings.model_config(channels), card)
    print(json.dumps(figures))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
