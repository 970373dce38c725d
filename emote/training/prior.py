"""Training the motion prior (:mod:`emote.nn.prior`) as a β-VAE on teacher motion alone.

After FLINT, the motion prior of EMOTE (Danecek et al., SIGGRAPH Asia 2023, §3.1),
trained as a real generative model (Kingma & Welling 2014; Higgins et al. 2017):

- a narrow latent (``latent_dim`` 16 at 12.5 Hz for 32 curves at 50 Hz: 4× fewer
  frames, 8× fewer numbers), so the KL term is a real bottleneck;
- the KL against the learned AR(1) latent prior (:class:`~emote.nn.prior.LatentAR1`)
  per latent element, weighted by ``beta`` after a linear warm-up (KL annealing,
  Bowman et al. 2016) and floored per latent channel at ``free_bits`` nats
  (Kingma et al. 2016), so no channel collapses to the prior while the others
  carry everything.

Then (:func:`fit_latent_prior`) the second stage of a two-stage VAE (Dai & Wipf, ICLR 2019):
with the VAE frozen, a learned autoregressive prior (:class:`~emote.nn.prior.LatentMDN`) is
fitted by maximum likelihood to latents drawn from the posterior of the training windows; it is
what samples are drawn from. The AR(1) prior of the first stage only shapes the latent space.

Teacher motion (:func:`teacher_motion`): the phonetic engine on the exact phone
timings of the offline TTS voices (:mod:`emote.training.data.tts`) and the clip's
loudness, composed with random emotion tracks by the performance layer — the
targets the neural engine learns, without audio features (the prior sees curves
only). The corpus' validation voices are held out whole
(:mod:`emote.training.train_prior`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np
import torch

from emote.errors import EmoteError
from emote.nn.config import ModelConfig
from emote.nn.prior import LatentMDN, TemporalVAE
from emote.training.losses import GapModel

__all__ = ["PriorSettings", "fit_latent_prior", "teacher_motion", "train_prior", "validate", "windows"]


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
    velocity : float
        Weight of the L1 between frame-to-frame differences of reconstruction and target (the
        velocity loss of VOCA, Cudeiro et al. CVPR 2019): an L1 on values alone lets a decoder
        round off the teacher's sharp onsets (closures), which leaves its 8–25 Hz power and
        acceleration a tenth of the teacher's.
    steps, batch, window : int
        Optimiser steps, windows per step, frames per window (a multiple of 4).
    lr : float
        Peak AdamW learning rate (cosine decay to 5%).
    max_seconds : float
        Wall-time cap (0: none); the schedule follows time when it binds.
    temporal : bool
        Latent prior: a learned AR(1) process per channel (True) or i.i.d. N(0, I).
    bounded : bool
        The decoder's straight-through clamp to [0, 1] (``ModelConfig.bounded_output``): with
        the L1 loss it is a censored regression, so the exact zeros of the teacher's idle
        channels are decoded as exact zeros.
    seed : int
    device : str
        Torch device of the training ("cpu", "cuda").
    mdn_steps : int
        Steps of the second stage (:func:`fit_latent_prior`; 0: none, samples come from the AR(1)).
    mdn_hidden, mdn_components : int
        GRU width and mixture components of the learned latent prior.
    mdn_window : int
        Curve frames per window the learned prior is fitted on (windows start where clips start,
        every half window, as the clips are cut for the benchmark's real windows).
    """

    latent_dim: int = 16
    widths: tuple[int, int, int] = (32, 48, 64)
    blocks: tuple[int, int, int] = (1, 1, 2)
    beta: float = 0.01
    free_bits: float = 0.05
    kl_warmup: float = 0.3
    gap: float = 1.0
    velocity: float = 0.0
    steps: int = 3000
    batch: int = 24
    window: int = 128
    lr: float = 2e-3
    max_seconds: float = 0.0
    temporal: bool = True
    bounded: bool = False
    seed: int = 0
    device: str = "cpu"
    mdn_steps: int = 0
    mdn_hidden: int = 128
    mdn_components: int = 4
    mdn_window: int = 200

    def model_config(self, channels: Sequence[str]) -> ModelConfig:
        return ModelConfig(channels=tuple(channels), latent_dim=self.latent_dim, prior_widths=tuple(self.widths),
                           prior_blocks=tuple(self.blocks), bounded_output=self.bounded)  # fmt: skip


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

    Each voice speaks new lines (:func:`emote.training.data.text.sentences`) at prosody
    drawn for a random emotion (:func:`emote.training.data.prosody.sample_prosody`) until
    it has spoken ``seconds_per_voice``; each line gets 0.05–0.6 s of silence on
    either side; the phonetic engine animates its exact phones and loudness; the
    performance layer adds emotion weights drawn as in training
    (:func:`emote.training.data.dataset.fresh_weights`).
    """
    import soxr

    from emote.animation.channels import indices
    from emote.audio.features import frame_energy
    from emote.engines.phonetic import animate_phones
    from emote.performance.compose import apply_emotion
    from emote.performance.emotions import EMOTIONS
    from emote.training.data.corpus import _pad_phones
    from emote.training.data.dataset import fresh_weights
    from emote.training.data.prosody import sample_prosody
    from emote.training.data.text import sentences
    from emote.training.data.tts import available_voices, synthesize

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
    dev = torch.device(settings.device)
    prior = TemporalVAE(settings.model_config(channels), len(channels), temporal=settings.temporal).to(dev)
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
        x = torch.from_numpy(_random_windows(train, settings.batch, settings.window, rng)).to(dev)
        recon, mu, logvar = prior(x)
        rec = (recon - x).abs().mean()
        gap_l1 = (gap(recon) - gap(x)).abs().mean() / 30.0
        kl = prior.latent.kl(mu, logvar)  # (B, D, T/4)
        kl_channel = kl.mean(dim=(0, 2))  # free bits per latent channel, over batch and time
        kl_term = torch.clamp(kl_channel, min=settings.free_bits).mean()
        loss = rec + settings.gap * gap_l1 + beta * kl_term
        if settings.velocity:
            loss = loss + settings.velocity * (recon.diff(dim=1) - x.diff(dim=1)).abs().mean()
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
    if settings.mdn_steps:
        fit_latent_prior(prior, train, settings, log=log)
    prior.cpu()
    figures = validate(prior, val, channels)
    figures.update(steps=step, seconds=round(time.perf_counter() - t0, 1))
    return prior, figures


def fit_latent_prior(
    prior: TemporalVAE,
    train: list[np.ndarray],
    settings: PriorSettings,
    *,
    log: Callable[[dict[str, float]], None] | None = None,
) -> LatentMDN:
    """Fit ``prior.sequence`` (a new :class:`LatentMDN`) to latents drawn from the frozen VAE's posterior.

    Maximum likelihood of ``z ~ q(z | x)`` (fresh posterior noise every step, so the learned
    prior covers the posterior's spread, not only its means) over the windows of the training
    clips; Adam with cosine decay. The VAE's weights are not touched.
    """
    dev = next(prior.parameters()).device
    torch.manual_seed(settings.seed + 1)
    rng = np.random.default_rng(settings.seed + 1)
    w = settings.mdn_window
    data = torch.from_numpy(windows(train, w, hop=w // 2)).to(dev)
    with torch.no_grad():
        stats = [prior.encoder(data[a : a + 256]) for a in range(0, len(data), 256)]
    mu = torch.cat([m for m, _ in stats])
    std = torch.cat([torch.exp(0.5 * v) for _, v in stats])
    mdn = LatentMDN(mu.shape[1], hidden=settings.mdn_hidden, components=settings.mdn_components).to(dev)
    opt = torch.optim.Adam(mdn.parameters(), lr=3e-3)
    t0 = time.perf_counter()
    for step in range(settings.mdn_steps):
        for g in opt.param_groups:
            g["lr"] = 3e-3 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / settings.mdn_steps)))
        idx = torch.from_numpy(rng.integers(len(mu), size=settings.batch)).to(dev)
        z = mu[idx] + std[idx] * torch.randn_like(std[idx])
        nll = -mdn.log_prob(z).mean() / mu.shape[1]  # nats per latent element
        opt.zero_grad(set_to_none=True)
        nll.backward()
        torch.nn.utils.clip_grad_norm_(mdn.parameters(), 1.0)
        opt.step()
        if log and ((step + 1) % 200 == 0 or step == 0):
            log(
                {
                    "mdn_step": step + 1,
                    "seconds": round(time.perf_counter() - t0, 1),
                    "nll_per_element": float(nll.detach()),
                }
            )
    prior.sequence = mdn.eval()
    return mdn


@torch.inference_mode()
def validate(prior: TemporalVAE, val: torch.Tensor, channels: Sequence[str]) -> dict[str, float]:
    """Reconstruction (posterior mean) MAE, lip-gap error in mm, and KL per latent element on windows (N, T, C).

    The KL is to the prior samples are drawn from: the learned :class:`LatentMDN` (Monte Carlo)
    when the VAE has one, else the AR(1) (exact); ``kl_per_element_ar1`` is to the AR(1) the VAE
    was trained against (a channel is active when that KL exceeds 0.01 nats).
    """
    gap = GapModel(channels)
    rec, gap_err, kls, kls_ar1 = [], [], [], []
    for a in range(0, val.shape[0], 64):
        x = val[a : a + 64]
        mu, logvar = prior.encoder(x)
        recon = prior.decoder(mu)
        rec.append((recon - x).abs().mean(dim=(1, 2)))
        gap_err.append((gap(recon) - gap(x)).abs().mean(dim=1))
        latent = prior.sequence if prior.sequence is not None else prior.latent
        kls.append(latent.kl(mu, logvar).mean(dim=(0, 2)) * x.shape[0])
        kls_ar1.append(prior.latent.kl(mu, logvar).mean(dim=(0, 2)) * x.shape[0])
    kl_channel = torch.stack(kls).sum(0) / val.shape[0]
    return {
        "recon_mae": float(torch.cat(rec).mean()),
        "recon_gap_mae_mm": float(torch.cat(gap_err).mean()),
        "kl_per_element": float(kl_channel.mean()),
        "kl_per_element_ar1": float((torch.stack(kls_ar1).sum(0) / val.shape[0]).mean()),
        "active_latent_channels": int((torch.stack(kls_ar1).sum(0) / val.shape[0] > 0.01).sum()),
    }
