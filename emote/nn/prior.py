"""The motion prior as a generative model: a temporal VAE trained on teacher motion alone.

FLINT (Danecek et al., "Emotional Speech-Driven Animation with Content-Emotion
Disentanglement", SIGGRAPH Asia 2023, §3.1) is a temporal VAE over expression
sequences whose latent runs at a lower frame rate; EMOTE freezes its decoder
under the speech network so that every output lies on the motion manifold. The
stage-1 prior of :mod:`emote.models.train` keeps that architecture but trains it
with a KL weight of 1e-4: an autoencoder, whose latent space is not a
distribution one can sample. This module trains the same architecture
(:class:`~emote.models.networks.MotionPrior`) as a *real* β-VAE (Kingma &
Welling 2014; Higgins et al. 2017):

- a narrow latent (``latent_dim`` 16 at 12.5 Hz for 32 curves at 50 Hz: 4× fewer
  frames, 8× fewer numbers), so the KL term is a real bottleneck;
- the KL against N(0, I) per latent element, weighted by ``beta`` after a linear
  warm-up (KL annealing, Bowman et al. 2016) and floored per latent channel at
  ``free_bits`` nats (Kingma et al. 2016), so no channel collapses to the prior
  while the others carry everything;
- a *temporal* prior over the latent sequence (:class:`LatentAR1`): each latent
  channel is a stationary Gaussian AR(1) process, ``z_t = ρ z_{t−1} + √(1−ρ²) ε``,
  with ``ρ`` learned per channel by the same ELBO (an emotion held for seconds
  wants ``ρ`` near 1, articulation near 0). Its marginal is still N(0, 1), so a
  speech network trained against the decoder sees the same latent scale; with
  ``temporal = False`` the prior is FLINT's i.i.d. N(0, I);
- samples: ``decode(z)`` with ``z`` drawn from that prior, shape (D, T/4).

Teacher motion (:func:`teacher_motion`): the phonetic engine on the exact phone
timings of the offline TTS voices (:mod:`emote.data.tts`) and the clip's
loudness, composed with random emotion tracks by the performance layer — the
targets the neural engine learns, without audio features (the prior sees curves
only). The corpus' validation voices are held out whole.

The result is a small file (``checkpoints/motion_prior.pt``, :func:`save_prior`)
that stage 3 of a training run can start from (``TrainConfig.motion_prior``).
"""

from __future__ import annotations

import json
import math
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from emote.errors import EmoteError, file_error
from emote.models.config import ModelConfig
from emote.models.losses import GapModel
from emote.models.networks import MotionPrior

__all__ = [
    "LatentAR1",
    "LoadedPrior",
    "PriorSettings",
    "TemporalVAE",
    "kl_per_element",
    "load_prior",
    "sample_prior",
    "save_prior",
    "teacher_motion",
    "train_prior",
]

FORMAT = "emote-motion-prior-1"


@dataclass
class PriorSettings:
    """How the motion prior is shaped and trained.

    Attributes
    ----------
    latent_dim : int
        Latent channels per 12.5 Hz latent frame.
    widths, blocks : tuple[int, int, int]
        Channels and residual blocks at 50, 25 and 12.5 Hz (encoder and decoder).
    beta : float
        Weight of the mean KL per latent element against the mean L1 per curve
        element (after warm-up).
    free_bits : float
        Floor, in nats, of each latent channel's mean KL (batch- and time-averaged).
    kl_warmup : float
        Share of the steps over which ``beta`` rises linearly from 0.
    gap : float
        Weight of the lip-gap L1 (mm / 30), as in the speech stage's lip loss.
    steps, batch, window : int
        Optimiser steps, windows per step, frames per window (a multiple of 4).
    lr : float
        Peak AdamW learning rate (cosine decay to 5%).
    max_seconds : float
        Wall-time cap (0: none); the schedule follows time when it binds.
    temporal : bool
        Latent prior: a learned AR(1) process per channel (True) or i.i.d. N(0, I).
    seed : int
    """

    latent_dim: int = 16
    widths: tuple[int, int, int] = (32, 48, 64)
    blocks: tuple[int, int, int] = (1, 1, 2)
    beta: float = 0.01
    free_bits: float = 0.05
    kl_warmup: float = 0.3
    gap: float = 1.0
    steps: int = 3000
    batch: int = 24
    window: int = 128
    lr: float = 2e-3
    max_seconds: float = 0.0
    temporal: bool = True
    seed: int = 0

    def model_config(self, channels: Sequence[str]) -> ModelConfig:
        return ModelConfig(channels=tuple(channels), latent_dim=self.latent_dim,
                           prior_widths=tuple(self.widths), prior_blocks=tuple(self.blocks))  # fmt: skip


