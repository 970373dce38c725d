"""The motion prior as a generative model: a temporal VAE over curve sequences (inference side).

FLINT (Danecek et al., "Emotional Speech-Driven Animation with Content-Emotion
Disentanglement", SIGGRAPH Asia 2023, §3.1) is a temporal VAE over expression
sequences whose latent runs at a lower frame rate; EMOTE freezes its decoder
under the speech network so that every output lies on the motion manifold. The
stage-1 prior of :mod:`emote.training.train` keeps that architecture but trains it
with a KL weight of 1e-4: an autoencoder, whose latent space is not a
distribution one can sample. :mod:`emote.training.prior` trains the same
architecture (:class:`~emote.nn.networks.MotionPrior`) as a *real* β-VAE
(Kingma & Welling 2014; Higgins et al. 2017) with the latent prior of this
module:

- :class:`LatentAR1` — a *temporal* prior over the latent sequence: each latent
  channel is a stationary Gaussian AR(1) process, ``z_t = ρ z_{t−1} + √(1−ρ²) ε``,
  with ``ρ`` learned per channel by the ELBO (an emotion held for seconds wants
  ``ρ`` near 1, articulation near 0). Its marginal is still N(0, 1), so a speech
  network trained against the decoder sees the same latent scale; with
  ``learn = False`` it is FLINT's i.i.d. N(0, I);
- :class:`TemporalVAE` — encoder + decoder (:class:`MotionPrior`) + that prior;
- :func:`sample_prior` — curves decoded from latents drawn from the prior;
- :func:`save_prior` / :func:`load_prior` — the small prior file
  (``checkpoints/motion_prior.pt``) that a training run can freeze under its
  speech network (``TrainConfig.motion_prior``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from emote.nn.checkpoint import UNUSABLE, float_state, read_blob, stored_state, unusable, write_blob
from emote.nn.config import ModelConfig
from emote.nn.networks import MotionPrior

__all__ = [
    "LatentAR1",
    "LoadedPrior",
    "TemporalVAE",
    "kl_per_element",
    "load_prior",
    "sample_prior",
    "save_prior",
]

FORMAT = "emote-motion-prior-1"


def kl_per_element(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, 1)) in nats for every latent element, same shape as ``mu``."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


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


@torch.inference_mode()
def sample_prior(prior: MotionPrior, n_frames: int, n: int = 1, *, seed: int = 0) -> np.ndarray:
    """``n`` curve sequences (n, n_frames, C) decoded from latents drawn from the prior.

    A :class:`TemporalVAE` draws from its :class:`LatentAR1`; any other
    :class:`MotionPrior` (or an :class:`~emote.nn.networks.EmoteNet`, whose
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
    blob = {
        "format": FORMAT,
        "config": json.dumps(config.to_dict()),
        "temporal": prior.latent.learn,
        "prior": stored_state(prior),
        "card": json.dumps(card),
    }
    return write_blob(path, blob)


def load_prior(path: str | PathLike[str]) -> LoadedPrior:
    """Read a prior file written by :func:`save_prior`.

    Raises
    ------
    EmoteError
        Missing or foreign file, naming it.
    """
    p = Path(path)
    blob = read_blob(
        p, FORMAT, what="motion prior", missing="motion prior file not found", foreign="an emote motion prior"
    )
    try:
        cfg = ModelConfig.from_dict(json.loads(blob["config"]))
        prior = TemporalVAE(cfg, len(cfg.channels), temporal=bool(blob.get("temporal", True)))
        prior.load_state_dict(float_state(blob["prior"]))
        card = json.loads(blob.get("card", "{}"))
    except UNUSABLE as err:
        raise unusable(p, "motion prior", err) from None
    return LoadedPrior(prior.eval(), cfg, card)
