"""Training: the EMOTE recipe in three stages, resumable, logged.

1. **prior** — the motion prior (:class:`MotionPrior`) learns curve sequences
   alone (reconstruction + closure-weighted lip gap + a KL of weight ``losses.kl``).
   With the recipes' 1e-4 it is a VAE in shape only, in effect an **autoencoder**
   whose latents cannot be sampled. It is kept because it gives better lips and
   emotion than the generative prior of :mod:`emote.nn.prior`: 2026-12-05, real-speech
   recipe, validation curve error 0.0105 against 0.0275 under the decoder of the first VAE
   prior, whose own reconstruction error was 0.028 (``checkpoints/MODEL_CARD.md``). The
   retrained prior reconstructs at 0.0045 and has not yet been trained under a speech network. ``TrainConfig.motion_prior`` freezes a generative
   prior's decoder instead;
2. **classifier** — the emotion classifier learns the window's emotion from
   the upper-face curves (soft labels: the mean emotion weights);
3. **main** — :class:`EmoteNet` learns speech + emotion → prior latents with
   the prior's decoder frozen; losses: reconstruction, lip (mouth channels and
   closure-weighted lip gap), sequence-level emotion from the frozen
   classifier, and content–emotion exchange (Danecek et al. 2023).

``run_dir/state.pt`` is rewritten every ``save_every`` steps and at the end of
each stage (atomically); a run that stops resumes from it. ``log.jsonl`` gets a
line per ``log_every`` steps and per evaluation. The result is
``run_dir/model.pt`` (:func:`emote.nn.checkpoint.save_model`).

A stage may be capped in wall time (``max_seconds``): the learning-rate
schedule runs on whichever of steps or time ends first, so a capped stage
still anneals.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from emote.animation.channels import INDEX, MOUTH_NAMES, UPPER_FACE_NAMES
from emote.errors import EmoteError
from emote.nn.checkpoint import save_model
from emote.nn.config import ModelConfig, StageConfig, TrainConfig, data_roots
from emote.nn.features import FeatureSettings
from emote.nn.networks import EmoteNet, EmotionClassifier, MotionPrior
from emote.performance.emotions import EXPRESSIONS
from emote.phonetics.labels import PHONE_CLASSES
from emote.training.data.dataset import (
    Stream,
    Targets,
    load_stream,
    pick_variants,
    prepare_targets,
    sample_batch,
    target_channels,
)
from emote.training.data.shards import dataset_features
from emote.training.losses import GapModel, kl_divergence, masked_l1, soft_cross_entropy

__all__ = ["STAGES", "DeviceBatches", "Trainer", "augment_features", "confuse_posteriors", "train"]

log = logging.getLogger("emote.train")

STAGES = ("prior", "classifier", "main")
STATE = "state.pt"
LOG = "log.jsonl"
MODEL = "model.pt"


class DeviceBatches:
    """Training windows gathered on the training device from a stream and its prepared targets.

    The same draw as :func:`emote.training.data.dataset.sample_batch` (the numpy
    reference), with the whole dataset resident on the device: a batch costs a
    few gathers, so a GPU is never starved by CPU-side batch making.
    """

    def __init__(
        self,
        stream: Stream,
        targets: Targets,
        device: torch.device,
        seed: int,
        frame_weight: np.ndarray | None = None,
    ) -> None:
        def put(x: np.ndarray, dtype: torch.dtype | None = None) -> torch.Tensor:
            t = torch.from_numpy(np.ascontiguousarray(x))
            return t.to(device=device, dtype=dtype) if dtype else t.to(device)

        self.n = stream.n_frames
        self.m = stream.mel.shape[0] // self.n
        self.mel = put(stream.mel.reshape(self.n, self.m, -1))  # float16
        self.weights = put(targets.weights)
        self.curves = put(targets.curves)
        self.mask = put(targets.mask)
        self.closure = put(stream.closure, torch.float32)
        self.compose = put(stream.compose)
        self.style = put(stream.style, torch.int64)
        self.frame_weight = put(stream.frame_weight if frame_weight is None else frame_weight, torch.float32)
        self.variants = targets.variants
        self.device = device
        self.gen = torch.Generator(device=device)
        self.gen.manual_seed(seed)

    def __call__(
        self,
        batch: int,
        window: int,
        *,
        stored_share: float = 0.5,
        fast_share: float = 0.0,
        max_speed: float = 1.6,
    ) -> dict[str, torch.Tensor]:
        """A batch of windows; ``fast_share`` of them sped up by a factor in ``[1, max_speed]``.

        A sped-up window reads ``speed × window`` frames of features, targets
        and conditions, resampled (linear; masks nearest) to ``window`` frames:
        faster articulation with shorter closures, as in quick natural speech,
        which the synthetic voices seldom produce.
        """
        g, dev = self.gen, self.device
        speed = torch.ones(batch, device=dev)
        if fast_share > 0:
            fast = torch.rand(batch, generator=g, device=dev) < fast_share
            faster = 1.0 + (max_speed - 1.0) * torch.rand(batch, generator=g, device=dev)
            speed = torch.where(fast, faster, speed)
        span = torch.ceil(speed * (window - 1)).long() + 1  # frames a window reads
        start = (torch.rand(batch, generator=g, device=dev) * (self.n - span + 1).float()).long()
        fresh = torch.randint(1, self.variants, (batch,), generator=g, device=dev)
        offset = torch.randint(1, self.variants, (batch,), generator=g, device=dev)
        v1, v2 = pick_variants(
            torch.rand(batch, generator=g, device=dev), fresh, offset, self.variants, stored_share
        )
        pos = start[:, None] + speed[:, None] * torch.arange(window, device=dev)[None, :]  # (B, T) frames
        i0 = pos.floor().long().clamp(max=self.n - 1)
        i1 = (i0 + 1).clamp(max=self.n - 1)
        w = (pos - i0)[..., None]
        near = torch.where(w[..., 0] < 0.5, i0, i1)

        def lerp(x: torch.Tensor, variant: torch.Tensor) -> torch.Tensor:
            a, b = x[variant[:, None], i0].float(), x[variant[:, None], i1].float()
            return a + (b - a) * w

        mpos = self.m * start[:, None] + speed[:, None] * torch.arange(self.m * window, device=dev)[None, :]
        rows = self.mel.reshape(self.n * self.m, -1)
        j0 = mpos.floor().long().clamp(max=self.n * self.m - 1)
        j1 = (j0 + 1).clamp(max=self.n * self.m - 1)
        wm = (mpos - j0)[..., None]
        mel = rows[j0].float() + (rows[j1].float() - rows[j0].float()) * wm
        mask = self.mask[near]
        return {
            "mel": mel,
            "weights": lerp(self.weights, v1),
            "target": lerp(self.curves, v1),
            "mask": mask,
            "closure": self.closure[near],
            "style": self.style[start],
            "weights2": lerp(self.weights, v2),
            "target2": lerp(self.curves, v2),
            "mask2": mask & self.compose[near][..., None],
            "frame_weight": self.frame_weight[near],
            "start": start,
            "speed": speed,
        }


def _mel_positions(fs: FeatureSettings, warp: torch.Tensor) -> torch.Tensor:
    """Fractional mel-bin positions (B, M) to read so each window's spectrum is warped by ``warp`` (B,).

    Bin ``k`` (centre frequency ``f_k``) takes the value found at ``f_k / warp``
    (clipped to the band): a longer (warp < 1) or shorter vocal tract.
    """
    lo, hi = (2595.0 * math.log10(1.0 + f / 700.0) for f in (fs.fmin, fs.fmax))
    mel = torch.linspace(lo, hi, fs.n_mels + 2, device=warp.device)[1:-1]
    hz = 700.0 * (10 ** (mel / 2595.0) - 1.0)
    src = (hz[None, :] / warp[:, None]).clamp(fs.fmin, fs.fmax)
    src_mel = 2595.0 * torch.log10(1.0 + src / 700.0)
    return ((src_mel - lo) / (hi - lo) * (fs.n_mels + 1) - 1.0).clamp(0, fs.n_mels - 1)


# Phones a recogniser mistakes for one another: place of articulation among stops, nasals and
# labial/dental fricatives (real speech: /p b/ heard as /f v/, /m/ as /n/).
CONFUSABLE: dict[str, tuple[str, ...]] = {
    "P": ("T", "K", "F", "B"), "B": ("D", "G", "V", "P"), "M": ("N", "NG"),
    "F": ("P", "TH", "V"), "V": ("B", "DH", "F"), "T": ("P", "K", "D"), "D": ("B", "G", "T"),
    "K": ("T", "P", "G"), "G": ("D", "B", "K"), "N": ("M", "NG"), "NG": ("N", "M"),
    "TH": ("F", "S"), "DH": ("V", "D"),
}  # fmt: skip
_CONFUSION = [(PHONE_CLASSES.index(s), [PHONE_CLASSES.index(c) for c in p]) for s, p in CONFUSABLE.items()]


def confuse_posteriors(post: torch.Tensor, fs: FeatureSettings, share: float) -> torch.Tensor:
    """Move probability between confusable phones in ``share`` of the windows.

    In a chosen window each phone of :data:`CONFUSABLE`, with probability one
    half, hands a fraction in [0.3, 1] of its mass to one of its partners (the
    same partner over the whole window), as a recogniser that has not learned
    this speaker's /p/ from its /f/ would. The network then has to settle such
    windows from the log-mel and from context.

    Parameters
    ----------
    post : torch.Tensor [shape=(B, rows, len(PHONE_CLASSES))]
        Stored posterior columns (log-probabilities / 4, floored at ``-fs.phone_floor / 4``).
    share : float

    Returns
    -------
    torch.Tensor
        Same shape and encoding.
    """
    B, dev, n = post.shape[0], post.device, len(PHONE_CLASSES)
    mix = torch.eye(n, device=dev).repeat(B, 1, 1)  # p' = p @ mix
    chosen = torch.rand(B, device=dev) < share
    rows = torch.arange(B, device=dev)
    for i, partners in _CONFUSION:
        moved = chosen & (torch.rand(B, device=dev) < 0.5)
        frac = (0.3 + 0.7 * torch.rand(B, device=dev)) * moved
        j = torch.tensor(partners, device=dev)[torch.randint(len(partners), (B,), device=dev)]
        mix[rows, i, i] -= frac
        mix[rows, i, j] += frac
    p = torch.bmm(torch.exp(4.0 * post.float()), mix)
    return (torch.log(p.clamp_min(1e-12)).clamp_min(-fs.phone_floor) / 4.0).to(post.dtype)


def augment_features(
    mel: torch.Tensor, fs: FeatureSettings, *, mel_dropout: float = 0.0, phone_confusion: float = 0.0
) -> torch.Tensor:
    """Feature-level augmentation on top of the corpus's audio augmentation.

    Per window, on the log-mel columns: vocal tract length perturbation (a
    random frequency warp in [0.82, 1.18], Jaitly & Hinton 2013) — new speakers
    from a dozen voices — a spectral smoothing that blurs pitch harmonics (half
    the windows), a level offset, a spectral tilt, one or two frequency masks
    (SpecAugment, Park et al. 2019; no time masks: the lips must follow every
    frame) and a little noise. Phone posterior columns (``fs.phones``) get a
    little noise only.

    ``mel_dropout`` is the share of windows whose log-mel is flattened to its
    mean over time (modality dropout): those windows can only be read through
    the posteriors, so the network learns a path that does not depend on how
    the synthetic voices sound. ``phone_confusion`` is the share of windows
    whose posteriors mix up confusable phones (:func:`confuse_posteriors`),
    drawn among the windows that keep their log-mel.

    Parameters
    ----------
    mel : torch.Tensor [shape=(B, 2T, fs.width)]
    fs : FeatureSettings
    mel_dropout, phone_confusion : float

    Returns
    -------
    torch.Tensor [shape=(B, 2T, fs.width)]
    """
    B, _, M = mel.shape[0], mel.shape[1], fs.n_mels
    post = mel[..., M:]
    mel = mel[..., :M]
    dev = mel.device
    warp = 0.82 + 0.36 * torch.rand(B, device=dev)
    pos = _mel_positions(fs, warp)  # (B, M)
    i0 = pos.floor().long().clamp(0, M - 1)
    i1 = (i0 + 1).clamp(max=M - 1)
    w = (pos - i0)[:, None, :]
    out = (
        torch.gather(mel, 2, i0[:, None, :].expand_as(mel)) * (1 - w)
        + torch.gather(mel, 2, i1[:, None, :].expand_as(mel)) * w
    )
    smooth = torch.rand(B, 1, 1, device=dev) < 0.5
    blurred = F.avg_pool1d(out.reshape(-1, 1, M), 3, stride=1, padding=1, count_include_pad=False).reshape(
        out.shape
    )
    out = torch.where(smooth, blurred, out)
    bins = torch.linspace(-1.0, 1.0, M, device=dev)
    level = (torch.rand(B, 1, 1, device=dev) - 0.5) * 0.6
    tilt = (torch.rand(B, 1, 1, device=dev) - 0.5) * 0.6 * bins
    out = out + level + tilt + 0.05 * torch.randn_like(out)
    idx = torch.arange(M, device=dev)[None, None, :]
    for _ in range(2):
        width = torch.randint(0, M // 6 + 1, (B, 1, 1), device=dev)
        start = (torch.rand(B, 1, 1, device=dev) * (M - width)).long()
        band = (idx >= start) & (idx < start + width)
        out = torch.where(band, out.mean(dim=(1, 2), keepdim=True), out)
    drop = torch.rand(B, 1, 1, device=dev) < mel_dropout
    if mel_dropout > 0:
        out = torch.where(drop, out.mean(dim=1, keepdim=True).expand_as(out), out)
    if post.shape[-1]:
        if phone_confusion > 0:
            # Confused posteriors with a flattened log-mel would leave nothing to read the phone from.
            share = min(phone_confusion / max(1.0 - mel_dropout, 1e-6), 1.0)
            post = torch.where(drop, post, confuse_posteriors(post, fs, share))
        out = torch.cat([out, post + 0.03 * torch.randn_like(post)], dim=-1)
    return out


class _Stopped(Exception):
    """``stop_after`` ran out: the state is saved, the run returns."""


def loss_weights(stored: np.ndarray, how: str, floor: float) -> np.ndarray:
    """Per-frame loss weights from the stored ones (see ``TrainConfig.frame_weights``)."""
    w = np.asarray(stored, np.float32)
    if how == "off":
        return np.ones_like(w)
    if how == "mask":
        return (w >= floor).astype(np.float32)
    if how == "soft":
        return np.where(w >= floor, w, 0.0).astype(np.float32)
    raise ValueError(f"frame_weights must be 'mask', 'soft' or 'off', got {how!r}")


def _behind(b: dict[str, torch.Tensor], lookahead: int | None) -> dict[str, torch.Tensor]:
    """A batch's per-frame targets without their last ``lookahead`` frames: a look-ahead model
    is graded on the frames whose future the window holds (training never pads the future)."""
    if not lookahead:
        return b
    frames = b["target"].shape[1]
    return {
        k: (v[:, : frames - lookahead] if v.dim() >= 2 and v.shape[1] == frames else v) for k, v in b.items()
    }


def _fraction(step: int, elapsed: float, stage: StageConfig) -> float:
    """How far through a stage a run is: by steps, or by wall time where that is capped and further."""
    fraction = step / stage.steps
    return max(fraction, elapsed / stage.max_seconds) if stage.max_seconds > 0 else fraction


def _schedule(fraction: float, step: int, stage: StageConfig) -> float:
    """Learning-rate factor: linear warm-up, then cosine to 5% of the peak."""
    if step < stage.warmup:
        return (step + 1) / stage.warmup
    return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(fraction, 1.0)))


class Trainer:
    """Holds the networks, data and state of one training run."""

    def __init__(
        self, cfg: TrainConfig, *, progress: Callable[[float], None] | None = None, resume: bool = False
    ) -> None:
        self.cfg = cfg
        self.out = Path(cfg.out)
        if resume and not (self.out / STATE).exists():
            raise EmoteError(f"{self.out / STATE}: nothing to resume (no saved state in the run folder)")
        if not resume and (self.out / STATE).exists():
            raise EmoteError(f"{self.out}: already holds a run (state.pt); resume it with --resume, "
                             "or train into another folder (--out)")  # fmt: skip
        self.out.mkdir(parents=True, exist_ok=True)
        self.progress = progress or (lambda f: None)
        self.device = torch.device("cuda" if cfg.device == "auto" and torch.cuda.is_available() else
                                   ("cpu" if cfg.device == "auto" else cfg.device))  # fmt: skip
        torch.manual_seed(cfg.seed)
        roots = data_roots(cfg)
        self.train_stream = load_stream(roots, "train", styles=cfg.model.styles)
        try:
            self.val_stream: Stream | None = load_stream(roots, "val", styles=cfg.model.styles)
        except EmoteError:  # a dataset without held-out voices trains without validation
            self.val_stream = None
        mc = cfg.model
        features = {r: dataset_features(r) for r in roots}
        if len({f for f in features.values() if f is not None}) > 1:
            raise EmoteError(
                f"the datasets {', '.join(roots)} hold different speech features; make them alike"
            )
        stored = next((f for f in features.values() if f is not None), None)
        if stored is not None:  # the network reads what the dataset holds (ceiling: inference only)
            mc = replace(mc, features=replace(stored, ceiling=mc.features.ceiling))
        channels = mc.channels or target_channels(self.train_stream)
        cls_channels = mc.classifier_channels or tuple(c for c in channels if c in UPPER_FACE_NAMES)
        self.model_cfg: ModelConfig = replace(
            mc, channels=tuple(channels), classifier_channels=tuple(cls_channels)
        )
        self.channels = self.model_cfg.channels
        self.cls_index = torch.tensor([self.channels.index(c) for c in cls_channels])
        self.mouth_weight = torch.tensor([1.0 if c in MOUTH_NAMES else 0.0 for c in self.channels])
        emotional = {
            name for name in self.channels if name in INDEX and np.abs(EXPRESSIONS[:, INDEX[name]]).max() > 0
        }
        # Mouth channels no emotion moves: pure articulation, must not change under exchange.
        self.articulation_weight = torch.tensor([1.0 if c in MOUTH_NAMES and c not in emotional else 0.0
                                                 for c in self.channels])  # fmt: skip
        self.gap = GapModel(self.channels)
        neutral = self.model_cfg.neutral_only
        targets = prepare_targets(self.train_stream, self.channels, variants=2 if neutral else cfg.variants,
                                  seed=cfg.seed, neutral=neutral)  # fmt: skip
        frame_weight = loss_weights(self.train_stream.frame_weight, cfg.frame_weights, cfg.min_frame_weight)
        self.batches = DeviceBatches(
            self.train_stream, targets, self.device, seed=cfg.seed, frame_weight=frame_weight
        )
        self._val_batches: dict[tuple[int, int], list[dict[str, torch.Tensor]]] = {}
        self.val_targets = (
            prepare_targets(self.val_stream, self.channels, variants=2, seed=cfg.seed + 1, neutral=neutral)
            if self.val_stream
            else None
        )
        n = len(self.channels)
        self.prior = (
            self._motion_prior(cfg.motion_prior) if cfg.motion_prior else MotionPrior(self.model_cfg, n)
        )
        self.prior.to(self.device)
        self.classifier = EmotionClassifier(len(cls_channels), self.model_cfg.classifier_width).to(
            self.device
        )
        self.net = EmoteNet(self.model_cfg).to(self.device)
        self.stage_index = 0
        self.step = 0
        self.elapsed = {s: 0.0 for s in STAGES}
        self.history: dict[str, Any] = {}
        self._optimizer_state = None
        self._deadline: float | None = None
        if cfg.init and not (self.out / STATE).exists():
            self._initialise(Path(cfg.init))
        self._resume()

    def _motion_prior(self, path: str) -> MotionPrior:
        """A pre-trained temporal VAE (``TrainConfig.motion_prior``); the model's latent shape follows it."""
        from emote.nn.prior import load_prior

        loaded = load_prior(path)
        if loaded.channels != self.channels:
            raise EmoteError(
                f"{path}: motion prior models other channels than this run's ({', '.join(self.channels)})"
            )
        pc = loaded.config
        if self.model_cfg.causal:
            raise EmoteError(f"{path}: a look-ahead model ([model] lookahead) trains its own causal prior; "
                             "leave motion_prior unset")  # fmt: skip
        self.model_cfg = replace(self.model_cfg, latent_dim=pc.latent_dim, prior_widths=pc.prior_widths,
                                 prior_blocks=pc.prior_blocks, bounded_output=pc.bounded_output)  # fmt: skip
        log.info("motion prior from %s (latent %d at 1/4 rate)", path, pc.latent_dim)
        return loaded.prior

    # -- state ---------------------------------------------------------------------------------
    def _initialise(self, path: Path) -> None:
        """Start from another run's networks (fine-tuning); stages and steps start afresh.

        ``path`` is a run's ``state.pt``, or a model file (``model.pt``, the shipped
        ``checkpoints/emote_tts.pt``): that holds no prior encoder, so its frozen decoder
        becomes the prior's decoder and the prior stage must be skipped (``[prior] steps = 0``).
        """
        from emote.nn.checkpoint import UNUSABLE, load_model

        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except FileNotFoundError:
            raise EmoteError(f"{path}: init file not found") from None
        except UNUSABLE as err:
            raise EmoteError(f"{path}: not a usable init file ({err.__class__.__name__})") from None
        if state.get("format") == "emote-model-1":
            loaded = load_model(path)
            if tuple(loaded.config.channels) != tuple(self.channels):
                raise EmoteError(f"{path}: trained for other channels than this dataset's")
            if loaded.config.lookahead != self.model_cfg.lookahead:
                raise EmoteError(f"{path}: its look-ahead ({loaded.config.lookahead}) differs from "
                                 f"this config's [model] lookahead ({self.model_cfg.lookahead})")  # fmt: skip
            if self.cfg.prior.steps > 0 and not self.cfg.motion_prior:
                raise EmoteError(f"{path}: a model file has no prior encoder; set [prior] steps = 0")
            try:
                self.net.load_state_dict(loaded.net.state_dict())
                self.classifier.load_state_dict(loaded.classifier.state_dict())
            except RuntimeError as err:
                raise EmoteError(
                    f"{path}: its networks differ from this config's [model] ({str(err)[:160]})"
                ) from None
            self.prior.decoder.load_state_dict(loaded.net.decoder.state_dict())
            log.info("initialised from the model file %s", path)
            return
        if json.loads(state["channels"]) != list(self.channels):
            raise RuntimeError(f"{path}: trained for other channels than this dataset's")
        self.prior.load_state_dict(state["prior"])
        self.classifier.load_state_dict(state["classifier"])
        self.net.load_state_dict(state["net"])
        log.info("initialised from %s", path)

    def _resume(self) -> None:
        path = self.out / STATE
        if not path.exists():
            return
        state = torch.load(path, map_location=self.device, weights_only=True)
        if json.loads(state["channels"]) != list(self.channels):
            raise EmoteError(f"{path}: saved for other channels; use a new run folder")
        if "model_config" in state and json.loads(state["model_config"]) != json.loads(
            json.dumps(self.model_cfg.to_dict())
        ):
            raise EmoteError(f"{path}: saved for another [model] configuration; use a new run folder")
        self.prior.load_state_dict(state["prior"])
        self.classifier.load_state_dict(state["classifier"])
        self.net.load_state_dict(state["net"])
        self.stage_index, self.step = int(state["stage"]), int(state["step"])
        self.elapsed = json.loads(state["elapsed"])
        self.history = json.loads(state["history"])
        self._optimizer_state = state.get("optimizer")
        if "rng" in state:  # the same batches and augmentations as a run that never stopped
            rng = state["rng"]
            torch.set_rng_state(rng["torch"].cpu())
            self.batches.gen.set_state(rng["batches"].cpu())
            if "cuda" in rng and self.device.type == "cuda":
                torch.cuda.set_rng_state(rng["cuda"].cpu(), self.device)
        self._log({"resumed": STAGES[min(self.stage_index, len(STAGES) - 1)], "step": self.step})
        log.info("resumed %s at stage %s step %d", path, STAGES[min(self.stage_index, 2)], self.step)

    def _save(self, optimizer: torch.optim.Optimizer | None) -> None:
        from emote.io.atomic import atomic_path

        state = {
            "channels": json.dumps(list(self.channels)),
            "prior": self.prior.state_dict(),
            "classifier": self.classifier.state_dict(),
            "net": self.net.state_dict(),
            "stage": self.stage_index,
            "step": self.step,
            "elapsed": json.dumps(self.elapsed),
            "history": json.dumps(self.history),
            "model_config": json.dumps(self.model_cfg.to_dict()),
            "rng": {"torch": torch.get_rng_state(), "batches": self.batches.gen.get_state(),
                    **({"cuda": torch.cuda.get_rng_state(self.device)} if self.device.type == "cuda" else {})},
        }  # fmt: skip
        if optimizer is not None:
            state["optimizer"] = optimizer.state_dict()
        with atomic_path(self.out / STATE) as tmp:
            torch.save(state, tmp)

    def _log(self, record: dict[str, Any]) -> None:
        with open(self.out / LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        log.info(
            "%s", " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items())
        )

    # -- batches -------------------------------------------------------------------------------
    def _autocast(self):
        enabled = self.cfg.amp and self.device.type == "cuda"
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=enabled)

    # -- losses --------------------------------------------------------------------------------
    def _gap_loss(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        closure: torch.Tensor,
        weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        w = 1.0 + self.cfg.losses.closure * closure
        if weight is not None:
            w = w * weight
        return ((self.gap(pred) - self.gap(target)).abs() * w).sum() / w.sum() / 30.0

    def prior_loss(self, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with self._autocast():
            recon, mu, logvar = self.prior(b["target"])
        recon = recon.float()
        rec = masked_l1(recon, b["target"], b["mask"])
        gap = self._gap_loss(recon, b["target"], b["closure"])
        kl = kl_divergence(mu.float(), logvar.float())
        L = self.cfg.losses
        return L.rec * rec + L.gap * gap + L.kl * kl, {
            "rec": rec.detach(),
            "gap": gap.detach(),
            "kl": kl.detach(),
        }

    def classifier_loss(self, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x = b["target"][..., self.cls_index.to(self.device)]
        x = x + 0.02 * torch.randn_like(x)  # the classifier will read network outputs, not exact targets
        with self._autocast():
            logits = self.classifier(x)
        label = b["weights"].mean(dim=1)
        loss = soft_cross_entropy(logits, label)
        acc = (logits.argmax(-1) == label.argmax(-1)).float().mean()
        return loss, {"ce": loss.detach(), "acc": acc.detach()}

    def _emotion_ce(self, curves: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        with self._autocast():
            logits = self.classifier(curves[..., self.cls_index.to(self.device)])
        return soft_cross_entropy(logits, weights.mean(dim=1))

    def _augment_mel(self, mel: torch.Tensor) -> torch.Tensor:
        return augment_features(
            mel,
            self.model_cfg.features,
            mel_dropout=self.cfg.mel_dropout,
            phone_confusion=self.cfg.phone_confusion,
        )

    def _ahead(self, mel: torch.Tensor, weights: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        """The network's curves for a batch of windows, float; a look-ahead model's first ``D``
        frames are dropped, so frame ``t`` of the result is the window's frame ``t`` read with
        ``D`` frames of the window's own future (see :func:`_behind`)."""
        d = self.model_cfg.lookahead
        if not d:
            return self.net(mel, weights, style).float()
        return self.net.ahead(mel, weights, style)[:, d:].float()

    def main_loss(self, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        L = self.cfg.losses
        style = b["style"].clamp_min(0) if self.model_cfg.styles else None
        if self.cfg.augment_features:
            b = {**b, "mel": self._augment_mel(b["mel"])}
        inputs = b
        b = _behind(b, self.model_cfg.lookahead)
        with self._autocast():
            out = self._ahead(inputs["mel"], inputs["weights"], style)
        # Each frame counts by its trust (recorded speech: the recogniser's confidence, see TrainConfig).
        fw = b["frame_weight"]
        mask = b["mask"] * fw[..., None]
        rec = masked_l1(out, b["target"], mask)
        lip = masked_l1(out, b["target"], mask, self.mouth_weight)
        gap = self._gap_loss(out, b["target"], b["closure"], fw)
        total = L.rec * rec + L.lip * lip + L.gap * gap
        parts = {"rec": rec.detach(), "lip": lip.detach(), "gap": gap.detach()}
        if self.model_cfg.neutral_only:  # one condition: nothing to tell apart or exchange
            return total, parts
        emo = self._emotion_ce(out, b["weights"])
        total = total + L.emotion * emo
        parts["emo"] = emo.detach()
        if L.exchange_lip or L.exchange_emotion or L.exchange_rec:
            with self._autocast():
                out2 = self._ahead(inputs["mel"], inputs["weights2"], style)
            # Same audio, other emotion: closures stay closed, pure articulation stays put.
            c = b["closure"] * fw
            ex_gap = (
                ((self.gap(out2) - self.gap(b["target"])).abs() * c).sum() / c.sum().clamp_min(1.0) / 30.0
            )
            ex_art = masked_l1(out2, b["target"], mask, self.articulation_weight)
            ex_emo = self._emotion_ce(out2, b["weights2"])
            ex_rec = masked_l1(out2, b["target2"], b["mask2"] * fw[..., None])
            total = (
                total
                + L.exchange_lip * (ex_gap + ex_art)
                + L.exchange_emotion * ex_emo
                + L.exchange_rec * ex_rec
            )
            parts |= {
                "ex_gap": ex_gap.detach(),
                "ex_art": ex_art.detach(),
                "ex_emo": ex_emo.detach(),
                "ex_rec": ex_rec.detach(),
            }
        return total, parts

    # -- evaluation ----------------------------------------------------------------------------
    def _validation(self, batch: int, window: int, count: int) -> list[dict[str, torch.Tensor]]:
        """The same validation windows every time (held-out voices, stored tracks)."""
        key = (batch, window)
        if key not in self._val_batches:
            assert self.val_stream is not None and self.val_targets is not None
            rng = np.random.default_rng(12345)
            made = [sample_batch(self.val_stream, self.val_targets, rng, batch=batch, window=window, stored_share=1.0)
                    for _ in range(count)]  # fmt: skip
            for nb in made:
                nb.frame_weight = loss_weights(
                    nb.frame_weight, self.cfg.frame_weights, self.cfg.min_frame_weight
                )
            self._val_batches[key] = [
                {k: torch.from_numpy(np.ascontiguousarray(v)).to(self.device) for k, v in vars(nb).items()}
                for nb in made
            ]
        return self._val_batches[key]

    @torch.no_grad()
    def evaluate(self, stage: str, *, batches: int = 8) -> dict[str, float]:
        """Mean metrics on fixed validation windows (the held-out voices)."""
        stream = self.val_stream
        if stream is None:
            return {}
        sc = getattr(self.cfg, stage)
        sums: dict[str, float] = {}
        for b in self._validation(min(sc.batch, 32), min(sc.window, stream.n_frames // 4 * 4), batches):
            if stage == "prior":
                self.prior.eval()
                recon, _, _ = self.prior(b["target"])
                pred = recon.float()
            elif stage == "classifier":
                self.classifier.eval()
                logits = self.classifier(b["target"][..., self.cls_index.to(self.device)])
                label = b["weights"].mean(dim=1)
                acc = (logits.argmax(-1) == label.argmax(-1)).float().mean().item()
                sums["acc"] = sums.get("acc", 0.0) + acc / batches
                continue
            else:
                self.net.eval()
                pred = self._ahead(
                    b["mel"], b["weights"], b["style"].clamp_min(0) if self.model_cfg.styles else None
                )
                b = _behind(b, self.model_cfg.lookahead)
            fw = b["frame_weight"]
            mask = b["mask"] * fw[..., None]
            closure = b["closure"] * fw
            m = {
                "mae": masked_l1(pred, b["target"], mask).item(),
                "mouth_mae": masked_l1(pred, b["target"], mask, self.mouth_weight).item(),
                "gap_mae_mm": ((self.gap(pred) - self.gap(b["target"])).abs() * fw).sum().item()
                / max(fw.sum().item(), 1.0),
                "closure_gap_mm": ((self.gap(pred) * closure).sum() / closure.sum().clamp_min(1)).item(),
            }
            for k, v in m.items():
                sums[k] = sums.get(k, 0.0) + v / batches
        self.prior.train()
        self.classifier.train()
        self.net.train()
        return {f"val_{k}": v for k, v in sums.items()}

    # -- stages --------------------------------------------------------------------------------
    def _modules(self, stage: str) -> list[torch.nn.Module]:
        if stage == "prior":
            return [self.prior]
        if stage == "classifier":
            return [self.classifier]
        return [self.net.speech, self.net.emotion]

    def run_stage(self, stage: str) -> None:
        sc: StageConfig = getattr(self.cfg, stage)
        if sc.steps <= 0 or (stage == "prior" and self.cfg.motion_prior):
            log.info("stage %s: skipped (%s)", stage, "motion prior given" if sc.steps > 0 else "steps = 0")
            self.stage_index += 1
            self.step = 0
            return
        if stage == "main":
            # EMOTE: the prior's decoder, trained in stage 1, is frozen under the new encoder.
            self.net.decoder.load_state_dict(self.prior.decoder.state_dict())
            self.net.decoder.requires_grad_(False)
            self.classifier.requires_grad_(False)
        params = [p for m in self._modules(stage) for p in m.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=sc.lr, weight_decay=sc.weight_decay)
        if getattr(self, "_optimizer_state", None) is not None and self.step > 0:
            opt.load_state_dict(self._optimizer_state)
        self._optimizer_state = None
        loss_fn = {"prior": self.prior_loss, "classifier": self.classifier_loss, "main": self.main_loss}[
            stage
        ]
        started = time.perf_counter() - self.elapsed[stage]
        snaps = self.cfg.snapshots if stage == "main" else 0
        # A resumed run already saved the snapshots it passed: keep them, do not overwrite them now.
        done = _fraction(self.step, self.elapsed[stage], sc)
        next_snap = 1
        while snaps and next_snap < snaps and done >= next_snap / snaps:  # the test the loop saves by
            next_snap += 1
        running: dict[str, torch.Tensor | float] = {}
        count = 0
        stage_start_step = self.step
        while self.step < sc.steps:
            b = self.batches(
                sc.batch, sc.window, fast_share=self.cfg.fast_share if stage != "classifier" else 0.0
            )
            elapsed = time.perf_counter() - started
            fraction = _fraction(self.step, elapsed, sc)
            if sc.max_seconds > 0 and elapsed >= sc.max_seconds:
                log.info("stage %s: time cap reached at step %d", stage, self.step)
                break
            for g in opt.param_groups:
                g["lr"] = sc.lr * _schedule(fraction, self.step, sc)
            loss, parts = loss_fn(b)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            self.step += 1
            count += 1
            for k, v in {"loss": loss.detach(), **parts}.items():  # no device sync per step
                running[k] = running.get(k, 0.0) + v
            self.elapsed[stage] = time.perf_counter() - started
            self.progress((STAGES.index(stage) + min(fraction, 1.0)) / len(STAGES))
            if self.step % self.cfg.log_every == 0:
                rec = {"stage": stage, "step": self.step, "seconds": round(self.elapsed[stage], 2),
                       "lr": opt.param_groups[0]["lr"], **{k: float(v) / count for k, v in running.items()}}  # fmt: skip
                self._log(rec)
                self.history.setdefault(stage, {})["last"] = rec
                running, count = {}, 0
            while snaps and next_snap < snaps and fraction >= next_snap / snaps:
                save_model(self.out / f"model_{next_snap}of{snaps}.pt", self.net, self.classifier,
                           card={"step": self.step, "fraction": round(fraction, 3)})  # fmt: skip
                self._log(
                    {
                        "stage": stage,
                        "step": self.step,
                        "snapshot": f"{next_snap}of{snaps}",
                        **self.evaluate(stage),
                    }
                )
                next_snap += 1
            if self.step % self.cfg.eval_every == 0:
                self._log({"stage": stage, "step": self.step, **self.evaluate(stage)})
            if self.step % self.cfg.save_every == 0:
                self._save(opt)
            if self._deadline is not None and time.perf_counter() >= self._deadline:
                self._save(opt)
                self._log({"stage": stage, "step": self.step, "stopped": "stop_after"})
                raise _Stopped
        final = {"stage": stage, "step": self.step, "seconds": round(self.elapsed[stage], 2),
                 "steps_this_run": self.step - stage_start_step, **self.evaluate(stage)}  # fmt: skip
        self._log(final)
        self.history.setdefault(stage, {})["final"] = final
        self.stage_index += 1
        self.step = 0
        self._save(None)

    def run(self, *, stop_after: float | None = None) -> Path | None:
        """Run every remaining stage; write and return ``model.pt``.

        ``stop_after``: seconds of this call after which the run saves its state
        at the next step and returns None (resume it with ``resume=True``), so
        that a session with a wall-clock limit ends cleanly, losing nothing.
        """
        self._deadline = None if stop_after is None else time.perf_counter() + stop_after
        try:
            while self.stage_index < len(STAGES):
                stage = STAGES[self.stage_index]
                log.info("stage %s: %d steps", stage, getattr(self.cfg, stage).steps)
                self.run_stage(stage)
        except _Stopped:
            log.info("stopped at stage %s step %d (state saved)", STAGES[self.stage_index], self.step)
            return None
        card = _relative(
            {
                "data": self.cfg.data,
                "train_hours": round(self.train_stream.hours, 3),
                "val_hours": round(self.val_stream.hours, 3) if self.val_stream else 0.0,
                "device": torch.cuda.get_device_name(0) if self.device.type == "cuda" else "cpu",
                "stages": self.history,
                "train_config": self.cfg.to_dict(),
            }
        )
        self.progress(1.0)
        return save_model(self.out / MODEL, self.net, self.classifier, card=card)


def _relative(value: Any) -> Any:
    """``value`` with absolute paths under the working directory made relative to it.

    A model file's card records its data and config; a shipped one should not name the folders
    of the machine it was trained on.
    """
    if isinstance(value, str) and os.path.isabs(value):
        try:
            return str(Path(value).relative_to(Path.cwd()))
        except ValueError:
            return value
    if isinstance(value, list | tuple):
        return [_relative(v) for v in value]
    if isinstance(value, dict):
        return {k: _relative(v) for k, v in value.items()}
    return value


def train(
    cfg: TrainConfig,
    *,
    progress: Callable[[float], None] | None = None,
    resume: bool = False,
    stop_after: float | None = None,
) -> Path | None:
    """Train the neural engine (``resume``: continue the run saved in ``cfg.out``).

    Returns ``model.pt``'s path, or None when ``stop_after`` seconds (from this
    call, data loading included) ran out first (the state is saved at the step
    where they did; call again with ``resume=True``).
    """
    started = time.perf_counter()
    trainer = Trainer(cfg, progress=progress, resume=resume)
    # The limit counts from the call, data loading included: a session's clock does.
    return trainer.run(
        stop_after=None if stop_after is None else stop_after - (time.perf_counter() - started)
    )