class LatentAR1(nn.Module):
    """A stationary Gaussian AR(1) prior per latent channel: ``z_0 ~ N(0, 1)``, ``z_t | z_{t−1} ~ N(ρ z_{t−1}, 1 − ρ²)``.

    ``ρ = RHO_MAX · sigmoid(a)`` is learned per channel; ``learn = False`` fixes ``ρ = 0`` (i.i.d. N(0, 1)).
    The channels start on time constants spread log-evenly over ``timescales`` seconds
    (``ρ = exp(−Δt / τ)`` at the latent rate): motion has fast parts (articulation, tenths of a
    second) and slow ones (an emotion held for seconds), and a channel whose prior is already slow
    costs less KL for slow content, so the encoder learns to put each where it belongs.
    """

    RHO_MAX = 0.995

    def __init__(
        self,
        dim: int,
        *,
        learn: bool = True,
        timescales: tuple[float, float] = (0.15, 8.0),
        rate: float = 12.5,
    ) -> None:
        super().__init__()
        tau = np.geomspace(*timescales, dim) if dim > 1 else np.array([timescales[0]])
        rho = np.minimum(np.exp(-1.0 / (rate * tau)) / self.RHO_MAX, 0.99)
        self.logit_rho = nn.Parameter(
            torch.tensor(np.log(rho / (1 - rho)), dtype=torch.float32), requires_grad=learn
        )
        self.learn = learn

    @property
    def rho(self) -> torch.Tensor:
        if not self.learn:
            return torch.zeros_like(self.logit_rho)
        return self.RHO_MAX * torch.sigmoid(self.logit_rho)

    def kl(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """KL(q || p) in nats per latent element (B, D, L) for a factorised Gaussian posterior q.

        For t ≥ 1: ``½[log(1−ρ²) + ((μ_t − ρμ_{t−1})² + σ_t² + ρ²σ_{t−1}²) / (1−ρ²) − 1 − log σ_t²]``;
        t = 0 is the standard-normal KL (ρ = 0 gives it everywhere).
        """
        var = logvar.exp()
        first = kl_per_element(mu[..., :1], logvar[..., :1])
        rho = self.rho.to(mu)[None, :, None]
        one = 1.0 - rho**2
        num = (mu[..., 1:] - rho * mu[..., :-1]).pow(2) + var[..., 1:] + rho**2 * var[..., :-1]
        rest = 0.5 * (torch.log(one) + num / one - 1.0 - logvar[..., 1:])
        return torch.cat([first, rest], dim=-1)

    @torch.no_grad()
    def sample(self, n: int, length: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Latent sequences (n, D, length) drawn from the prior."""
        rho = self.rho.detach()[None, :]
        eps = torch.randn(n, rho.shape[1], length, generator=generator)
        z = torch.empty_like(eps)
        z[..., 0] = eps[..., 0]
        scale = torch.sqrt(1.0 - rho**2)
        for t in range(1, length):
            z[..., t] = rho * z[..., t - 1] + scale * eps[..., t]
        return z


class TemporalVAE(MotionPrior):
    """The motion prior (encoder + decoder of :class:`MotionPrior`) with its latent prior :class:`LatentAR1`."""

    def __init__(self, cfg: ModelConfig, n_channels: int, *, temporal: bool = True) -> None:
        super().__init__(cfg, n_channels)
        self.latent = LatentAR1(cfg.latent_dim, learn=temporal)


@dataclass
class LoadedPrior:
    """A trained motion prior (float32, eval mode, CPU) and what it was trained on."""

    prior: TemporalVAE
    config: ModelConfig
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def channels(self) -> tuple[str, ...]:
        return self.config.channels


def teacher_motion(
    voices: Sequence[str],
    *,
    seconds_per_voice: float,
    channels: Sequence[str],
    seed: int = 0,
    fps: float = 50.0,
    progress: Callable[[float], None] | None = None,
) -> list[np.ndarray]:
    """Teacher curves (frames, C) at ``fps`` for TTS lines of each voice, under random emotion tracks.

    Each voice speaks new lines (:func:`emote.data.text.sentences`) at prosody
    drawn for a random emotion (:func:`emote.data.prosody.sample_prosody`) until
    it has spoken ``seconds_per_voice``; each line gets 0.05–0.6 s of silence on
    either side; the phonetic engine animates its exact phones and loudness; the
    performance layer adds emotion weights drawn as in training
    (:func:`emote.data.dataset.fresh_weights`).
    """
    import soxr

    from emote.animation.channels import indices
    from emote.audio.features import frame_energy
    from emote.data.corpus import _pad_phones
    from emote.data.dataset import fresh_weights
    from emote.data.prosody import sample_prosody
    from emote.data.text import sentences
    from emote.data.tts import available_voices, synthesize
    from emote.engines.phonetic import animate_phones
    from emote.performance.compose import apply_emotion
    from emote.performance.emotions import EMOTIONS

    installed = {v.id: v for v in available_voices()}
    missing = [v for v in voices if v not in installed]
    if missing:
        raise EmoteError(f"TTS voice(s) not installed: {', '.join(missing)}")
    cols = indices(list(channels))
    sr = 16000
    clips: list[np.ndarray] = []
    for k, vid in enumerate(voices):
        rng = np.random.default_rng([seed, k])
        lines = sentences(int(rng.integers(2**31)))
        spoken = 0.0
        while spoken < seconds_per_voice:
            texts = list(islice(lines, 8))
            emotions = [EMOTIONS[int(rng.integers(len(EMOTIONS)))] for _ in texts]
            prosodies = [sample_prosody(e, 1.0, rng)[0] for e in emotions]
            for utt in synthesize(installed[vid], texts, prosodies):
                y = soxr.resample(utt.samples, utt.sr, sr).astype(np.float32) if utt.sr != sr else utt.samples
                lead, tail = rng.uniform(0.05, 0.6, size=2)
                y = np.concatenate(
                    [np.zeros(int(lead * sr), np.float32), y, np.zeros(int(tail * sr), np.float32)]
                )
                duration = y.size / sr
                phones = _pad_phones(utt.phones, int(lead * sr) / sr, duration)
                n = math.ceil(duration * fps)
                speech = animate_phones(phones, n_frames=n, fps=fps,
                                        energy=frame_energy(y=y, sr=sr, fps=fps, n_frames=n))  # fmt: skip
                face = apply_emotion(speech, fresh_weights(n, fps, rng))
                clips.append(face[:, cols].astype(np.float32))
                spoken += duration
            if progress:
                progress((k + min(spoken / seconds_per_voice, 1.0)) / len(voices))
    return clips


def windows(clips: Sequence[np.ndarray], window: int, *, hop: int | None = None) -> np.ndarray:
    """Every ``window``-frame stretch of ``clips`` every ``hop`` frames (default: no overlap), (N, window, C)."""
    hop = hop or window
    out = [c[a : a + window] for c in clips for a in range(0, c.shape[0] - window + 1, hop)]
    return np.stack(out) if out else np.zeros((0, window, clips[0].shape[1] if clips else 0), np.float32)


def kl_per_element(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, 1)) in nats for every latent element, same shape as ``mu``."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def _random_windows(clips: list[np.ndarray], batch: int, window: int, rng: np.random.Generator) -> np.ndarray:
    lengths = np.array([c.shape[0] for c in clips])
    ok = np.flatnonzero(lengths >= window)
    picks = rng.choice(ok, size=batch, p=lengths[ok] / lengths[ok].sum())
    return np.stack([clips[i][(s := int(rng.integers(lengths[i] - window + 1))) : s + window] for i in picks])


def train_prior(
    train: list[np.ndarray],
    valid: list[np.ndarray],
    channels: Sequence[str],
    settings: PriorSettings,
    *,
    log: Callable[[dict[str, float]], None] | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[TemporalVAE, dict[str, float]]:
    """Train a motion prior on teacher clips (frames, C); return it (eval mode) and its validation figures."""
    if settings.window % 4:
        raise ValueError(f"window must be a multiple of 4, got {settings.window}")
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    prior = TemporalVAE(settings.model_config(channels), len(channels), temporal=settings.temporal)
    gap = GapModel(channels)
    opt = torch.optim.AdamW(prior.parameters(), lr=settings.lr, weight_decay=1e-4)
    val = torch.from_numpy(windows(valid, settings.window))
    t0 = time.perf_counter()
    step = 0
    while step < settings.steps:
        elapsed = time.perf_counter() - t0
        if settings.max_seconds and elapsed > settings.max_seconds:
            break
        frac = max(step / settings.steps, elapsed / settings.max_seconds if settings.max_seconds else 0.0)
        for g in opt.param_groups:
            g["lr"] = settings.lr * (
                min(1.0, (step + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
            )
        beta = settings.beta * min(1.0, frac / settings.kl_warmup) if settings.kl_warmup else settings.beta
        x = torch.from_numpy(_random_windows(train, settings.batch, settings.window, rng))
        recon, mu, logvar = prior(x)
        rec = (recon - x).abs().mean()
        gap_l1 = (gap(recon) - gap(x)).abs().mean() / 30.0
        kl = prior.latent.kl(mu, logvar)  # (B, D, T/4)
        kl_channel = kl.mean(dim=(0, 2))  # free bits per latent channel, over batch and time
        kl_term = torch.clamp(kl_channel, min=settings.free_bits).mean()
        loss = rec + settings.gap * gap_l1 + beta * kl_term
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(prior.parameters(), 1.0)
        opt.step()
        step += 1
        if log and (step % 100 == 0 or step == 1):
            log({"step": step, "seconds": round(time.perf_counter() - t0, 1), "beta": beta, "rec": float(rec.detach()),
                 "gap_l1_mm": float(gap_l1.detach()) * 30.0, "kl_per_element": float(kl.detach().mean())})  # fmt: skip
        if progress:
            progress(frac)
    prior.eval()
    figures = validate(prior, val, channels)
    figures.update(steps=step, seconds=round(time.perf_counter() - t0, 1))
    return prior, figures


@torch.inference_mode()
def validate(prior: TemporalVAE, val: torch.Tensor, channels: Sequence[str]) -> dict[str, float]:
    """Reconstruction (posterior mean) MAE, lip-gap error in mm, and KL per latent element on windows (N, T, C)."""
    gap = GapModel(channels)
    rec, gap_err, kls = [], [], []
    for a in range(0, val.shape[0], 64):
        x = val[a : a + 64]
        mu, logvar = prior.encoder(x)
        recon = prior.decoder(mu)
        rec.append((recon - x).abs().mean(dim=(1, 2)))
        gap_err.append((gap(recon) - gap(x)).abs().mean(dim=1))
        kls.append(prior.latent.kl(mu, logvar).mean(dim=(0, 2)) * x.shape[0])
    kl_channel = torch.stack(kls).sum(0) / val.shape[0]
    return {
        "recon_mae": float(torch.cat(rec).mean()),
        "recon_gap_mae_mm": float(torch.cat(gap_err).mean()),
        "kl_per_element": float(kl_channel.mean()),
        "active_latent_channels": int((kl_channel > 0.01).sum()),
    }


@torch.inference_mode()
def sample_prior(prior: MotionPrior, n_frames: int, n: int = 1, *, seed: int = 0) -> np.ndarray:
    """``n`` curve sequences (n, n_frames, C) decoded from latents drawn from the prior.

    A :class:`TemporalVAE` draws from its :class:`LatentAR1`; any other
    :class:`MotionPrior` (or an :class:`~emote.models.networks.EmoteNet`, whose
    ``decoder`` is a frozen prior decoder) from i.i.d. N(0, I).
    """
    latent_frames = math.ceil(n_frames / 4)
    g = torch.Generator().manual_seed(seed)
    if isinstance(prior, TemporalVAE):
        z = prior.latent.sample(n, latent_frames, generator=g)
    else:
        z = torch.randn(n, prior.decoder.inp.in_channels, latent_frames, generator=g)
    return prior.decoder(z)[:, :n_frames].numpy()


def save_prior(
    path: str | PathLike[str], prior: TemporalVAE, config: ModelConfig, card: dict[str, Any]
) -> Path:
    """Write a prior file atomically: float16 encoder + decoder weights, config and card."""
    from emote.export.atomic import atomic_path

    blob = {
        "format": FORMAT,
        "config": json.dumps(config.to_dict()),
        "temporal": prior.latent.learn,
        "prior": {
            k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
            for k, v in prior.state_dict().items()
        },
        "card": json.dumps(card),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)
    return path


def load_prior(path: str | PathLike[str]) -> LoadedPrior:
    """Read a prior file written by :func:`save_prior`.

    Raises
    ------
    EmoteError
        Missing or foreign file, naming it.
    """
    p = Path(path)
    if not p.is_file():
        raise file_error(EmoteError, p, "motion prior file not found")
    try:
        blob = torch.load(p, map_location="cpu", weights_only=True)
        if blob.get("format") != FORMAT:
            raise ValueError("not an emote motion prior")
        cfg = ModelConfig.from_dict(json.loads(blob["config"]))
        prior = TemporalVAE(cfg, len(cfg.channels), temporal=bool(blob.get("temporal", True)))
        prior.load_state_dict(
            {k: v.float() if v.is_floating_point() else v for k, v in blob["prior"].items()}
        )
        card = json.loads(blob.get("card", "{}"))
    except (
        RuntimeError,
        ValueError,
        KeyError,
        AttributeError,
        EOFError,
        OSError,
        pickle.UnpicklingError,
    ) as err:
        raise file_error(
            EmoteError, p, f"not a usable motion prior ({err.__class__.__name__}: {str(err)[:200]})"
        ) from None
    return LoadedPrior(prior.eval(), cfg, card)
