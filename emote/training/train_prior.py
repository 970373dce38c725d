"""Train the motion prior (a temporal β-VAE, :mod:`emote.nn.prior`, :mod:`emote.training.prior`) on teacher motion, on CPU.

    python -m emote.training.train_prior [--out checkpoints/motion_prior.pt] [--minutes-per-voice 5]
                                       [--beta 0.01] [--free-bits 0.05] [--max-seconds 600]

Teacher motion comes from the offline TTS voices (the corpus' training voices;
its validation voices are held out whole and give the validation figures). The
curves are cached in ``--cache`` so several settings can be compared on the same
data. The output file holds the prior's config, weights (float16) and a card
with the data, settings and validation figures.
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


def load_or_make_teacher(
    cache: Path, voices: list[str], seconds: float, channels, seed: int
) -> list[np.ndarray]:
    """Teacher clips from ``cache`` when it was made with the same voices/seconds/channels/seed, else made anew."""
    from emote.io.atomic import atomic_path
    from emote.training.prior import teacher_motion

    key = json.dumps({"voices": voices, "seconds": seconds, "channels": list(channels), "seed": seed})
    if cache.is_file():
        with np.load(cache) as z:
            if str(z["key"]) == key:
                return [z[f"c{i}"] for i in range(int(z["n"]))]
    clips = teacher_motion(voices, seconds_per_voice=seconds, channels=channels, seed=seed)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache) as tmp, open(tmp, "wb") as f:
        np.savez(f, key=key, n=len(clips), **{f"c{i}": c for i, c in enumerate(clips)})
    return clips


def teacher_split(cache_dir: Path, channels, *, minutes_per_voice: float, seed: int = 0):
    """(train clips, held-out-voice clips) of teacher motion, cached under ``cache_dir``."""
    from emote.training.data.corpus import CorpusSettings
    from emote.training.data.tts import available_voices

    held = list(CorpusSettings().validation_voices)
    train_voices = [v.id for v in available_voices() if v.id not in held]
    train = load_or_make_teacher(
        cache_dir / "train.npz", train_voices, 60 * minutes_per_voice, channels, seed
    )
    valid = load_or_make_teacher(cache_dir / "valid.npz", held, 60 * minutes_per_voice, channels, seed + 1)
    return train, valid, train_voices, held


def main(argv: list[str] | None = None) -> int:
    from emote.nn.prior import save_prior
    from emote.training.prior import PriorSettings, train_prior

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
    ap.add_argument("--steps", type=int, default=d.steps)
    ap.add_argument("--max-seconds", type=float, default=600.0, help="wall-time cap of the training")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest on a shared machine)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    try:
        channels = _channels(args.channels_from)
        train, valid, train_voices, held = teacher_split(
            args.cache, channels, minutes_per_voice=args.minutes_per_voice
        )
    except EmoteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    hours = sum(c.shape[0] for c in train) / 50 / 3600
    print(
        f"teacher motion: {hours:.2f} h from {len(train_voices)} voices; held out {', '.join(held)}",
        flush=True,
    )
    settings = PriorSettings(latent_dim=args.latent_dim, beta=args.beta, free_bits=args.free_bits, steps=args.steps, temporal=not args.iid,
                             max_seconds=args.max_seconds, seed=args.seed)  # fmt: skip
    prior, figures = train_prior(
        train, valid, channels, settings, log=lambda r: print(json.dumps(r), flush=True)
    )
    card = {
        "paper": "FLINT temporal VAE, as in EMOTE (Danecek et al., SIGGRAPH Asia 2023)",
        "data": {"source": "phonetic engine on TTS phone timings + performance-layer emotion tracks",
                 "train_voices": train_voices, "heldout_voices": held, "train_hours": round(hours, 3)},
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
