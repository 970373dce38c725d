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
- :class:`LatentMDN` — a *learned* autoregressive prior over the latent sequence, fitted to
  the aggregate posterior of a trained VAE (the second stage of a two-stage VAE: Dai & Wipf,
  "Diagnosing and Enhancing VAE Models", ICLR 2019; ex-post density estimation, Ghosh et al.,
  "From Variational to Deterministic Autoencoders", ICLR 2020): a GRU (Cho et al. 2014) reads
  ``z_<t`` and gives ``p(z_t | z_<t)`` as a mixture of diagonal Gaussians over the whole latent
  frame (a mixture density network, Bishop 1994; Graves 2013). A fixed N(0, I) or AR(1) prior
  leaves "holes" where the posterior puts no mass, and teacher emotion is held for seconds and
  then *switches*; a mixture can say "hold" or "jump", a single Gaussian cannot;
- :class:`TemporalVAE` — encoder + decoder (:class:`MotionPrior`) + the AR(1) prior it is trained
  against, and the learned prior it is sampled from when it has one;
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
    "LatentMDN",
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


class LatentMDN(nn.Module):
    """Learned autoregressive latent prior: ``p(z_t | z_<t)`` = a GRU's mixture of ``components`` diagonal Gaussians.

    One mixture over the whole latent frame (all channels share the component), so a component
    can stand for "the expression holds" (a narrow Gaussian around the last frame's slow
    channels) and another for "it changes". Frame 0 is predicted from a learned start vector.
    """

    def __init__(self, dim: int, *, hidden: int = 128, components: int = 4) -> None:
        super().__init__()
        self.dim, self.hidden, self.components = dim, hidden, components
        self.start = nn.Parameter(torch.zeros(dim))
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, components * (1 + 2 * dim))

    @property
    def spec(self) -> dict[str, int]:
        return {"dim": self.dim, "hidden": self.hidden, "components": self.components}

    def _mixture(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Hidden states (B, L, H) → log mixing weights (B, L, K), means and log-scales (B, L, K, D)."""
        out = self.head(h)
        k, d = self.components, self.dim
        logits, rest = out[..., :k], out[..., k:].unflatten(-1, (k, 2 * d))
        mean, log_scale = rest.chunk(2, dim=-1)
        return torch.log_softmax(logits, -1), mean, log_scale.clamp(-7.0, 3.0)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """``log p(z_t | z_<t)`` in nats for every latent frame of ``z`` (B, D, L) → (B, L)."""
        x = z.transpose(1, 2)
        inp = torch.cat([self.start.expand(x.shape[0], 1, -1), x[:, :-1]], dim=1)
        log_w, mean, log_scale = self._mixture(self.gru(inp)[0])
        r = (x[:, :, None, :] - mean) * torch.exp(-log_scale)
        comp = (-0.5 * r.pow(2) - log_scale - 0.5 * math.log(2 * math.pi)).sum(-1)
        return torch.logsumexp(log_w + comp, dim=-1)

    def kl(self, mu: torch.Tensor, logvar: torch.Tensor, *, samples: int = 4) -> torch.Tensor:
        """Monte-Carlo KL(q || p) in nats per latent element (B, D, L) spread evenly over the channels."""
        q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
        total = torch.zeros(mu.shape[0], mu.shape[2], device=mu.device)
        for _ in range(samples):
            z = q.rsample()
            total = total + q.log_prob(z).sum(1) - self.log_prob(z)
        return (total / samples)[:, None, :].expand(-1, mu.shape[1], -1) / mu.shape[1]

    @torch.no_grad()
    def sample(self, n: int, length: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Latent sequences (n, D, length) drawn frame by frame (ancestral sampling)."""
        x = self.start.detach().expand(n, 1, -1).contiguous()
        h = None
        out = []
        for _ in range(length):
            y, h = self.gru(x, h)
            log_w, mean, log_scale = self._mixture(y[:, 0])
            k = torch.multinomial(log_w.exp(), 1, generator=generator)[:, 0]
            pick = torch.arange(n)
            eps = torch.randn(n, self.dim, generator=generator)
            z = mean[pick, k] + torch.exp(log_scale[pick, k]) * eps
            out.append(z)
            x = z[:, None, :]
        return torch.stack(out, dim=-1)


class TemporalVAE(MotionPrior):
    """The motion prior (encoder + decoder of :class:`MotionPrior`) with its latent prior :class:`LatentAR1`.

    ``sequence`` (a :class:`LatentMDN`), when set, is the prior the VAE is *sampled* from: fitted
    after training to the posterior of the training motion (two-stage VAE).
    """

    def __init__(self, cfg: ModelConfig, n_channels: int, *, temporal: bool = True) -> None:
        super().__init__(cfg, n_channels)
        self.latent = LatentAR1(cfg.latent_dim, learn=temporal)
        self.sequence: LatentMDN | None = None


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

    A :class:`TemporalVAE` draws from its learned :class:`LatentMDN` when it has one, else from
    its :class:`LatentAR1`; any other
    :class:`MotionPrior` (or an :class:`~emote.nn.networks.EmoteNet`, whose
    ``decoder`` is a frozen prior decoder) from i.i.d. N(0, I).
    """
    latent_frames = math.ceil(n_frames / 4)
    g = torch.Generator().manual_seed(seed)
    if isinstance(prior, TemporalVAE) and prior.sequence is not None:
        z = prior.sequence.sample(n, latent_frames, generator=g)
    elif isinstance(prior, TemporalVAE):
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
        "sequence": json.dumps(prior.sequence.spec if prior.sequence is not None else None),
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
        spec = json.loads(blob.get("sequence", "null"))
        if spec is not None:
            prior.sequence = LatentMDN(spec["dim"], hidden=spec["hidden"], components=spec["components"])
        prior.load_state_dict(float_state(blob["prior"]))
        card = json.loads(blob.get("card", "{}"))
    except UNUSABLE as err:
        raise unusable(p, "motion prior", err) from None
    return LoadedPrior(prior.eval(), cfg, card)
